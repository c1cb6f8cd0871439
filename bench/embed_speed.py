"""Embedding speed and quality of MiniLMEmbedder on real arXiv abstracts. Prints, never asserts.

    python bench/embed_speed.py            # full run, about 9.5 minutes on 2 cores
    python bench/embed_speed.py --quick    # smaller samples, about 2 minutes
    python bench/embed_speed.py --import-only [--papers N]   # full-import table, before/after

The import table embeds papers as `embed_missing` does (passages, then the whole-text vector),
once per idea of issue 11 (float or int8 MatMuls, second pass or shared pass), each in a fresh
process, and reports papers/s wall and per CPU-second (the fair figure on a loaded machine).

Texts are title + ". " + abstract from samples/corpus/arxiv-ml-abstracts-1000.csv; the 2,000
texts of the main speed runs are those 1,000 abstracts taken twice (no titles-only texts, which
would flatter the rate). Each measurement runs in a fresh process pinned to `--cores` cores, so
its peak RSS (getrusage) and its thread pools are its own. Rates count abstracts per second
after the session is loaded and warmed up on 8 texts ("load s" is that start-up); "cpu" is the
process's CPU seconds per wall second (2.00 = both cores busy; less while other processes
compete for the cores, so a low figure flags a disturbed measurement).

Quality proxies, on the 1,000 corpus abstracts (7 duplicated texts count as one paper):
- known-item MRR@10: the query is the middle sentence of an abstract; its paper should rank first;
- category share@10: of each paper's 10 nearest neighbours, the share with the same first arXiv
  category (chance is printed alongside).
"""

from __future__ import annotations

import argparse
import ast
import csv
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import onnxruntime as ort

from paperscope.index.embedder import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_LENGTH,
    MiniLMEmbedder,
    available_cores,
    passages,
    split_sentences,
    title_repeats,
    tuned_session_options,
)

CORPUS = Path(__file__).resolve().parents[1] / "samples/corpus/arxiv-ml-abstracts-1000.csv"


def _with(**changes: object) -> Callable[[int], ort.SessionOptions]:
    """Tuned options with some attributes changed."""

    def make(threads: int) -> ort.SessionOptions:
        opts = tuned_session_options(threads)
        for key, value in changes.items():
            setattr(opts, key, value)
        return opts

    return make


def _with_entry(key: str, value: str) -> Callable[[int], ort.SessionOptions]:
    """Tuned options with one session config entry added."""

    def make(threads: int) -> ort.SessionOptions:
        opts = tuned_session_options(threads)
        opts.add_session_config_entry(key, value)
        return opts

    return make


def _ort_default(threads: int) -> ort.SessionOptions:
    return ort.SessionOptions()


Level = ort.GraphOptimizationLevel
OPTIONS: dict[str, Callable[[int], ort.SessionOptions]] = {
    "tuned": tuned_session_options,
    "ort-default": _ort_default,
    "opt=DISABLE_ALL": _with(graph_optimization_level=Level.ORT_DISABLE_ALL),
    "opt=ALL": _with(graph_optimization_level=Level.ORT_ENABLE_ALL),
    "no-spinning": _with_entry("session.intra_op.allow_spinning", "0"),
    "mem-pattern": _with(enable_mem_pattern=True),
    "no-cpu-arena": _with(enable_cpu_mem_arena=False),
    "parallel-exec": _with(execution_mode=ort.ExecutionMode.ORT_PARALLEL, inter_op_num_threads=2),
    "dynamic-block-4": _with_entry("session.dynamic_block_base", "4"),
}


@dataclass(frozen=True)
class Run:
    label: str
    n: int
    max_length: int = DEFAULT_MAX_LENGTH
    threads: int = 2
    batch_size: int = DEFAULT_BATCH_SIZE
    sort: bool = True
    options: str = "tuned"
    int8: bool = False  # the tables below measure the float graph's batching and settings


@dataclass
class Result:
    run: Run
    load_s: float
    seconds: float
    cpu_per_wall: float
    rss_mb: float
    vectors: np.ndarray


def measure(run: Run, texts: list[str], cores: int) -> Result:
    """Embed `texts` as `run` says; meant to run alone in a fresh process."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    start = time.perf_counter()
    embedder = MiniLMEmbedder(
        run.max_length,
        run.threads,
        session_options=OPTIONS[run.options](1 if run.int8 else run.threads),
        int8_matmul=run.int8,
        shared_pass=False,
    )
    embedder.embed_documents(texts[:8])
    load_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    if run.sort:
        vectors = embedder.embed_documents(texts, run.batch_size)
    else:  # one call per batch of consecutive texts: sorting inside a batch changes nothing
        step = run.batch_size
        batches = [texts[i : i + step] for i in range(0, len(texts), step)]
        vectors = np.vstack([embedder.embed_documents(b, step) for b in batches])
    seconds = time.perf_counter() - start
    cpu_per_wall = (time.process_time() - cpu) / seconds
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return Result(run, load_s, seconds, cpu_per_wall, rss_mb, vectors)


def isolated(run: Run, texts: list[str], cores: int) -> Result:
    """`measure` in a fresh spawned process, so memory and thread pools start clean."""
    ctx = get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, max_tasks_per_child=1) as pool:
        return pool.submit(measure, run, texts, cores).result()


# ---------------------------------------------------------------------------------------------
# Quality


@dataclass
class Corpus:
    texts: list[str]  # title + ". " + abstract
    titles: list[str]
    abstracts: list[str]
    queries: list[str]  # the middle sentence of each abstract
    labels: np.ndarray  # first arXiv category, as an int
    keys: np.ndarray  # the index of the first paper with the same text: duplicates share it


def load_corpus(limit: int) -> Corpus:
    with CORPUS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    titles = [" ".join(r["titles"].split()) for r in rows]
    abstracts = [" ".join(r["summaries"].split()) for r in rows]
    texts = [f"{t}. {a}" for t, a in zip(titles, abstracts, strict=True)]
    queries = []
    for abstract in abstracts:
        sentences = split_sentences(abstract)
        queries.append(sentences[len(sentences) // 2])
    first = [ast.literal_eval(r["terms"])[0] for r in rows]
    names = sorted(set(first))
    labels = np.array([names.index(c) for c in first])
    seen: dict[str, int] = {}
    keys = np.array([seen.setdefault(a, i) for i, a in enumerate(abstracts)])
    return Corpus(texts, titles, abstracts, queries, labels, keys)


def mrr_at_10(scores: np.ndarray, corpus: Corpus) -> float:
    """Mean reciprocal rank of each query's own paper among the top 10 (`scores` query x paper)."""
    top = np.argsort(-scores, axis=1)[:, :10]
    hits = corpus.keys[top] == corpus.keys[:, None]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, np.inf)
    return float(np.mean(1.0 / first))


def category_share(sims: np.ndarray, corpus: Corpus) -> float:
    """Share of each paper's 10 nearest other papers with its first category.

    `sims` is paper x paper."""
    sims = sims.copy()
    sims[corpus.keys[:, None] == corpus.keys[None, :]] = -np.inf  # itself and its duplicates
    top = np.argsort(-sims, axis=1)[:, :10]
    return float(np.mean(corpus.labels[top] == corpus.labels[:, None]))


def chance_share(corpus: Corpus) -> float:
    shares = np.bincount(corpus.labels) / len(corpus.labels)
    return float(np.sum(shares**2))


def best_passage(sims: np.ndarray, starts: np.ndarray, axis: int) -> np.ndarray:
    """Max of `sims` over each paper's passages along `axis` (passages are contiguous)."""
    return np.maximum.reduceat(sims, starts, axis=axis)


def passage_vectors(result: Result, counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The passage vectors, and the normalised mean passage vector of each paper."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    means = np.add.reduceat(result.vectors, starts, axis=0)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    return starts, means


# ---------------------------------------------------------------------------------------------
# Report


def rate_row(result: Result, texts_per_abstract: float = 1.0) -> str:
    run = result.run
    rate = run.n / texts_per_abstract / result.seconds
    return (
        f"{run.label:<38} {run.n:>5} {run.max_length:>4} {run.threads:>3} {run.batch_size:>5} "
        f"{'yes' if run.sort else 'no':>6} {run.options:<16} {result.load_s:>6.2f} "
        f"{rate:>8.1f} {result.cpu_per_wall:>4.2f} {result.rss_mb:>7.0f}"
    )


HEADER = (
    f"{'run':<38} {'texts':>5} {'len':>4} {'thr':>3} {'batch':>5} {'sorted':>6} "
    f"{'session options':<16} {'load s':>6} {'abstr/s':>8} {'cpu':>4} {'RSS MB':>7}"
)


def best_of(runs: list[Run], texts: list[str], rounds: int, cores: int) -> dict[Run, Result]:
    """The fastest of `rounds` measurements of each run; rounds interleave the runs, so a burst
    of outside load on the shared cores spoils one round of a run, not all of them."""
    best: dict[Run, Result] = {}
    for _ in range(rounds):
        for run in runs:
            result = isolated(run, texts[: run.n], cores)
            if run not in best or result.seconds < best[run].seconds:
                best[run] = result
    return best


def speed_section(
    texts: list[str], n_main: int, n_side: int, rounds: int, cores: int
) -> dict[int, Result]:
    """Print the speed tables; returns the main sorted runs by max_length, for quality."""
    main = [
        Run("len256 sorted", n_main, 256),
        Run("len256 unsorted", n_main, 256, sort=False),
        Run("len128 sorted", n_main, 128),
    ]
    base = Run("", n_side)
    side = [replace(base, label=f"threads 1 (len{DEFAULT_MAX_LENGTH})", threads=1)]
    side += [replace(base, label=f"batch {b}", batch_size=b) for b in (1, 4, 8, 16, 32, 64)]
    side += [replace(base, label="batch 32 unsorted", batch_size=32, sort=False)]
    side += [replace(base, label=f"options {name}", options=name) for name in OPTIONS]
    print(f"Each rate is the best of {rounds} interleaved rounds.")
    print(HEADER)
    best = best_of(main, texts, rounds, cores)
    for run in main:
        print(rate_row(best[run]))
    print(f"\nVariants on the first {n_side} texts:")
    print(HEADER)
    best_side = best_of(side, texts, rounds, cores)
    for run in side:
        print(rate_row(best_side[run]))
    return {run.max_length: best[run] for run in main if run.sort}


def quality_section(corpus: Corpus, docs: dict[int, Result], cores: int) -> None:
    n = len(corpus.texts)
    print(f"\nQuality on {n} corpus abstracts (chance category share {chance_share(corpus):.3f})")
    print(HEADER)
    lengths = sorted(docs)
    if 512 not in docs:
        docs[512] = isolated(Run("len512 sorted (quality)", n, 512), corpus.texts, cores)
        print(rate_row(docs[512]), flush=True)
    queries = {
        length: isolated(Run(f"queries len{length}", n, length), corpus.queries, cores)
        for length in [*lengths, 512]
    }
    for length in [*lengths, 512]:
        print(rate_row(queries[length]) + "  (queries/s)", flush=True)
    split = {}
    papers = list(zip(corpus.titles, corpus.abstracts, strict=True))
    for length, title_alone in ((128, True), (128, False), (256, True)):
        per_paper = [passages(t, a, length, title_alone=title_alone) for t, a in papers]
        flat = [p for ps in per_paper for p in ps]
        name = f"passages len{length}{'' if title_alone else ' no title'}"
        result = isolated(Run(f"{name} ({len(flat)} texts)", len(flat), length), flat, cores)
        print(rate_row(result, len(flat) / n), flush=True)
        split[name] = (length, result, [len(ps) for ps in per_paper])

    print(f"\n{'representation':<46} {'MRR@10':>7} {'cat share@10':>13}")
    for length in [*lengths, 512]:
        d = docs[length].vectors[:n]
        q = queries[length].vectors
        mrr, share = mrr_at_10(q @ d.T, corpus), category_share(d @ d.T, corpus)
        print(f"{f'whole text, len{length}':<46} {mrr:>7.3f} {share:>13.3f}")
    for name, (length, result, counts) in split.items():
        starts, means = passage_vectors(result, counts)
        q = queries[length].vectors
        p = result.vectors
        best_q = best_passage(q @ p.T, starts, axis=1)
        best_pp = best_passage(best_passage(p @ p.T, starts, axis=0), starts, axis=1)
        rows = [
            (f"{name}, best passage", best_q, best_pp),
            (f"{name}, mean of passages", q @ means.T, means @ means.T),
        ]
        for label, q_scores, pp_scores in rows:
            mrr, share = mrr_at_10(q_scores, corpus), category_share(pp_scores, corpus)
            print(f"{label:<46} {mrr:>7.3f} {share:>13.3f}")


# ---------------------------------------------------------------------------------------------
# Full import: passages and whole-text vectors of papers, as embed_missing makes them


@dataclass(frozen=True)
class ImportRun:
    label: str
    int8: bool  # int8 MatMuls, one text per call on `cores` parallel 1-thread runs
    shared: bool  # whole-text vector pooled from the passages' tokens, not a second run
    threads: int = 0  # 0: as many as the cores
    gelu: bool = False  # one GELU node per layer (int8_graph._fuse_gelu)


IMPORT_RUNS = [
    ImportRun("before: float graph, 2 passes", int8=False, shared=False),
    # one thread spins no cycles away waiting for the other: the fairest "before" per CPU-second
    ImportRun("before, 1 thread", int8=False, shared=False, threads=1),
    ImportRun("float graph, shared pass", int8=False, shared=True),
    ImportRun("int8 MatMul, 2 passes", int8=True, shared=False),
    ImportRun("int8, 2 passes, one GELU node", int8=True, shared=False, gelu=True),
    ImportRun("int8 MatMul, shared pass", int8=True, shared=True),
    ImportRun("int8, shared pass, one GELU node", int8=True, shared=True, gelu=True),
]


@dataclass
class ImportResult:
    run: ImportRun
    seconds: float
    cpu_seconds: float
    rss_mb: float
    groups: list[np.ndarray]  # per paper: passage vectors, then the whole-text vector
    queries: np.ndarray


def measure_import(run: ImportRun, corpus: Corpus, cores: int) -> ImportResult:
    """Embed the corpus papers as an import does (cutting passages included); fresh process."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    embedder = MiniLMEmbedder(
        threads=run.threads or cores,
        int8_matmul=run.int8,
        shared_pass=run.shared,
        fuse_gelu=run.gelu,
    )
    pairs = list(zip(corpus.titles, corpus.abstracts, strict=True))
    embedder.embed_papers([passages(t, a) for t, a in pairs[:4]], corpus.texts[:4])  # warm up
    start, cpu = time.perf_counter(), time.process_time()
    cut = [passages(t, a) for t, a in pairs]  # as embed_missing does
    groups = embedder.embed_papers(cut, corpus.texts, pool_skip=[title_repeats(p) for p in cut])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    queries = embedder.embed_documents(corpus.queries)
    return ImportResult(run, seconds, cpu_seconds, rss_mb, groups, queries)


def import_section(corpus: Corpus, cores: int, only: str = "") -> None:
    n = len(corpus.texts)
    load = os.getloadavg()
    print(
        f"Full import of {n} corpus papers (passages + whole-text vector, cutting included); "
        f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(
        "papers/CPU-s counts every thread of the process; x cores is the rate on idle cores. "
        "MRR@10: best passage; cat share@10: whole-text vectors; cos: whole-text vector "
        "against the first run."
    )
    print(
        f"{'run':<34} {'wall s':>7} {'papers/s':>9} {'CPU s':>7} {'papers/CPU-s':>13} "
        f"{f'x{cores} cores':>9} {'RSS MB':>7} {'MRR@10':>7} {'cat@10':>7} {'cos min':>8} "
        f"{'cos mean':>8}"
    )
    before = None
    for run in IMPORT_RUNS:
        if only and not any(word in run.label for word in only.split(",")):
            continue  # the cosines compare against the first run printed
        ctx = get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx, max_tasks_per_child=1) as pool:
            result = pool.submit(measure_import, run, corpus, cores).result()
        counts = [len(g) - 1 for g in result.groups]
        flat = np.vstack([g[:-1] for g in result.groups])
        whole = np.vstack([g[-1] for g in result.groups])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        mrr = mrr_at_10(best_passage(result.queries @ flat.T, starts, axis=1), corpus)
        share = category_share(whole @ whole.T, corpus)
        before = whole if before is None else before
        cos = np.sum(before * whole, axis=1)
        per_cpu = n / result.cpu_seconds
        print(
            f"{run.label:<34} {result.seconds:>7.1f} {n / result.seconds:>9.1f} "
            f"{result.cpu_seconds:>7.1f} {per_cpu:>13.1f} {per_cpu * cores:>9.1f} "
            f"{result.rss_mb:>7.0f} {mrr:>7.3f} {share:>7.3f} {cos.min():>8.4f} "
            f"{cos.mean():>8.4f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples, about 2 minutes")
    parser.add_argument("--cores", type=int, default=2, help="cores to pin each run to")
    parser.add_argument(
        "--import-only", action="store_true", help="only the full-import table (before/after)"
    )
    parser.add_argument("--papers", type=int, default=1000, help="papers of the import table")
    parser.add_argument(
        "--only", default="", help="import runs whose label holds one of these words (a,b)"
    )
    args = parser.parse_args()
    if args.import_only:
        began = time.perf_counter()
        import_section(load_corpus(args.papers), args.cores, args.only)
        print(f"\ntotal bench time {time.perf_counter() - began:.0f} s")
        return
    n_main, n_side, rounds, n_quality = (300, 100, 1, 300) if args.quick else (2000, 200, 2, 1000)
    began = time.perf_counter()
    corpus = load_corpus(n_quality)
    full = load_corpus(1000)
    texts = (full.texts * (n_main // len(full.texts) + 1))[:n_main]
    print(
        f"MiniLMEmbedder speed; {min(args.cores, available_cores())} of {available_cores()} "
        f"cores, onnxruntime {ort.__version__}, python {sys.version.split()[0]}, "
        f"defaults: max_length {DEFAULT_MAX_LENGTH}, batch {DEFAULT_BATCH_SIZE}"
    )
    print(f"texts: title + '. ' + abstract; the {len(full.texts)} corpus abstracts repeated\n")
    docs = speed_section(texts, n_main, n_side, rounds, args.cores)
    quality_section(corpus, docs, args.cores)
    print(f"\ntotal bench time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
