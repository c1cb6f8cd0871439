"""Screenshots of every page type from a real browser, for the README and docs/web.md.

    python bench/screenshots.py                 # a temporary store of the bundled samples
    python bench/screenshots.py --db papers.db  # an existing store

Starts `serve` on 127.0.0.1 (uvicorn in a thread), opens Debian's chromium through playwright
(the flags of tests/webtools.py) and saves PNGs of the feed, search, paper, author, category
and organisation pages at desktop width, of the feed and search at 390 px, and of the map
with a search highlighted, to docs/screenshots/ (`--only map.png` for one of them).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from webtools import build_store, launch_browser, live_server, new_page  # noqa: E402

SAMPLES = [
    *sorted((ROOT / "samples" / "pages").glob("*.txt")),
    ROOT / "samples/formats/huggingface-papers/daily-papers-2026-02-25-50-papers.json",
]
OUT = ROOT / "docs" / "screenshots"
#: (file name, path, viewport width): the pages of a reader's path through the site.
SHOTS = [
    ("feed.png", "/?date=2026-02-24", 1280),
    ("feed-week.png", "/week/2026-W09?sort=upvotes", 1280),
    ("search.png", "/search?q=normalization+momentum&mode=hybrid", 1280),
    ("search-error.png", "/search?q=ti%3A(attention+OR", 1280),
    ("paper.png", "/paper/{paper}", 1280),
    ("author.png", "/author/juhua-hu", 1280),
    ("category.png", "/cat/cs.LG", 1280),
    ("org.png", "/org/nvidia", 1280),
    ("feed-390.png", "/?date=2026-02-24", 390),
    ("search-390.png", "/search?q=normalization+momentum&mode=hybrid", 390),
    ("map.png", "/map", 1280),
    ("topic.png", "/topic/{topic}", 1280),
]
#: The search the map screenshot highlights.
MAP_QUERY = "normalization"


def _map_ready(page) -> None:
    """Wait for the map's points, then highlight a search and wait for it (docs/map.md)."""
    from playwright.sync_api import expect

    expect(page.locator("#map")).not_to_have_attribute("data-drawn", "0", timeout=60_000)
    page.get_by_label("Highlight a search").fill(MAP_QUERY)
    page.get_by_role("button", name="Highlight").click()
    expect(page.locator("#map")).not_to_have_attribute("data-highlighted", "0", timeout=60_000)
    page.wait_for_timeout(500)  # the highlights are drawn on the next frames


def shoot(
    base: str,
    out: Path,
    paper: str,
    full_page: bool,
    only: set[str] | None = None,
    topic: int | None = None,
) -> list[Path]:
    saved = []
    with launch_browser() as browser:
        for name, path, width in SHOTS:
            if only and name not in only:
                continue
            with new_page(browser, width=width, height=900 if width > 600 else 844) as page:
                page.goto(base + path.format(paper=paper, topic=topic))
                if name == "map.png":
                    _map_ready(page)
                target = out / name
                page.screenshot(path=str(target), full_page=full_page)
                saved.append(target)
    return saved


def _ensure_topics_and_map(db: Path) -> int | None:
    """Build the topics (main hierarchy) and lay out the map of a store that has none, as
    `paperscope topics rebuild --aspect topic` does; returns the largest top topic's id."""
    from paperscope.index.embedder import default_embedder
    from paperscope.index.layout import rebuild_layout
    from paperscope.rank import topics as topics_rank
    from paperscope.store import map as store_map
    from paperscope.store import topics as topic_store
    from paperscope.store.sqlite import SQLiteStore

    with SQLiteStore(db) as store:
        if not topic_store.list_topics(store, "topic"):
            topics_rank.build(store, default_embedder(), "topic", seed=0)
        if store_map.state(store) is None:
            rebuild_layout(store)
        tops = [t for t in topic_store.list_topics(store, "topic") if t.parent is None]
    return max(tops, key=lambda t: t.size).id if tops else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="store to serve (default: the samples)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--paper", default="tb468eccafcf8b726", help="paper id for paper.png")
    parser.add_argument("--full-page", action="store_true", help="whole pages, not the viewport")
    parser.add_argument("--only", action="append", help="just this file (repeatable): map.png")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build_store(Path(tmp) / "papers.db", SAMPLES)
        topic = _ensure_topics_and_map(db)
        with live_server(db) as base:
            only = set(args.only) if args.only else None
            for path in shoot(base, args.out, args.paper, args.full_page, only, topic):
                print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}")


if __name__ == "__main__":
    main()
