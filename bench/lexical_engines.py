"""Lexical engines at 100k and 1M papers: SQLite FTS5 vs tantivy vs bm25s.

For each engine and corpus size, in a fresh child process (so peak RSS is the engine's own):
index build time, index size on disk, p50/p95 latency of a top-20 search over a fixed query
mix, and peak RSS. Corpora come from bench/synth.py (`papers_file`: real sentences and title
words recombined, Zipf authors, real category labels, dates over three years).

Query mix (deterministic): rare title words, 2-3 word queries, common words ("learning",
"neural networks"), two-word phrases, a fielded author query (au:"Given Family") and words with
a category + year filter. Each engine runs them as well as it can:

  fts5     external-content FTS5 table like the store's (unicode61 remove_diacritics 2, no
           stemming), ``ORDER BY rank LIMIT 20`` with ``bm25(10, 4, 1)`` column weights; author
           = ``authors_text : "..."`` column filter; category/year = a join on the content table.
  tantivy  the production schema and query compiler of `paperscope.index.lexical` (fields with
           boosts, stemming, author keys, category/date filters inside the query); top-20 with
           block-max WAND (count=False), and again with the total match count (count=True, what
           `LexicalIndex.search` returns).
  bm25s    one bag of words per paper (title + authors + abstract), english stopwords, no
           stemmer (PyStemmer is not installed); phrases run as their words, author queries are
           not supported, category/year filters as a `weight_mask` from numpy columns.

Usage: python bench/lexical_engines.py [--sizes 100000 1000000] [--queries 200]
       [--engines fts5 tantivy bm25s] [--fts5-timeout 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import OUT, ROOT, Synth, load_corpus, papers_file

KINDS = ("rare", "multi", "common", "phrase", "author", "filter")
COMMON = [
    "learning",
    "neural networks",
    "deep learning",
    "model",
    "data",
    "network",
    "training",
    "learning model",
]
_WORD = re.compile(r"[A-Za-z]{4,}")
REPORT = ROOT / "docs" / "bench" / "lexical_engines.txt"


# ---------------------------------------------------------------- queries


def make_queries(count: int, seed: int = 11) -> list[dict]:
    """A fixed mix: 25% rare words, 25% 2-3 words, 20% common, 10% phrases, 10% authors,
    10% words + category + year."""
    rng = random.Random(seed)
    rows = load_corpus()
    synth = Synth(seed=7)  # same author pool as the corpus
    words = Counter(w.lower() for r in rows for w in _WORD.findall(r["summaries"]))
    title_words = [w.lower() for r in rows for w in _WORD.findall(r["titles"])]
    rare = sorted(w for w, n in words.items() if n == 1)
    sentences = [s for r in rows for s in re.split(r"(?<=[.!?])\s+", r["summaries"])]
    labels = Counter(c for r in rows for c in r["categories"])
    cats = [c for c, n in labels.most_common(15)]
    plan = (
        ["rare"] * (count // 4)
        + ["multi"] * (count // 4)
        + ["common"] * (count // 5)
        + ["phrase"] * (count // 10)
        + ["author"] * (count // 10)
    )
    plan += ["filter"] * (count - len(plan))
    out = []
    for kind in plan:
        if kind == "rare":
            ws = [rng.choice(rare)]
            out.append({"kind": kind, "words": ws, "text": ws[0]})
        elif kind == "multi":
            ws = rng.sample(title_words, rng.choice((2, 3)))
            out.append({"kind": kind, "words": ws, "text": " ".join(ws)})
        elif kind == "common":
            ws = rng.choice(COMMON).split()
            out.append({"kind": kind, "words": ws, "text": " ".join(ws)})
        elif kind == "phrase":
            # two adjacent words of a real sentence, both of 4+ letters
            pairs: list[list[str]] = []
            while not pairs:
                tokens = re.findall(r"[a-z]+", rng.choice(sentences).lower())
                pairs = [tokens[i : i + 2] for i in range(len(tokens) - 1)]
                pairs = [p for p in pairs if min(map(len, p)) >= 4]
            ws = rng.choice(pairs)
            out.append({"kind": kind, "words": ws, "text": f'"{" ".join(ws)}"', "phrase": True})
        elif kind == "author":
            # head of the Zipf pool half the time (many papers), tail otherwise
            pool = synth.authors[:50] if rng.random() < 0.5 else synth.authors[2000:]
            name = rng.choice(pool)
            out.append({"kind": kind, "words": [], "author": name, "text": f'au:"{name}"'})
        else:
            ws = [rng.choice(["learning", "network", "model", rng.choice(title_words)])]
            cat, year = rng.choice(cats), rng.choice((2023, 2024, 2025))
            out.append(
                {
                    "kind": kind,
                    "words": ws,
                    "cat": cat,
                    "year": year,
                    "text": f"{ws[0]} cat:{cat} year:{year}",
                }
            )
    return out


# ---------------------------------------------------------------- engines (child side)


def read_records(path: Path):
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Fts5:
    def __init__(self, work: Path, timeout: float) -> None:
        self.db = work / "fts5.db"
        self.timeout = timeout

    def build(self, data: Path) -> dict:
        conn = sqlite3.connect(self.db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute(
            "CREATE TABLE papers (rowid INTEGER PRIMARY KEY, title TEXT, authors_text TEXT, "
            "abstract TEXT, categories TEXT, published TEXT)"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE papers_fts USING fts5 (title, authors_text, abstract, "
            "content = 'papers', content_rowid = 'rowid', "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        conn.execute("BEGIN")
        batch = []
        for i, r in enumerate(read_records(data), start=1):
            batch.append(
                (
                    i,
                    r["title"],
                    ", ".join(r["authors"]),
                    r["abstract"],
                    " ".join(r["categories"]),
                    r["published"],
                )
            )
            if len(batch) == 5000:
                conn.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?)", batch)
                batch = []
        conn.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?)", batch)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = self.db.stat().st_size
        t = time.perf_counter()
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('rank', 'bm25(10, 4, 1)')")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - t
        conn.close()
        self.conn = sqlite3.connect(self.db, isolation_level=None)
        return {"build_s": seconds, "index_bytes": self.db.stat().st_size - before}

    @staticmethod
    def match(query: dict) -> str:
        if query.get("author"):
            return f'authors_text : "{query["author"]}"'
        if query.get("phrase"):
            return '"' + " ".join(query["words"]) + '"'
        return " ".join(f'"{w}"' for w in query["words"])

    def run(self, query: dict) -> int | None:
        """Number of hits, or None when the query ran past the timeout."""
        deadline = time.perf_counter() + self.timeout
        self.conn.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
        if query.get("cat"):
            sql = (
                "SELECT f.rowid, f.rank FROM papers_fts f JOIN papers p ON p.rowid = f.rowid "
                "WHERE papers_fts MATCH ? AND (' ' || p.categories || ' ') LIKE ? "
                "AND p.published BETWEEN ? AND ? ORDER BY f.rank LIMIT 20"
            )
            y = query["year"]
            params = (self.match(query), f"% {query['cat']} %", f"{y}-01-01", f"{y}-12-31")
        else:
            sql = (
                "SELECT rowid, rank FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank LIMIT 20"
            )
            params = (self.match(query),)
        try:
            return len(self.conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return None
            raise


class Tantivy:
    def __init__(self, work: Path, count: bool) -> None:
        self.folder = work / "tantivy"
        self.count = count

    def build(self, data: Path) -> dict:
        import tantivy

        from paperscope.index import lexical
        from paperscope.model import Author, Paper

        self.lexical = lexical
        from paperscope.rank import query

        self.parse = query.parse
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        t = time.perf_counter()
        index = lexical._register(tantivy.Index(lexical.SCHEMA, path=str(self.folder)))
        writer = index.writer(heap_size=lexical._REBUILD_HEAP)
        for i, r in enumerate(read_records(data), start=1):
            paper = Paper(
                title=r["title"],
                abstract=r["abstract"],
                authors=[Author(a) for a in r["authors"]],
                categories=r["categories"],
                published=r["published"],
                arxiv_id=r["arxiv_id"],
                upvotes=r["upvotes"],
            )
            writer.add_document(lexical.paper_document(i, paper))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        seconds = time.perf_counter() - t
        self.index = index
        self.searcher = index.searcher()
        return {"build_s": seconds, "index_bytes": dir_size(self.folder)}

    def run(self, query: dict) -> int:
        compiled = self.lexical.compile_query(self.parse(query["text"]))
        hits = self.searcher.search(compiled, 20, count=self.count).hits
        return len(hits)


class Bm25s:
    def __init__(self, work: Path) -> None:
        self.folder = work / "bm25s"

    def build(self, data: Path) -> dict:
        import bm25s
        import numpy as np

        self.np = np
        t = time.perf_counter()
        self.tokenizer = bm25s.tokenization.Tokenizer(stopwords="en")
        ids, years, by_cat, texts = [], [], {}, []
        for i, r in enumerate(read_records(data)):
            texts.append(f"{r['title']} {' '.join(r['authors'])} {r['abstract']}")
            years.append(int(r["published"][:4]))
            for c in r["categories"]:
                by_cat.setdefault(c, []).append(i)
            if len(texts) == 10_000:
                ids.extend(self._tokenize(texts, update_vocab=True))
                texts = []
        ids.extend(self._tokenize(texts, update_vocab=True))
        self.years = np.array(years, dtype=np.int16)
        self.by_cat = {c: np.array(v, dtype=np.int32) for c, v in by_cat.items()}
        self.retriever = bm25s.BM25()
        vocab = self.tokenizer.get_vocab_dict()
        self.retriever.index((ids, vocab), show_progress=False)
        del ids
        seconds = time.perf_counter() - t
        self.retriever.save(str(self.folder))
        return {"build_s": seconds, "index_bytes": dir_size(self.folder)}

    def _tokenize(self, texts: list[str], **kwargs) -> list:
        return self.tokenizer.tokenize(texts, show_progress=False, return_as="ids", **kwargs)

    def run(self, query: dict) -> int | str:
        if query.get("author"):
            return "n/a"
        tokens = self.tokenizer.tokenize(
            [" ".join(query["words"])], update_vocab=False, show_progress=False, return_as="string"
        )
        if not tokens[0]:
            return 0
        mask = None
        if query.get("cat"):
            mask = self.np.zeros(len(self.years), dtype=self.np.float32)
            mask[self.by_cat.get(query["cat"], [])] = 1.0
            mask *= self.years == query["year"]
        n = len(self.years)
        results, _ = self.retriever.retrieve(
            tokens, k=min(20, n), show_progress=False, weight_mask=mask, n_threads=1
        )
        return results.shape[1]


def tantivy_extras(runner: Tantivy) -> list[str]:
    """What the semantic side and the facet panel cost: every matching rowid of a broad
    filter, and facet counts over every match of a common word (median of 5 runs)."""
    lexical, parse = runner.lexical, runner.parse
    out = []
    for text in ("year:2024", "cat:cs.CV", "learning"):
        query = lexical.compile_query(parse(text))
        times, n = [], 0
        for _ in range(5):
            t = time.perf_counter()
            n = len(lexical.matching_rowids(runner.searcher, query))
            times.append((time.perf_counter() - t) * 1000)
        out.append(f"filter_rowids({text}): {statistics.median(times):.0f} ms for {n:,} rowids")
    for text in ("learning", "neural networks cat:cs.LG"):
        query = lexical.compile_query(parse(text))
        times = []
        for _ in range(5):
            t = time.perf_counter()
            lexical.facet_counts(runner.searcher, query, 20)
            times.append((time.perf_counter() - t) * 1000)
        out.append(f"facets({text}): {statistics.median(times):.0f} ms")
    return out


def child(engine: str, size: int, queries_path: Path, work: Path, timeout: float) -> None:
    data = papers_file(size)
    queries = json.loads(queries_path.read_text())
    work.mkdir(parents=True, exist_ok=True)
    runners = {
        "fts5": lambda: Fts5(work, timeout),
        "tantivy": lambda: Tantivy(work, count=False),
        "bm25s": lambda: Bm25s(work),
    }
    runner = runners[engine]()
    out = runner.build(data)
    passes = [("", runner)]
    if engine == "tantivy":
        counting = Tantivy(work, count=True)
        counting.lexical, counting.parse = runner.lexical, runner.parse
        counting.searcher = runner.searcher
        passes.append(("+count", counting))
    for suffix, r in passes:
        for query in queries:  # warm-up: every engine answers from a warm page cache
            r.run(query)
        timings: dict[str, list[float]] = {k: [] for k in KINDS}
        timeouts, unsupported = 0, 0
        for query in queries:
            t = time.perf_counter()
            got = r.run(query)
            dt = (time.perf_counter() - t) * 1000
            if got == "n/a":
                unsupported += 1
                continue
            if got is None:
                timeouts += 1
            timings[query["kind"]].append(dt)
        out[f"timings{suffix}"] = timings
        out[f"timeouts{suffix}"] = timeouts
        out[f"unsupported{suffix}"] = unsupported
    if engine == "tantivy":
        out["extras"] = tantivy_extras(runner)
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


# ---------------------------------------------------------------- parent


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rows_for(engine: str, size: int, result: dict) -> list[str]:
    lines = []
    for key in [k for k in result if k.startswith("timings")]:
        suffix = key.removeprefix("timings")
        timings = result[key]
        every = [v for vs in timings.values() for v in vs]
        per_kind = " ".join(
            f"{statistics.median(timings[k]):7.1f}" if timings[k] else "    n/a" for k in KINDS
        )
        note = ""
        if result.get(f"timeouts{suffix}"):
            note += f" {result[f'timeouts{suffix}']} timed out"
        if result.get(f"unsupported{suffix}"):
            note += f" {result[f'unsupported{suffix}']} unsupported"
        lines.append(
            f"{engine + suffix:14} {size:>9,} {result['build_s']:8.1f} "
            f"{result['index_bytes'] / 2**20:9.0f} {result['peak_rss'] / 2**20:9.0f} "
            f"{pct(every, 50):8.1f} {pct(every, 95):8.1f}   {per_kind}{note}"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--engines", nargs="+", default=["fts5", "tantivy", "bm25s"])
    ap.add_argument("--fts5-timeout", type=float, default=10.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--query-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.size, args.query_file, args.work, args.fts5_timeout)
        return

    started = time.perf_counter()
    queries = make_queries(args.queries)
    qfile = OUT / "lexical-queries.json"
    OUT.mkdir(parents=True, exist_ok=True)
    qfile.write_text(json.dumps(queries))
    header = (
        f"{'engine':14} {'papers':>9} {'build s':>8} {'index MiB':>9} {'RSS MiB':>9} "
        f"{'p50 ms':>8} {'p95 ms':>8}   p50 ms by kind: " + " ".join(f"{k:>7}" for k in KINDS)
    )
    lines = [header]
    extras: list[str] = []
    print(header, flush=True)
    for size in args.sizes:
        t = time.perf_counter()
        data = papers_file(size)
        ready = time.perf_counter() - t
        print(f"# corpus {size:,}: {data.name} ready in {ready:.0f} s", flush=True)
        for engine in args.engines:
            work = OUT / f"lexical-{engine}-{size}"
            shutil.rmtree(work, ignore_errors=True)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                engine,
                "--size",
                str(size),
                "--query-file",
                str(qfile),
                "--work",
                str(work),
                "--fts5-timeout",
                str(args.fts5_timeout),
            ]
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                line = f"{engine:14} {size:>9,} failed: {proc.stderr.strip().splitlines()[-1:]}"
                lines.append(line)
                print(line, flush=True)
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            for line in rows_for(engine, size, result):
                lines.append(line)
                print(line, flush=True)
            extras.extend(f"tantivy {size:,}: {x}" for x in result.get("extras", []))
            print(f"#   ({engine} run took {time.perf_counter() - t:.0f} s)", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    kinds = Counter(q["kind"] for q in queries)
    footer = [
        "",
        *extras,
        "",
        f"queries: {len(queries)} ({', '.join(f'{k} {kinds[k]}' for k in KINDS)}), top 20, "
        f"after one warm-up pass over them; FTS5 queries stop after {args.fts5_timeout:.0f} s",
        "index MiB: FTS5 shadow tables (db growth on 'rebuild'); tantivy and bm25s folders",
        "RSS: peak of the child process (build + queries)",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average at the end {os.getloadavg()[0]:.1f} (other processes share the CPU), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        f"run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - started:.0f} s total",
    ]
    for line in footer:
        print(line)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines + footer) + "\n", encoding="utf-8")
    print(f"saved {REPORT}")


if __name__ == "__main__":
    main()
