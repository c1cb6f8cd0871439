"""Search latency at 100k and 1M papers: lexical, semantic, hybrid and hybrid + filter (one
filter throughout, as the pages of a filtered search, and a new filter at every query).

Corpora are generated from the real corpus's sentences and vocabulary (bench/synth.py: titles,
abstracts, Zipf-distributed authors, real category labels, dates over three years). Embedding
1M abstracts would take hours here, so papers get STAND-IN vectors: the normalised mean of
fixed random 384-d word vectors over the first 40 words of title + abstract (texts that share
words get close vectors, so the ANN graph has realistic structure). Query embedding stays real:
every semantic and hybrid query runs the bundled MiniLM model, and its time is included.

Prints p50/p95 over 200 queries per mode, index build times, store and index sizes, peak RSS.

Usage: python bench/search_latency.py [--sizes 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.index.paths import index_dir
from paperscope.model import Author, Paper
from paperscope.rank.search import SearchEngine
from paperscope.store.sqlite import SQLiteStore
from synth import OUT, Synth, load_corpus

DIM = 384
_WORD = re.compile(r"[a-z]{3,}")


def synth_papers(synth: Synth, n: int, start: int):
    for i in range(start, start + n):
        created = synth.when()
        yield Paper(
            title=synth.title(),
            abstract=synth.abstract(),
            authors=[Author(a) for a in synth.author_names()],
            categories=list(synth.rng.choice(synth.categories)),
            published=created.date().isoformat(),
            arxiv_id=f"{23 + i // 1_000_000:02d}{(i // 99_999) % 12 + 1:02d}.{i % 99_999 + 1:05d}",
            upvotes=int(synth.rng.paretovariate(1.5)) - 1,
            sources=["synthetic"],
        )


def write_synth_papers(store: SQLiteStore, synth: Synth, n: int, batch: int = 5000) -> None:
    """`n` synthetic papers into `store`, `batch` papers per transaction."""
    papers: list[Paper] = []
    for paper in synth_papers(synth, n, 0):
        papers.append(paper)
        if len(papers) == batch:
            store.write_batch(papers, origin="synthetic")
            papers = []
    if papers:
        store.write_batch(papers, origin="synthetic")


def write_standin_vectors(
    store: SQLiteStore, standin: StandIn, model: str, passage: int, batch: int = 5000
) -> None:
    """A stand-in vector of title + abstract for every paper, saved as passage `passage`."""
    rows: list[tuple[int, int, bytes]] = []
    for rowid, paper in store.iter_papers(batch=batch):
        rows.append((rowid, passage, standin.vector(f"{paper.title} {paper.abstract}").tobytes()))
        if len(rows) == batch:
            store.save_vectors(model, rows)
            rows = []
    if rows:
        store.save_vectors(model, rows)


class StandIn:
    """Deterministic stand-in document vectors: mean of random word vectors."""

    def __init__(self, seed: int = 3) -> None:
        self.rng = np.random.default_rng(seed)
        self.table = self.rng.standard_normal((1 << 16, DIM)).astype(np.float32)

    def vector(self, text: str) -> np.ndarray:
        ids = [zlib.crc32(w.encode()) & 0xFFFF for w in _WORD.findall(text.lower())[:40]] or [0]
        v = self.table[ids].mean(axis=0)
        return v / np.linalg.norm(v)


def build(n: int) -> tuple[Path, dict]:
    db = OUT / f"latency-{n}.db"
    timings: dict[str, float] = {}
    if db.exists():
        return db, timings
    store = SQLiteStore(db)
    synth, standin = Synth(seed=5), StandIn()
    t = time.perf_counter()
    write_synth_papers(store, synth, n)
    timings["store write"] = time.perf_counter() - t
    engine = SearchEngine(store)  # builds the lexical index
    timings["lexical index build"] = time.perf_counter() - t - timings["store write"]
    t = time.perf_counter()
    write_standin_vectors(store, standin, engine.embedder.version, passage=0)
    timings["stand-in vectors"] = time.perf_counter() - t
    t = time.perf_counter()
    engine.vectors.rebuild()
    timings["vector index build"] = time.perf_counter() - t
    store.close()
    return db, timings


def queries(count: int) -> list[str]:
    rng = random.Random(9)
    rows = load_corpus()
    common = ["learning", "neural networks", "deep learning", "model", "data", "training"]
    out = []
    for i in range(count):
        row = rng.choice(rows)
        words = [w for w in re.findall(r"[A-Za-z]{4,}", row["titles"])]
        if i % 4 == 0:
            out.append(rng.choice(common))
        elif i % 4 == 1:
            out.append(" ".join(rng.sample(words, min(2, len(words)))) or "learning")
        elif i % 4 == 2:
            out.append(" ".join(words[:3]) or "learning")
        else:
            out.append(rng.choice(words) if words else "learning")
    return out


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def measure(db: Path, qs: list[str]) -> dict[str, tuple[float, float]]:
    engine = SearchEngine.open(db)
    engine.vectors  # noqa: B018 -- load the index and model before timing
    engine.embedder.embed_query("warm up")
    filt = " cat:cs.LG after:2024-01-01 before:2024-12-31"
    # the index keeps the last few filter sets: the row above mostly reuses its one filter
    # (as the pages of a filtered search do); this one's filter is new at every query
    days = itertools.count()

    def new_filter() -> str:
        start = date(2023, 1, 1) + timedelta(days=next(days))
        return f" cat:cs.LG after:{start.isoformat()} before:{(start + timedelta(365)).isoformat()}"

    plans = {
        "lexical": lambda text: engine.search(text, mode="lexical", limit=20),
        "semantic": lambda text: engine.search(text, mode="semantic", limit=20),
        "hybrid": lambda text: engine.search(text, mode="hybrid", limit=20),
        "hybrid+filter": lambda text: engine.search(text + filt, mode="hybrid", limit=20),
        "hybrid+new filter": lambda text: engine.search(
            text + new_filter(), mode="hybrid", limit=20
        ),
        "query embedding only": lambda text: engine.embedder.embed_query(text),
    }
    out = {}
    for name, run in plans.items():
        times = []
        for text in qs:
            t = time.perf_counter()
            run(text)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        out[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    engine.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:  # child process: only searching counts towards its peak RSS
        results = measure(args.measure, queries(args.queries))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"results": results, "rss": rss}))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    for n in args.sizes:
        t = time.perf_counter()
        db, timings = build(n)
        for step, seconds in timings.items():
            print(f"[{n:,}] {step}: {seconds:.0f} s")
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(db), "--queries", str(args.queries)],
            capture_output=True,
            text=True,
            check=True,
        )
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        results = measured["results"]
        store_mib = (
            sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
            / 2**20
        )
        folder = index_dir(db)
        print(
            f"\n{n:,} papers (setup {time.perf_counter() - t:.0f} s): store {store_mib:.0f} MiB, "
            f"lexical index {dir_size(folder / 'lexical') / 2**20:.0f} MiB, "
            f"vector index {dir_size(folder / 'vectors') / 2**20:.0f} MiB"
        )
        print(f"{'mode':<22}{'p50 ms':>10}{'p95 ms':>10}")
        for mode, (p50, p95) in results.items():
            print(f"{mode:<22}{p50:>10.1f}{p95:>10.1f}")
        print(f"peak RSS of the searching process: {measured['rss']:.0f} MiB\n")


if __name__ == "__main__":
    main()
