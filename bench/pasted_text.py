"""Pasted sentences against a store built the way a user builds one: through an importer.

bench/search_quality.py writes the 1,000 corpus papers into its store as they are written,
TeX and all. A user's papers come through an importer, which decodes TeX in titles and names
(`normalize.tex_to_unicode`; BibTeX in every field) and keeps abstracts as the source writes
them, while the sentences people paste are copied from the source or from the page, with or
without their TeX (arXiv's listings, the Kaggle snapshot, a .tex file). This bench writes
the corpus as a Kaggle snapshot (bench/out/pasted-corpus.jsonl), imports it with
`paperscope import` into bench/out/pasted-text.db, and pastes every abstract sentence that
holds a character besides letters, digits, spaces, commas, full stops and hyphens, as it is
written in the snapshot. Prints MRR@10 and the misses per mode; never asserts.

Usage: python bench/pasted_text.py [--modes lexical,hybrid] [--fresh]
  hybrid and semantic embed the store first (about 35 s for the 1,000 papers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.index.embedding import embed_missing
from paperscope.index.paths import index_dir
from paperscope.ingest.pipeline import import_file
from paperscope.normalize import title_key
from paperscope.rank.search import SearchEngine
from paperscope.store.sqlite import SQLiteStore
from search_quality import PASTED, abstract_sentences
from synth import OUT, load_corpus


def snapshot(path: Path) -> list[dict]:
    """The corpus as Kaggle snapshot records (the format's own field names)."""
    records = []
    for i, row in enumerate(load_corpus()):
        records.append(
            {
                "id": f"2101.{i:05d}",
                "submitter": "paperscope bench",
                "authors": "A. Author",
                "title": row["titles"],
                "comments": None,
                "journal-ref": None,
                "doi": None,
                "report-no": None,
                "categories": " ".join(row["categories"]),
                "license": None,
                "abstract": row["summaries"],
                "versions": [{"version": "v1", "created": "Mon, 1 Feb 2021 00:00:00 GMT"}],
                "update_date": "2021-02-01",
                "authors_parsed": [["Author", "A.", ""]],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


def queries(records: list[dict], store: SQLiteStore) -> list[tuple[str, int]]:
    """(sentence as written in the snapshot, rowid of its paper), papers with a unique title."""
    rowids: dict[str, list[int]] = {}
    for rowid, paper in store.iter_papers():
        rowids.setdefault(title_key(paper.title), []).append(rowid)
    out = []
    for record in records:
        owners = rowids.get(title_key(" ".join(record["title"].split())), [])
        if len(owners) != 1:
            continue
        for sentence in abstract_sentences(" ".join(record["abstract"].split())):
            if PASTED.search(sentence):
                out.append((sentence, owners[0]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", default="lexical,hybrid", help="comma-separated search modes")
    ap.add_argument("--fresh", action="store_true", help="import the snapshot again")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "pasted-text.db"
    if args.fresh and db.exists():
        db.unlink()
        shutil.rmtree(index_dir(db), ignore_errors=True)
    records = snapshot(OUT / "pasted-corpus.jsonl")
    fresh = not db.exists()
    store = SQLiteStore(db)
    if fresh:
        import_file(store, OUT / "pasted-corpus.jsonl")
    engine = SearchEngine(store)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m != "lexical" for m in modes):
        t = time.perf_counter()
        done = embed_missing(store, engine.embedder, index=engine.vectors)
        if done:
            print(f"embedded {len(done)} papers in {time.perf_counter() - t:.0f} s")
    pasted = queries(records, store)
    print(f"{store.count()} papers imported from a Kaggle snapshot; {len(pasted)} sentences")
    for mode in modes:
        t, total, misses = time.perf_counter(), 0.0, []
        for text, rowid in pasted:
            hits = [h.rowid for h in engine.search(text, mode=mode, limit=10, strict=False).hits]
            if rowid in hits:
                total += 1 / (hits.index(rowid) + 1)
            else:
                misses.append(text)
        print(
            f"{mode:9} MRR@10 {total / len(pasted):.4f}  misses {len(misses)}"
            f"  ({time.perf_counter() - t:.0f} s)"
        )
        for text in misses[:10]:
            print(f"  miss: {text[:110]}")


if __name__ == "__main__":
    main()
