"""SQLite against PostgreSQL: the same workload on both backends, side by side (issue 12).

Per backend, each step in a process of its own (wall and CPU time, peak RSS of that process):

  import      `paperscope import SNAPSHOT --db TARGET --no-embed` of a synthetic Kaggle snapshot
              (bench/synth.py), as a user would: papers/s. On PostgreSQL the server's own CPU
              (its processes, from /proc) is counted too when this bench started it.
  lexical     the tantivy index: `paperscope import` keeps it current, so this only checks it.
  vectors     stand-in vectors, not the model's: embedding 1M papers takes days on 2 cores
              (docs/bench/embed_speed.txt). Every paper gets a seeded vector (one of 1,000
              cluster centres plus noise: embeddings cluster by topic), whole text and one
              passage as bench/full_scale.py writes them, the same per rowid on both
              backends. Search timing does not depend on what the vectors mean; queries are
              embedded by the real model.
  vector idx  the usearch index rebuilt from the store's vectors.
  engine      `SearchEngine` (rank/search.py, the path serve takes): lexical, semantic and
              hybrid p50/p95 over a fixed list of queries (real title words and sentence
              openings of samples/corpus), each mode with its own queries so that no mode
              reuses another's embedded query.
  http        `paperscope serve` on 127.0.0.1 (one worker): /search?q=..&mode=.. p50/p95 per
              mode (other queries again), then /paper/<id> p50 of first views and of the same
              pages viewed again (warm).
  disk        SQLite: file + WAL + index folder; PostgreSQL: pg_database_size + index folder.

PostgreSQL: `--pg URI` (a database this bench may empty: it drops and recreates
`paperscope_bench`), else a pgserver (PostgreSQL 18 + pgvector) in a temporary folder.

Usage: python bench/backends.py --papers 100000 [--backends sqlite,postgres] [--parallel]
       [--pg URI] [--queries 100] [--save] [--keep]
Writes docs/bench/backends.txt (with --save; appends a run to the ones already there).
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proctree import tree_cpu, tree_rss
from serving import wait_ready
from synth import OUT, ROOT, kaggle_file, load_corpus, shown

MiB = 1 << 20
MODES = ("lexical", "semantic", "hybrid")
BENCH_DB = "paperscope_bench"
#: PostgreSQL figures above this multiple of SQLite's are flagged (the issue's bound).
BOUND = 2.0


# ---------------------------------------------------------------------------- queries


def queries(count: int, seed: int = 12) -> list[str]:
    """`count` distinct queries: 2-3 title words, or the opening words of an abstract
    sentence, from the real corpus the synthetic papers are recombined from."""
    rng = random.Random(seed)
    rows = load_corpus()
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        row = rng.choice(rows)
        if len(out) % 3 == 2:
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", row["summaries"]) if len(s) > 30]
            words = re.findall(r"[A-Za-z][A-Za-z-]+", rng.choice(sentences)) if sentences else []
            text = " ".join(words[: rng.randint(4, 7)])
        else:
            words = re.findall(r"[A-Za-z]{4,}", row["titles"])
            text = " ".join(rng.sample(words, min(rng.randint(2, 3), len(words))))
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


def query_sets(count: int) -> dict[str, list[str]]:
    """Per mode and per path (engine, http): its own queries, the same on every backend."""
    every = queries(count * 6)
    names = [f"{path}-{mode}" for path in ("engine", "http") for mode in MODES]
    return {name: every[i * count : (i + 1) * count] for i, name in enumerate(names)}


# ---------------------------------------------------------------------------- steps


def step_lexical(target: str) -> dict:
    from paperscope.index.lexical import LexicalIndex
    from paperscope.index.paths import index_dir
    from paperscope.store.backends import open_store

    with open_store(target) as store:
        LexicalIndex(store, index_dir(target) / "lexical").ensure()
    return {}


#: Stand-in vectors: rowids per batch (each batch its own seeded generator, so a paper's vector
#: depends on its rowid alone) and clusters (embeddings of papers cluster by topic).
STANDIN_BATCH = 10_000
STANDIN_CLUSTERS = 1_000


def standin_vectors(first: int, count: int, dim: int) -> np.ndarray:
    """Unit vectors of rowids `first` .. `first + count - 1` (`first` a multiple of
    STANDIN_BATCH plus one): a cluster centre plus noise, the same on every backend."""
    centres = np.random.default_rng(3).standard_normal((STANDIN_CLUSTERS, dim)).astype(np.float32)
    rng = np.random.default_rng(1_000 + first // STANDIN_BATCH)
    which = rng.integers(0, STANDIN_CLUSTERS, count)
    v = centres[which] + 0.8 * rng.standard_normal((count, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def step_standin(target: str) -> dict:
    """Stand-in vectors (whole text and one passage) for every paper without one."""
    from paperscope.index.embedder import default_embedder
    from paperscope.index.embedding import DOC_PASSAGE
    from paperscope.store.backends import open_store

    embedder = default_embedder()
    model, dim = embedder.version, embedder.dim
    with open_store(target) as store:
        todo = store.rowids_without_vectors(model)
        batches: dict[int, list[int]] = {}
        for rowid in todo:
            batches.setdefault((rowid - 1) // STANDIN_BATCH, []).append(rowid)
        for batch, rowids in batches.items():
            first = batch * STANDIN_BATCH + 1
            vectors = standin_vectors(first, STANDIN_BATCH, dim)
            rows = []
            for rowid in rowids:
                v = vectors[rowid - first].tobytes()
                rows += [(rowid, 0, v), (rowid, DOC_PASSAGE, v)]
            for s in range(0, len(rows), 5_000):
                store.save_vectors(model, rows[s : s + 5_000])
        return {"rows": 2 * len(todo)}


def step_vectors(target: str) -> dict:
    from paperscope.rank.search import SearchEngine

    with SearchEngine.open(target) as engine:
        engine.vectors.ensure()
        return {"papers": len(engine.vectors)}


def _p(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50": statistics.median(times), "p95": times[max(0, int(0.95 * len(times)) - 1)]}


def step_engine(target: str, count: int, server: int, pages: int = 60) -> dict:
    """Search p50/p95 per mode through SearchEngine, warm (indexes and model loaded)."""
    from paperscope.rank.search import SearchEngine

    sets = query_sets(count)
    server = server or local_postmaster(target)
    with SearchEngine.open(target) as engine:
        engine.vectors  # noqa: B018 -- load the index before timing
        engine.query_embedder.embed_query("warm up the model")
        for mode in MODES:
            engine.search("warm up", mode=mode, limit=20)
        out = {}
        for mode in MODES:
            times = []
            cpu, server_cpu = time.process_time(), tree_cpu(server or None, reaped=True)
            for text in sets[f"engine-{mode}"]:
                t = time.perf_counter()
                engine.search(text, mode=mode, limit=20, strict=False)
                times.append(time.perf_counter() - t)
            out[mode] = _p(times)
            # CPU a search, this process and the database server's: the figure load leaves be
            out[mode]["cpu"] = (time.process_time() - cpu) / len(times)
            server_cpu = tree_cpu(server or None, reaped=True) - server_cpu
            out[mode]["server_cpu"] = server_cpu / len(times)
        ids = engine.store.load_rowids(
            random.Random(5).sample(range(1, engine.store.count() + 1), pages + 1)
        )
        out["ids"] = [p.arxiv_id for p in ids.values()]
        out["db_bytes"] = engine.store.db_bytes()
    return out


STEPS = {
    "lexical": lambda a: step_lexical(a.target),
    "standin": lambda a: step_standin(a.target),
    "vectors": lambda a: step_vectors(a.target),
    "engine": lambda a: step_engine(a.target, a.queries, a.server_pid, a.pages),
}


# ---------------------------------------------------------------------------- processes


class Postgres:
    """The PostgreSQL the bench uses: `--pg URI`, else a pgserver in a temporary folder."""

    def __init__(self, uri: str | None, keep: Path | None = None) -> None:
        self.folder: Path | None = None
        self.server = None
        #: with --keep, the server's data folder stays (in bench/out) for a look afterwards
        self.keep = keep is not None
        if uri is None:
            import pgserver

            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                self.folder = keep
            else:
                self.folder = Path(tempfile.mkdtemp(prefix="paperscope-bench-pg-"))
            self.server = pgserver.get_server(str(self.folder), cleanup_mode="stop")
            uri = self.server.get_uri()
        self.admin_uri = uri
        head, _, query = uri.partition("?")
        self.url = f"{head.rsplit('/', 1)[0]}/{BENCH_DB}" + (f"?{query}" if query else "")

    def fresh(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        return self.url

    def pid(self) -> int | None:
        """The postmaster's pid, when this bench started the server."""
        if self.folder is None:
            return None
        for found in [self.folder / "postmaster.pid", *self.folder.glob("*/postmaster.pid")]:
            if found.exists():
                return int(found.read_text().split()[0])
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
        if self.folder is not None and not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def local_postmaster(target: str) -> int:
    """The pid of a PostgreSQL on this machine whose socket folder is its data folder (as
    pgserver's is), from its postmaster.pid; 0 for anything else."""
    from urllib.parse import parse_qs, urlsplit

    if not target.startswith("postgres"):
        return 0
    host = parse_qs(urlsplit(target).query).get("host", [""])[0]
    found = Path(host) / "postmaster.pid" if host.startswith("/") else None
    return int(found.read_text().split()[0]) if found and found.exists() else 0


def run(cmd: list[str], env: dict, server: int | None = None) -> tuple[dict, str]:
    """Run `cmd`: wall, CPU and peak RSS of the child, CPU of the database server, stdout."""
    t, before = time.perf_counter(), tree_cpu(server, reaped=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read(), err.read()
    if code:
        raise SystemExit(f"{' '.join(cmd[2:5])} failed ({code}): {problem[-3000:]}")
    return {
        "wall": time.perf_counter() - t,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss * 1024,
        "server_cpu": tree_cpu(server, reaped=True) - before,
    }, text


def paperscope(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


def own_step(name: str, target: str, *extra: str) -> list[str]:
    script = str(Path(__file__).resolve())
    return [sys.executable, script, "--step", name, "--target", target, *extra]


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 300) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        answer.read()
    return time.perf_counter() - t


def http(target: str, env: dict, ids: list[str], count: int) -> dict:
    """`paperscope serve` (one worker): search pages per mode, then paper pages."""
    port = free_port()
    cmd = paperscope(
        "serve", "--db", target, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-embed-worker", "--no-digests", "--api-rate-limit", "0", "--log-level", "warning",
    )  # fmt: skip
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 -- closed in the finally below
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    sets = query_sets(count)
    try:
        t = time.perf_counter()
        wait_ready(
            base,
            server,
            timeout=1200,
            probe="/search?q=warm&mode=hybrid",
            request_timeout=1200,
            log=lambda: (log.seek(0), log.read()[-2000:])[1],
        )
        out: dict = {"ready_s": time.perf_counter() - t}
        for mode in MODES:
            get(f"{base}/search?" + urlencode({"q": "warm up", "mode": mode}))
        # a first paper page loads what paper pages need (similar papers) before timing
        get(f"{base}/paper/{quote(ids[0], safe='')}")
        cpu = tree_cpu(server.pid, reaped=True)
        for mode in MODES:
            times = [
                get(f"{base}/search?" + urlencode({"q": text, "mode": mode}))
                for text in sets[f"http-{mode}"]
            ]
            out[mode] = _p(times)
        pages = [f"{base}/paper/{quote(i, safe='')}" for i in ids[1:]]
        out["first"] = _p([get(u) for u in pages])
        out["warm"] = _p([get(u) for u in pages])
        out["cpu"] = tree_cpu(server.pid, reaped=True) - cpu
        out["rss"] = tree_rss(server.pid)
    except BaseException:
        log.seek(0)
        print(log.read()[-4000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    return out


def folder_bytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


# ---------------------------------------------------------------------------- the run


class Backend:
    """One backend's chain of steps: `build` (import, indexes, vectors, author clusters), then
    `measure` (search in-process and over HTTP); figures collect in `res`."""

    def __init__(
        self, name: str, target: str, folder: Path, snapshot: Path, args, pg: Postgres | None
    ) -> None:
        self.name, self.target, self.folder, self.snapshot, self.args = (
            name, target, folder, snapshot, args,
        )  # fmt: skip
        self.env = dict(os.environ, PAPERSCOPE_INDEX_DIR=str(folder), PAPERSCOPE_EMBED_WORKER="0")
        self.server = pg.pid() if pg is not None and name == "postgres" else None
        self.res: dict = {"load": {}}
        # each step's figures as they come: a run stopped part-way still leaves what it measured
        self.progress = folder.parent / f"{name}.json"

    def step(self, key: str, cmd: list[str]) -> str:
        r, text = run(cmd, self.env, self.server)
        self.res[key] = r
        self.res["load"][key] = load()
        self.progress.write_text(json.dumps(self.res))
        print(
            f"  [{self.name}] {key:10} {r['wall']:8.1f} s wall {r['cpu']:7.1f} s CPU "
            f"{r['rss'] / MiB:6.0f} MiB RSS  server CPU {r['server_cpu']:6.1f} s  load {load()}",
            flush=True,
        )
        return text

    def build(self) -> None:
        target = self.target
        self.step(
            "import", paperscope("import", str(self.snapshot), "--db", target, "--no-embed", "-q")
        )
        self.step("lexical", own_step("lexical", target))
        self.step("standin", own_step("standin", target))
        self.step("vectors", own_step("vectors", target))
        # as after any import (bench/full_scale.py): else serve's first page that names authors
        # would cluster every author inside that request
        self.step("authors", paperscope("authors", "rebuild", "--db", target, "--json"))

    def measure(self) -> None:
        res, args, target = self.res, self.args, self.target
        extra = ["--queries", str(args.queries), "--pages", str(args.pages)]
        res["engine"] = last_json(self.step("engine", own_step("engine", target, *extra)))
        t = time.perf_counter()
        res["http"] = http(target, self.env, res["engine"]["ids"], args.queries)
        res["load"]["http"] = load()
        self.progress.write_text(json.dumps(res))
        print(
            f"  [{self.name}] http       {time.perf_counter() - t:8.1f} s wall  load {load()}",
            flush=True,
        )
        res["index_bytes"] = folder_bytes(self.folder)
        if self.name == "sqlite":
            res["db_bytes"] = sum(
                os.path.getsize(f"{target}{s}")
                for s in ("", "-wal")
                if os.path.exists(f"{target}{s}")
            )
        else:
            res["db_bytes"] = res["engine"]["db_bytes"]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def table(n: int, results: dict[str, dict]) -> list[str]:
    names = list(results)
    both = len(names) == 2
    head = "| figure | " + " | ".join(names) + (" | PG/SQLite |" if both else " |")
    lines = [head, "|---|" + "---:|" * (len(names) + both)]
    flagged: list[str] = []

    def row(label: str, values: list[float], shown_as, search: bool = False, ratio=True) -> None:
        cells = [shown_as(v) for v in values]
        extra = ""
        if both:
            if ratio and values[0]:
                r = values[1] / values[0]
                mark = " **> 2x**" if search and r > BOUND else ""
                if mark:
                    flagged.append(label)
                extra = f" {r:.2f}x{mark} |"
            else:
                extra = " |"
        lines.append(f"| {label} | " + " | ".join(cells) + " |" + extra)

    r = [results[k] for k in names]
    row("import papers/s", [n / x["import"]["wall"] for x in r], lambda v: f"{v:,.0f}")
    secs = lambda v: f"{v:,.1f} s"  # noqa: E731
    mib = lambda v: f"{v / MiB:,.0f} MiB"  # noqa: E731
    row(
        "import CPU (client + server)",
        [x["import"]["cpu"] + x["import"]["server_cpu"] for x in r],
        secs,
    )
    row("import peak RSS", [x["import"]["rss"] for x in r], mib)
    # `paperscope import` keeps the lexical index current itself: this is its check
    row("lexical index check after import", [x["lexical"]["wall"] for x in r], secs)
    row("stand-in vectors written", [x["standin"]["wall"] for x in r], secs)
    row("vector index build", [x["vectors"]["wall"] for x in r], secs)
    row("author clusters (`authors rebuild`)", [x["authors"]["wall"] for x in r], secs)
    row("vector index peak RSS", [x["vectors"]["rss"] for x in r], mib)
    for mode in MODES:
        for q in ("p50", "p95"):
            row(f"engine {mode} {q}", [x["engine"][mode][q] for x in r], ms, search=True)
    for mode in MODES:
        row(
            f"engine {mode} CPU a search (client + server)",
            [x["engine"][mode]["cpu"] + x["engine"][mode]["server_cpu"] for x in r],
            ms,
        )
    row("engine peak RSS", [x["engine"]["rss"] for x in r], mib)
    for mode in MODES:
        for q in ("p50", "p95"):
            row(
                f"HTTP /search {mode} {q}",
                [x["http"][mode][q] for x in r],
                ms,
                search=True,
            )
    row("HTTP /paper first view p50", [x["http"]["first"]["p50"] for x in r], ms)
    row("HTTP /paper first view p95", [x["http"]["first"]["p95"] for x in r], ms)
    row("HTTP /paper warm p50", [x["http"]["warm"]["p50"] for x in r], ms)
    row("serve RSS after", [x["http"]["rss"] for x in r], mib)
    row("store on disk", [x["db_bytes"] for x in r], mib)
    row("index folder", [x["index_bytes"] for x in r], mib)
    row("total disk", [x["db_bytes"] + x["index_bytes"] for x in r], mib)
    lines.append("")
    if both:
        lines.append(
            "PostgreSQL search within 2x of SQLite: "
            + ("yes, every search figure" if not flagged else "NO: " + ", ".join(flagged))
        )
    return lines


def bench(args) -> tuple[list[str], dict[str, dict]]:
    n = args.papers
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    work = OUT / f"backends-{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t = time.perf_counter()
    snapshot = kaggle_file(n)
    made = time.perf_counter() - t
    started = datetime.now(UTC)
    lines = [
        f"{started:%Y-%m-%d %H:%M} UTC · {n:,} synthetic Kaggle records ({shown(snapshot)}, "
        f"{snapshot.stat().st_size / MiB:,.0f} MiB, made/reused in {made:.0f} s) · "
        f"{platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"load at start {load()}"
    ]
    print(lines[0], flush=True)
    pg = Postgres(args.pg, work / "pg" if args.keep else None) if "postgres" in names else None
    results: dict[str, dict] = {}
    targets = {}
    for name in names:
        if name == "sqlite":
            targets[name] = str(work / "papers.db")
        elif name == "postgres":
            assert pg is not None
            targets[name] = pg.fresh()
        else:
            raise SystemExit(f"unknown backend {name!r}: sqlite, postgres")

    chains = {
        name: Backend(name, targets[name], work / f"{name}.index", snapshot, args, pg)
        for name in names
    }
    try:
        if args.parallel:
            # the builds of both backends at once (two chains of mostly one-core processes on
            # 2 cores), then the measurements one backend at a time, so that no search or
            # page figure carries the other backend's build
            with ThreadPoolExecutor(len(names)) as pool:
                for done in [pool.submit(chains[name].build) for name in names]:
                    done.result()
            for name in names:
                chains[name].measure()
        else:
            for name in names:
                chains[name].build()
                chains[name].measure()
        results.update({name: chain.res for name, chain in chains.items()})
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lines += ["", *table(n, results)]
    ended = datetime.now(UTC)
    lines.append(
        f"queries: {args.queries} per mode and path, distinct; search limit 20; engine = "
        f"SearchEngine in-process, HTTP = `paperscope serve --workers 1` HTML pages; paper pages: "
        f"{len(results[names[0]]['engine']['ids']) - 1} random papers, first view then again"
    )
    lines.append(
        f"vectors: stand-ins, not the model's (clustered: {STANDIN_CLUSTERS:,} seeded centres "
        "plus noise, the same per rowid on both backends); queries embedded by the real model. "
        "PostgreSQL stores them in pgvector columns; each backend searches its own local "
        "usearch copy built from them."
        + (
            " Builds ran at the same time (--parallel), measurements (engine, HTTP) one "
            "backend at a time."
            if args.parallel
            else ""
        )
    )
    loads = "; ".join(
        f"{name}: " + ", ".join(f"{k} {v}" for k, v in r["load"].items())
        for name, r in results.items()
    )
    lines.append(f"load 1/5 min after each step ({os.cpu_count()} cores): {loads}")
    lines.append(f"bench wall time {(ended - started).total_seconds() / 60:.1f} min")
    return lines, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg", help="a PostgreSQL URI (default: start pgserver in a temp dir)")
    parser.add_argument("--queries", type=int, default=100, help="queries per mode and path")
    parser.add_argument("--save", action="store_true", help="append to docs/bench/backends.txt")
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="build both backends at the same time (measurements still run one at a time)",
    )
    parser.add_argument("--pages", type=int, default=60, help="paper pages viewed (+1 warm-up)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the stores (and pgserver's folder) in bench/out"
    )
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        out = STEPS[args.step](args)
        out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(out))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    lines, results = bench(args)
    if args.json:
        print(json.dumps({"papers": args.papers, "results": results, "lines": lines}))
    else:
        print("\n".join(lines[1:]))
    if args.save:
        path = ROOT / "docs" / "bench" / "backends.txt"
        before = path.read_text() if path.exists() else ""
        path.write_text(before + ("\n" if before else "") + "\n".join(lines) + "\n")
        print(f"saved {shown(path)}")


if __name__ == "__main__":
    main()
