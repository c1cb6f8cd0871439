"""Recommendation quality on the real labelled corpus, paperscope against an arxiv-sanity-style
baseline, on the same simulated users.

Corpus: the 1,000 real abstracts of samples/corpus/arxiv-ml-abstracts-1000.csv, embedded with
the bundled model (once; cached under bench/out). Interests are categories with at least 25
papers. A simulated user has 1-3 interests and rates 10 papers: 0-3 thumbs down on papers of
none of their interests, the rest thumbs up on papers of their interests (spread evenly).
Held-out relevant papers: every unrated paper carrying one of the user's interests.

- precision@10 and nDCG@10 (binary relevance) of the top 10;
- coverage (users with 2-3 interests): share of their interests present in the top 10.

Baseline (arxiv-sanity-lite): TF-IDF over title + abstract (1-2-grams, sublinear tf, min_df 5,
max_df 0.1, English stop words), LinearSVC C=0.01 with balanced classes, trained per request on
the thumbs-up papers against every other paper.

Usage: python bench/recs_quality.py [--users 960] [--sweep] [--set NAME=VALUE,...]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paperscope.rank.recs as recs_module
from paperscope.model import Paper
from paperscope.rank.recs import Recommender
from paperscope.rank.search import SearchEngine
from paperscope.store.accounts import Accounts
from paperscope.store.ratings import Ratings, record_rating
from synth import OUT, embedded_corpus_store

CACHE = OUT  # bench/out: ignored by git
MIN_INTEREST_PAPERS = 25
RATED = 10
SEED = 17
BASELINE = "arxiv-sanity baseline (TF-IDF + LinearSVC)"


def cached_store() -> Path:
    """The corpus with its vectors, built once (see synth.embedded_corpus_store)."""
    return embedded_corpus_store("recs-quality")


def make_users(papers: dict[int, Paper], n: int) -> list[dict]:
    counts: dict[str, int] = {}
    for p in papers.values():
        for c in p.categories:
            counts[c] = counts.get(c, 0) + 1
    pool = sorted(c for c, k in counts.items() if k >= MIN_INTEREST_PAPERS)
    rng = random.Random(SEED)
    rowids = sorted(papers)
    users = []
    for i in range(n):
        interests = rng.sample(pool, 1 + i % 3)
        downs = rng.randint(0, 3)
        ups: list[int] = []
        for j in range(RATED - downs):
            interest = interests[j % len(interests)]
            choices = [r for r in rowids if interest in papers[r].categories and r not in ups]
            ups.append(rng.choice(choices))
        others = [r for r in rowids if not set(papers[r].categories) & set(interests)]
        down = rng.sample(others, min(downs, len(others)))
        rated = set(ups) | set(down)
        relevant = {
            r for r in rowids if r not in rated and set(papers[r].categories) & set(interests)
        }
        users.append(
            {"interests": interests, "up": ups, "down": down, "rated": rated, "relevant": relevant}
        )
    return users


def metrics(ranked: list[int], user: dict, papers: dict[int, Paper]) -> dict[str, float]:
    top = ranked[:10]
    gains = [1.0 if r in user["relevant"] else 0.0 for r in top]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(user["relevant"]))))
    covered = {c for r in top for c in papers[r].categories} & set(user["interests"])
    return {
        "p@10": sum(gains) / 10,
        "ndcg@10": dcg / ideal if ideal else 0.0,
        "coverage": len(covered) / len(user["interests"]),
    }


class Baseline:
    """arxiv-sanity-lite: TF-IDF features, a LinearSVC trained on every request."""

    def __init__(self, papers: dict[int, Paper]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.rowids = np.array(sorted(papers))
        texts = [f"{papers[r].title}. {papers[r].abstract}" for r in self.rowids]
        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20_000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.x = vectorizer.fit_transform(texts)

    def recommend(self, positives: list[int], rated: set[int], limit: int) -> list[int]:
        from sklearn.svm import LinearSVC

        y = np.isin(self.rowids, positives).astype(int)
        clf = LinearSVC(class_weight="balanced", max_iter=10_000, tol=1e-6, C=0.01)
        clf.fit(self.x, y)
        scores = clf.decision_function(self.x)
        order = np.argsort(-scores, kind="stable")
        return [int(r) for r in self.rowids[order] if int(r) not in rated][:limit]


def summarise(rows: list[dict[str, float]], users: list[dict]) -> dict[str, np.ndarray]:
    """Per-user figures as arrays (coverage: multi-interest users only), for means, standard
    errors and paired differences between methods on the same users."""
    multi = [m for m, u in zip(rows, users, strict=True) if len(u["interests"]) > 1]
    return {
        "p@10": np.array([m["p@10"] for m in rows]),
        "ndcg@10": np.array([m["ndcg@10"] for m in rows]),
        "coverage": np.array([m["coverage"] for m in multi]),
    }


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error over users."""
    if not len(values):
        return 0.0, 0.0
    se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
    return float(np.mean(values)), se


def fmt(values: np.ndarray) -> str:
    mean, se = mean_se(values)
    return f"{mean:.3f}±{se:.3f}"


def fmt_delta(ours: np.ndarray, base: np.ndarray | None) -> str:
    """Paired difference ours - baseline over the same users, ± its standard error."""
    if base is None:
        return "-"
    mean, se = mean_se(ours - base)
    return f"{mean:+.3f}±{se:.3f}"


def run_ours(engine: SearchEngine, users: list[dict], ids: list[int], papers) -> tuple:
    rec = Recommender(engine)
    ratings = Ratings(engine.store)
    rows, times = [], []
    for user, uid in zip(users, ids, strict=True):
        ratings.drop_models(uid)  # a sweep changes the constants: train afresh
        rec.invalidate(uid)
        t = time.perf_counter()
        found = [r.rowid for r in rec.recommend(uid, limit=10)]
        times.append(time.perf_counter() - t)
        rows.append(metrics(found, user, papers))
    return summarise(rows, users), float(np.median(times)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=960)
    ap.add_argument("--sweep", action="store_true", help="try other model constants too")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="an extra configuration of paperscope.rank.recs constants (repeatable)",
    )
    ap.add_argument("--no-baseline", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    source = cached_store()
    work = Path(tempfile.mkdtemp(prefix="recs-quality-"))
    try:
        db = work / "papers.db"
        shutil.copyfile(source, db)
        engine = SearchEngine.open(db)
        store = engine.store
        papers = dict(store.iter_papers())
        users = make_users(papers, args.users)
        accounts = Accounts(store)
        ids = []
        for i, user in enumerate(users):
            uid = accounts.add(f"user{i}@example.org", None).id
            ids.append(uid)
            for r in user["up"]:
                record_rating(store, uid, r, rating=1)
            for r in user["down"]:
                record_rating(store, uid, r, rating=-1)
        by_k = {k: sum(len(u["interests"]) == k for u in users) for k in (1, 2, 3)}
        print(
            f"corpus: {len(papers)} papers; {len(users)} users ({by_k[1]} with 1 interest, "
            f"{by_k[2]} with 2, {by_k[3]} with 3), {RATED} ratings each"
        )
        results = {}
        if not args.no_baseline:
            baseline = Baseline(papers)
            rows, times = [], []
            for user in users:
                t = time.perf_counter()
                found = baseline.recommend(user["up"], user["rated"], 10)
                times.append(time.perf_counter() - t)
                rows.append(metrics(found, user, papers))
            results[BASELINE] = (
                summarise(rows, users),
                float(np.median(times)) * 1000,
            )
        configs = [("paperscope", {})]
        if args.sweep:
            configs += [
                ("paperscope, interests by the model alone", {"INTEREST_BLEND": 1.0}),
                ("paperscope, INTEREST_BLEND=0.7", {"INTEREST_BLEND": 0.7}),
                ("paperscope, INTEREST_BLEND=0.3", {"INTEREST_BLEND": 0.3}),
                ("paperscope, MMR only (no interest coverage)", {"INTEREST_DISTANCE": 2.0}),
                (
                    "paperscope, no diversification",
                    {"INTEREST_DISTANCE": 2.0, "MMR_LAMBDA": 1.0, "INTEREST_BLEND": 1.0},
                ),
                ("paperscope, INTEREST_DISTANCE=0.5", {"INTEREST_DISTANCE": 0.5}),
                (f"paperscope, C={recs_module.C * 4:g}", {"C": recs_module.C * 4}),
                (
                    f"paperscope, C={recs_module.C * 4:g}, model alone (previous default)",
                    {"C": recs_module.C * 4, "INTEREST_BLEND": 1.0},
                ),
            ]
        for spec in args.set:
            pairs = dict(item.split("=", 1) for item in spec.split(","))
            configs.append((f"paperscope, {spec}", {k: float(v) for k, v in pairs.items()}))
        for name, overrides in configs:
            saved = {k: getattr(recs_module, k) for k in overrides}
            for k, v in overrides.items():
                setattr(recs_module, k, v)
            try:
                results[name] = run_ours(engine, users, ids, papers)
            finally:
                for k, v in saved.items():
                    setattr(recs_module, k, v)
        base = results.get(BASELINE)
        print(
            f"\n{'method':<52}{'p@10':>13}{'nDCG@10':>13}{'coverage*':>13}"
            f"{'Δp@10':>14}{'Δcoverage':>14}{'ms/user':>9}"
        )
        for name, (m, ms) in results.items():
            print(
                f"{name:<52}{fmt(m['p@10']):>13}{fmt(m['ndcg@10']):>13}{fmt(m['coverage']):>13}"
                f"{fmt_delta(m['p@10'], base[0]['p@10'] if base else None):>14}"
                f"{fmt_delta(m['coverage'], base[0]['coverage'] if base else None):>14}"
                f"{ms:>9.1f}"
            )
        print("figures: mean±standard error over users; Δ: paired difference from the baseline")
        print("* coverage: share of a multi-interest user's interests present in the top 10")
        print(
            "ms/user: median time of one request (ours: training included, the model cache "
            "is emptied before each user)"
        )
        rss = resource_mib()
        print(f"peak RSS: {rss:.0f} MiB")
        engine.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def resource_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
