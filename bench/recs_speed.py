"""Recommendation speed at 100k papers: serving from the cached model, retraining after one
new rating, and the arxiv-sanity-style baseline that trains on every request.

Corpus: 100k synthetic papers built from the real corpus's sentences (bench/synth.py, as in
bench/search_latency.py). Embedding 100k abstracts would take about an hour and a half here,
so papers get STAND-IN whole-text vectors (bench/search_latency.py's `StandIn`: the normalised
mean of fixed random word vectors; texts sharing words get close vectors). Speed does not
depend on what the vectors mean: scoring is one product over a 100k x 384 float32 matrix.

User: 50 rated papers (40 thumbs up drawn from the neighbourhoods of two papers, so two
interests; 10 thumbs down at random). Measured in a child process each (peak RSS per side):

- first request (loads the matrix from the store, trains, saves the model);
- serving from cache: p50/p95 over 200 calls of recommend(limit=20);
- retraining after one new rating: 20 times, add a thumbs up, time the next recommend;
- baseline (arxiv-sanity-lite): TF-IDF 1-2-grams over 100k titles + abstracts computed once
  (not timed per request), then per request a LinearSVC C=0.01 trained on all 100k papers.

Usage: flock /tmp/paperscope-bench.lock python bench/recs_speed.py [--papers 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.index.embedding import DOC_PASSAGE
from paperscope.rank.recs import Recommender
from paperscope.rank.search import SearchEngine
from paperscope.store.accounts import Accounts
from paperscope.store.ratings import record_rating
from paperscope.store.sqlite import SQLiteStore
from search_latency import StandIn, write_standin_vectors, write_synth_papers
from synth import OUT, Synth

SERVE_CALLS = 200
RETRAINS = 20
BASELINE_CALLS = 3


def build(n: int) -> Path:
    db = OUT / f"recs-speed-{n}.db"
    if db.exists():
        return db
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / f"recs-speed-{n}.tmp.db"
    for leftover in OUT.glob(f"recs-speed-{n}.tmp.db*"):
        if leftover.is_file():
            leftover.unlink()
    t = time.perf_counter()
    store = SQLiteStore(tmp)
    synth, standin = Synth(seed=5), StandIn()
    write_synth_papers(store, synth, n)
    model = SearchEngine(store).embedder.version
    write_standin_vectors(store, standin, model, passage=DOC_PASSAGE)
    Accounts(store).add("reader@example.org", None, display_name="reader")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{tmp}{suffix}")
        if src.exists():
            src.rename(f"{db}{suffix}")
    import shutil

    shutil.rmtree(f"{tmp}.index", ignore_errors=True)
    print(f"built {n:,} papers with stand-in vectors in {time.perf_counter() - t:.0f} s")
    return db


def pick_ratings(store: SQLiteStore, model: str) -> tuple[list[int], list[int], list[int]]:
    """40 thumbs up near two anchor papers, 10 thumbs down at random, and spare positives."""
    rng = random.Random(3)
    rowids = [r for r, _ in store.iter_papers(batch=20_000)]
    blobs = store.passage_vectors(model, DOC_PASSAGE, rowids)
    ids = np.array(sorted(blobs))
    matrix = np.stack([np.frombuffer(blobs[r], dtype=np.float32) for r in ids])
    ups: list[int] = []
    spare: list[int] = []
    for anchor in rng.sample(range(len(ids)), 2):
        near = np.argsort(-(matrix @ matrix[anchor]))[:300]
        chosen = rng.sample([int(ids[i]) for i in near], 20 + RETRAINS // 2)
        ups.extend(chosen[:20])
        spare.extend(chosen[20:])
    downs = rng.sample([int(r) for r in ids if int(r) not in set(ups) | set(spare)], 10)
    return ups, downs, spare


def measure_ours(db: Path) -> dict:
    engine = SearchEngine.open(db)
    store = engine.store
    model = engine.embedder.version
    uid = Accounts(store).find("reader@example.org").id
    ups, downs, spare = pick_ratings(store, model)
    store.conn.execute("DELETE FROM user_papers WHERE user_id = ?", (uid,))
    store.conn.execute("DELETE FROM rec_models WHERE user_id = ?", (uid,))
    for r in ups:
        record_rating(store, uid, r, rating=1)
    for r in downs:
        record_rating(store, uid, r, rating=-1)
    rec = Recommender(engine)
    t = time.perf_counter()
    rec.recommend(uid, limit=20)
    first = time.perf_counter() - t
    serve = []
    for _ in range(SERVE_CALLS):
        t = time.perf_counter()
        rec.recommend(uid, limit=20)
        serve.append((time.perf_counter() - t) * 1000)
    trained = rec.trainings
    retrain = []
    for r in spare[:RETRAINS]:
        record_rating(store, uid, r, rating=1)
        t = time.perf_counter()
        rec.recommend(uid, limit=20)
        retrain.append((time.perf_counter() - t) * 1000)
    assert rec.trainings == trained + len(retrain), "each new rating retrains once"
    assert trained == 1, "serving from cache must not train"
    serve.sort()
    retrain.sort()
    engine.close()
    return {
        "papers": len(rec.matrix),
        "first": first,
        "serve_p50": statistics.median(serve),
        "serve_p95": serve[int(len(serve) * 0.95) - 1],
        "retrain_p50": statistics.median(retrain),
        "retrain_max": retrain[-1],
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_baseline(db: Path) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    store = SQLiteStore(db)
    model = SearchEngine(store).embedder.version
    ups, _, _ = pick_ratings(store, model)
    rowids, texts = [], []
    for rowid, paper in store.iter_papers(batch=20_000):
        rowids.append(rowid)
        texts.append(f"{paper.title}. {paper.abstract}")
    t = time.perf_counter()
    vectorizer = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20_000,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )
    x = vectorizer.fit_transform(texts)
    features = time.perf_counter() - t
    y = np.isin(np.array(rowids), ups).astype(int)
    times = []
    for _ in range(BASELINE_CALLS):
        t = time.perf_counter()
        clf = LinearSVC(class_weight="balanced", max_iter=10_000, tol=1e-6, C=0.01)
        clf.fit(x, y)
        scores = clf.decision_function(x)
        np.argsort(-scores)[:20]
        times.append((time.perf_counter() - t) * 1000)
    return {
        "features": features,
        "request_p50": statistics.median(times),
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child(side: str, db: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", side, "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--measure", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        fn = measure_ours if args.measure == "ours" else measure_baseline
        print(json.dumps(fn(args.db)))
        return
    print(
        f"{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    db = build(args.papers)
    ours = child("ours", db)
    base = child("baseline", db)
    print(f"\n{ours['papers']:,} papers (stand-in whole-text vectors), a user with 50 ratings")
    print(f"first request (load matrix, train, save model): {ours['first'] * 1000:.0f} ms")
    print(
        f"serve from cached model, {SERVE_CALLS} calls, limit 20: "
        f"p50 {ours['serve_p50']:.1f} ms, p95 {ours['serve_p95']:.1f} ms (target p95 < 50 ms)"
    )
    print(
        f"retrain after one new rating ({RETRAINS} times, request included): "
        f"p50 {ours['retrain_p50']:.0f} ms, max {ours['retrain_max']:.0f} ms (target < 1 s)"
    )
    print(
        f"baseline per request (LinearSVC C=0.01 on TF-IDF of all papers, {BASELINE_CALLS} "
        f"calls): p50 {base['request_p50']:.0f} ms; TF-IDF features once: "
        f"{base['features']:.0f} s"
    )
    print(
        f"ratio baseline / ours: {base['request_p50'] / ours['serve_p50']:.0f}x when serving "
        f"from cache, {base['request_p50'] / ours['retrain_p50']:.0f}x when retraining "
        f"(target >= 10x)"
    )
    print(f"peak RSS: ours {ours['rss']:.0f} MiB, baseline {base['rss']:.0f} MiB")


if __name__ == "__main__":
    main()
