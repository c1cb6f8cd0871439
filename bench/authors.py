"""Author identity at 100k papers: full rebuild, incremental catch-up, ensure() and pages.

The store is built from bench/synth.py's synthetic papers (Zipf-distributed authors). To make
the clustering do real work, a share of author occurrences is respelt the ways sources spell
names: initials only ("W. Wang12"), "Family, Given" and family-first initials ("Wang12 W").

Prints: rows, people, rebuild time split into read / cluster / write, ensure() when nothing
changed, profile(slug) p50/p95 over prolific and random authors, slugs_for_papers for a page of
20 papers, top_in_category; then a daily increment (2,000 new papers and 500 new versions of
old ones, each version with one more author) and the catch-up that makes author pages current
(time from the end of the import to the first page showing a new paper), against a full
rebuild of the same store, and whether the two give the same people; peak RSS.

Usage: flock /tmp/paperscope-bench.lock python bench/authors.py [--papers 100000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.model import Author, Paper
from paperscope.store.author_build import cluster_all
from paperscope.store.authors import AuthorDirectory
from paperscope.store.sqlite import SQLiteStore
from synth import OUT, papers_file, shown

BATCH = 2000
NEW_PAPERS = 2000
NEW_VERSIONS = 500


def respell(name: str, rng: random.Random) -> str:
    given, _, family = name.partition(" ")
    roll = rng.random()
    if roll < 0.15:
        return f"{given[0]}. {family}"
    if roll < 0.20:
        return f"{family}, {given}"
    if roll < 0.23:
        return f"{family} {given[0]}"
    return name


def papers_from(path: Path, start: int, count: int, rng: random.Random) -> list[Paper]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < start:
                continue
            if i >= start + count:
                break
            r = json.loads(line)
            out.append(
                Paper(
                    title=r["title"],
                    abstract=r["abstract"],
                    authors=[Author(respell(n, rng)) for n in r["authors"]],
                    categories=r["categories"],
                    published=r["published"],
                    arxiv_id=r["arxiv_id"],
                    sources=["synthetic"],
                )
            )
    return out


def build(n: int) -> Path:
    path = OUT / f"authors-{n}.db"
    if path.exists():
        return path
    src = papers_file(n + NEW_PAPERS + NEW_VERSIONS)
    rng = random.Random(11)
    tmp = path.with_suffix(".tmp.db")
    tmp.unlink(missing_ok=True)
    with SQLiteStore(tmp) as store:
        for start in range(0, n, BATCH):
            store.write_batch(papers_from(src, start, min(BATCH, n - start), rng), origin="synth")
    tmp.rename(path)
    return path


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def new_versions(store: SQLiteStore, n: int, rng: random.Random) -> list[Paper]:
    """NEW_VERSIONS old papers as a new arXiv version brings them: a longer abstract, a later
    update date and one more author (the worst case for author pages: every version moves a
    person; a version that keeps its authors does not reach the author tables at all)."""
    extra = papers_from(
        papers_file(n + NEW_PAPERS + NEW_VERSIONS), n + NEW_PAPERS, NEW_VERSIONS, rng
    )
    old = store.load_rowids(rng.sample(range(1, n + 1), NEW_VERSIONS))
    out = []
    for paper, donor in zip(old.values(), extra, strict=False):
        paper.abstract += " We revise the experiments in this version."
        paper.updated = "2026-12-01"
        paper.authors = [*paper.authors, donor.authors[0]]
        out.append(paper)
    return out


def increment(store: SQLiteStore, directory: AuthorDirectory, n: int) -> None:
    """The daily increment, its catch-up, and a full rebuild of the same store to compare."""
    rng = random.Random(12)
    fresh = papers_from(papers_file(n + NEW_PAPERS + NEW_VERSIONS), n, NEW_PAPERS, rng)
    versions = new_versions(store, n, rng)
    t = time.perf_counter()
    store.write_batch(fresh, origin="synth-daily")
    store.write_batch(versions, origin="synth-versions")
    print(
        f"daily increment: {NEW_PAPERS} new papers + {len(versions)} new versions imported in "
        f"{time.perf_counter() - t:.2f} s"
    )
    probe = fresh[0].authors[0].name
    t, cpu = time.perf_counter(), time.process_time()
    done = directory.ensure()
    catch_s, catch_cpu = time.perf_counter() - t, time.process_time() - cpu
    total = store.conn.execute("SELECT count(*) FROM author_occurrences").fetchone()[0]
    slug = directory.exact(probe)[0].slug
    profile = directory.profile(slug)
    assert fresh[0].arxiv_id in {p.arxiv_id for _, p in profile.papers}
    current_s = time.perf_counter() - t
    print(
        f"catch-up ({done.path} path): {catch_s:.2f} s wall, {catch_cpu:.2f} s CPU "
        f"(read {done.read_s:.2f}, "
        f"cluster {done.cluster_s:.2f}, write {done.write_s:.2f}); {done.papers} changed papers, "
        f"{done.blocks} blocks, {done.occurrences} occurrences decided or linked again "
        f"({done.occurrences / total:.0%} of all), {done.gone} people gone, "
        f"{done.new} new, {done.ranked} prolific people's top coauthors ranked again"
    )
    print(f"author page current (catch-up + first profile showing a new paper): {current_s:.2f} s")
    t = time.perf_counter()
    directory.ensure()
    print(f"ensure() right after: {ms(time.perf_counter() - t)}")
    before = partition(store)
    t, cpu = time.perf_counter(), time.process_time()
    directory.rebuild()
    print(
        f"full rebuild of the same store instead: {time.perf_counter() - t:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU"
    )
    print(f"same people after the catch-up as after the rebuild: {partition(store) == before}")


def partition(store: SQLiteStore) -> set[tuple[str, frozenset]]:
    groups: dict[str, set] = {}
    for slug, paper, position in store.conn.execute(
        "SELECT c.slug, o.paper_rowid, o.position FROM author_occurrences o "
        "JOIN author_clusters c ON c.cluster_id = o.cluster_id"
    ):
        groups.setdefault(slug, set()).add((paper, position))
    return {(slug, frozenset(g)) for slug, g in groups.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=100_000)
    args = parser.parse_args()
    n = args.papers
    t0 = time.perf_counter()
    path = build(n)
    built_s = time.perf_counter() - t0
    print(f"store: {n} papers at {shown(path)} (built/reused in {built_s:.1f} s)")
    work = path.with_suffix(".work.db")
    work.unlink(missing_ok=True)
    work.write_bytes(path.read_bytes())
    store = SQLiteStore(work)
    directory = AuthorDirectory(store)
    rows = store.conn.execute("SELECT count(*) FROM paper_authors").fetchone()[0]
    print(f"author rows: {rows}")

    t = time.perf_counter()
    store.conn.execute("BEGIN")
    snap, clusters, _ = cluster_all(store.conn)
    store.conn.execute("COMMIT")
    read_cluster_s = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    people = directory.rebuild()
    full_s, full_cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"people: {people} (clusters {len(clusters)}, occurrences {len(snap.occs)})")
    print(f"read + cluster (no writes): {read_cluster_s:.2f} s")
    print(
        f"full rebuild (read + cluster + slugs + write): {full_s:.2f} s wall, {full_cpu:.2f} s CPU"
    )
    t = time.perf_counter()
    directory.rebuild()
    print(f"second rebuild (slugs exist): {time.perf_counter() - t:.2f} s")

    ensure = []
    for _ in range(1000):
        t = time.perf_counter()
        directory.ensure()
        ensure.append(time.perf_counter() - t)
    print(f"ensure() unchanged: p50 {ms(pct(ensure, 0.5))} p95 {ms(pct(ensure, 0.95))}")

    rng = random.Random(3)
    top = [s.slug for s in directory.list(limit=20)]
    everyone = [
        r[0] for r in store.conn.execute("SELECT slug FROM author_clusters ORDER BY cluster_id")
    ]
    sample = top + rng.sample(everyone, 180)
    times = []
    for slug in sample:
        t = time.perf_counter()
        directory.profile(slug)
        times.append(time.perf_counter() - t)
    biggest = directory.profile(top[0])
    print(
        f"profile(slug) over {len(sample)} authors: p50 {ms(pct(times, 0.5))} "
        f"p95 {ms(pct(times, 0.95))} max {ms(max(times))} "
        f"(largest: {len(biggest.papers)} papers, {len(biggest.coauthors)} coauthors listed)"
    )
    rowids = [
        r for (r,) in store.conn.execute("SELECT rowid FROM papers ORDER BY random() LIMIT 2000")
    ]
    page_times = []
    for i in range(0, 2000, 20):
        t = time.perf_counter()
        directory.slugs_for_papers(rowids[i : i + 20])
        page_times.append(time.perf_counter() - t)
    print(f"slugs_for_papers(20 papers): p50 {ms(statistics.median(page_times))}")
    cat_times = []
    for code in ("cs.LG", "cs.CV", "stat.ML", "cs.CL", "math.OC"):
        t = time.perf_counter()
        directory.top_in_category(code)
        cat_times.append(time.perf_counter() - t)
    print(f"top_in_category: p50 {ms(statistics.median(cat_times))}")

    increment(store, directory, n)
    store.close()
    work.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB; python {platform.python_version()}, {platform.machine()}")


if __name__ == "__main__":
    main()
