"""The whole journey at full size: a synthetic Kaggle snapshot imported until the store is fully
ready, then a daily increment and each step's catch-up.

Steps to fully ready, each in a process of its own (wall and CPU time, peak RSS of that
process, store + index size on disk after it):

  import (`paperscope import --no-embed`), lexical index, vectors (embedding), vector index,
  author clusters (`authors rebuild`), similar lists (`paperscope neighbours --jobs 2`).

Embedding every paper would take the bench hours, so the vectors step *measures* the real
model on a sample (--embed-sample papers, default 20,000; real abstracts recombined by
bench/synth.py) and *extrapolates* to the store; the store then gets deterministic stand-in
vectors (bench/search_latency.py) so that the vector index, the similar lists and the
increment run on every paper. Likewise --lists-sample computes the lists of that many papers
and extrapolates (default: every paper).

Daily increment: 2,000 new papers and 500 new versions of old ones (a new abstract, so they are
embedded again), imported; then each step's catch-up: embedding (the measured rate,
extrapolated), lexical and vector index catch-up, author clusters (`authors update`, and the
first author page showing a new paper), similar lists (`paperscope neighbours --newest 2000`:
the lists follow the new papers). Then `paperscope serve --workers 2` answers paper pages of
old papers one at a time (p50/p95 of the first view after the increment, RSS of both workers),
and a sample of old papers' remembered lists is compared with a recompute.

Projection to 2.7M papers: every step's time and disk scaled linearly by papers (the graph
build and authors grow a little faster; a note says so); increment catch-ups are those of N.

Usage: flock /tmp/paperscope-bench.lock python bench/full_scale.py [--papers 1000000]
Writes docs/bench/full_scale.txt (with --save). The embedding sample runs beside the import (its
own scratch store). A run that had to stop can go on with --resume (the store and the rows it
recorded in bench/out/full-scale-N/rows.jsonl are kept; steps recorded are not run again; the
increment's steps are not resumable); --embed-measured PAPERS,WALL,CPU,RSS_MIB gives a sample
measured already; --side-by-side runs the author rebuild beside the stand-in vectors and the
vector index build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proctree import tree_cpu, tree_rss
from serving import wait_ready
from synth import OUT, ROOT, Synth, kaggle_file, shown

NEW_PAPERS = 2000
NEW_VERSIONS = 500
ARXIV_SIZE = 2_700_000
PAGE_VIEWS = 200
AGREEMENT_SAMPLE = 200
MiB = 1 << 20


# ---------------------------------------------------------------------------- one step


def step_lexical(db: Path) -> dict:
    from paperscope.index.lexical import LexicalIndex
    from paperscope.index.paths import index_dir
    from paperscope.store.sqlite import SQLiteStore

    with SQLiteStore(db) as store:
        LexicalIndex(store, index_dir(db) / "lexical").ensure()
    return {}


def step_embed_sample(db: Path, sample: int) -> dict:
    """The real model on `sample` synthetic papers in a scratch store: papers/s."""
    from paperscope.index.embedder import default_embedder
    from paperscope.index.embedding import embed_missing
    from paperscope.store.sqlite import SQLiteStore
    from search_latency import write_synth_papers

    scratch = db.with_name("embed-sample.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    with SQLiteStore(scratch) as store:
        write_synth_papers(store, Synth(seed=21), sample)
        embedder = default_embedder()
        embedder.embed_documents(["warm up the model session"])
        t, cpu = time.perf_counter(), time.process_time()
        done = embed_missing(store, embedder)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return {"papers": len(done), "embed_s": wall, "embed_cpu": cpu, "rate": len(done) / wall}


def step_standin(db: Path) -> dict:
    """Stand-in vectors (whole text and one passage) for every paper without one."""
    from paperscope.index.embedder import default_embedder
    from paperscope.index.embedding import DOC_PASSAGE
    from paperscope.store.sqlite import SQLiteStore
    from search_latency import StandIn

    standin = StandIn()
    model = default_embedder().version
    with SQLiteStore(db) as store:
        todo = store.rowids_without_vectors(model)
        for s in range(0, len(todo), 5000):
            papers = store.load_rowids(todo[s : s + 5000])
            rows = []
            for rowid, paper in papers.items():
                v = standin.vector(f"{paper.title} {paper.abstract}").tobytes()
                rows += [(rowid, 0, v), (rowid, DOC_PASSAGE, v)]
            for attempt in range(20):
                try:
                    store.save_vectors(model, rows)
                    break
                except sqlite3.OperationalError as e:
                    # --side-by-side: the author rebuild's one write transaction can hold the
                    # lock longer than the store's busy timeout; wait it out
                    if "locked" not in str(e) or attempt == 19:
                        raise
                    time.sleep(5)
    return {"papers": len(todo)}


def step_vectors(db: Path) -> dict:
    from paperscope.rank.search import SearchEngine

    with SearchEngine.open(db) as engine:
        engine.vectors.ensure()
        return {"papers": len(engine.vectors)}


def step_authors(db: Path, probe: str | None) -> dict:
    """`authors update` (the catch-up), then the first author page showing `probe`."""
    from paperscope.store.authors import AuthorDirectory
    from paperscope.store.sqlite import SQLiteStore

    with SQLiteStore(db) as store:
        directory = AuthorDirectory(store)
        t = time.perf_counter()
        done = directory.ensure()
        out = {"catch_up_s": time.perf_counter() - t, "papers": getattr(done, "papers", None)}
        if probe:
            paper_id, name = probe.split("|", 1)
            slug = directory.exact(name)[0].slug
            shown_ids = {p.arxiv_id for _, p in directory.profile(slug).papers}
            out["page_current_s"] = time.perf_counter() - t
            out["page_shows_new_paper"] = paper_id in shown_ids
        return out


def step_agreement(db: Path, sample: int) -> dict:
    """Remembered lists of old papers against a recompute."""
    from paperscope.index.neighbours import KEPT
    from paperscope.rank.search import SIMILAR_MODE, SearchEngine

    with SearchEngine.open(db) as engine:
        state = engine.neighbour_state()
        rng = random.Random(4)
        olds = [int(r) for r in old_with_lists(engine)]
        entries = engine.neighbours.entries(rng.sample(olds, min(sample, len(olds))), state)
        same6 = same30 = overlap = 0
        for rowid, (hits, _) in entries.items():
            fresh = engine._similar_ranked(rowid, KEPT, SIMILAR_MODE, None)
            same6 += [r for r, _ in hits[:6]] == [r for r, _ in fresh[:6]]
            same30 += hits == fresh
            overlap += len({r for r, _ in hits[:10]} & {r for r, _ in fresh[:10]})
        n = max(len(entries), 1)
        return {
            "lists": len(entries),
            "same_top6": same6 / n,
            "same_30": same30 / n,
            "top10_overlap": overlap / (10 * n),
        }


def old_with_lists(engine) -> list[int]:
    """Papers of the snapshot (not the increment) that have a remembered list."""
    rowids, _ = engine.neighbours.thresholds(engine.neighbour_state())
    top = engine.store.count() - NEW_PAPERS
    return [int(r) for r in rowids if r <= top]


def step_pick(db: Path, count: int) -> dict:
    """arXiv ids of `count` old papers with a remembered list (their pages' first views)."""
    from paperscope.rank.search import SearchEngine

    with SearchEngine.open(db) as engine:
        olds = old_with_lists(engine)
        picks = random.Random(5).sample(olds, min(count, len(olds)))
        papers = engine.store.load_rowids(picks)
        return {"ids": [papers[r].arxiv_id for r in picks if r in papers]}


STEPS = {
    "pick": lambda a: step_pick(a.db, PAGE_VIEWS + 4),
    "lexical": lambda a: step_lexical(a.db),
    "embed-sample": lambda a: step_embed_sample(a.db, a.embed_sample),
    "standin": lambda a: step_standin(a.db),
    "vectors": lambda a: step_vectors(a.db),
    "authors": lambda a: step_authors(a.db, a.probe),
    "agreement": lambda a: step_agreement(a.db, AGREEMENT_SAMPLE),
}


# ---------------------------------------------------------------------------- the journey


def disk(db: Path) -> int:
    total = sum(os.path.getsize(f"{db}{s}") for s in ("", "-wal") if os.path.exists(f"{db}{s}"))
    folder = Path(f"{db}.index")
    if folder.exists():
        total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return total


def run(cmd: list[str], env: dict | None = None) -> tuple[dict, str]:
    """Run `cmd`; (wall, cpu, peak RSS of the child, exit code), stdout."""
    t = time.perf_counter()
    with (
        open(OUT / f"full_scale-{os.getpid()}.out", "w+") as out,
        open(OUT / f"full_scale-{os.getpid()}.err", "w+") as err,
    ):
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read(), err.read()
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({child.returncode}): {problem[-3000:]}")
    return {
        "wall": time.perf_counter() - t,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss * 1024,
    }, text


class Background:
    """A step run beside the journey (the embedding sample: its own scratch store), collected
    with the same figures as `run`."""

    def __init__(self, cmd: list[str], tag: str) -> None:
        self.t = time.perf_counter()
        self.out = open(OUT / f"full_scale-{os.getpid()}-{tag}.out", "w+")  # noqa: SIM115
        self.err = open(OUT / f"full_scale-{os.getpid()}-{tag}.err", "w+")  # noqa: SIM115
        self.child = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)
        self.cmd = cmd

    def finish(self) -> tuple[dict, str]:
        _, status, usage = os.wait4(self.child.pid, 0)
        wall = time.perf_counter() - self.t
        code = os.waitstatus_to_exitcode(status)
        self.out.seek(0)
        self.err.seek(0)
        text, problem = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        if code:
            raise SystemExit(f"{' '.join(self.cmd[:4])} failed ({code}): {problem[-3000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return {"wall": wall, "cpu": cpu, "rss": usage.ru_maxrss * 1024}, text


def paperscope(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


def own_step(name: str, db: Path, *extra: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--step", name, "--db", str(db), *extra]


def make_files(n: int) -> tuple[Path, Path, list[dict]]:
    """The snapshot of `n` records, and the increment: 2,000 new records and 500 new versions
    of old ones (a second version, a revised abstract)."""
    source = kaggle_file(n + NEW_PAPERS)
    snapshot = OUT / f"full-scale-{n}.jsonl"
    daily = OUT / f"full-scale-{n}-daily.jsonl"
    rng = random.Random(8)
    olds = set(rng.sample(range(n), NEW_VERSIONS))
    fresh: list[dict] = []
    versions: list[dict] = []
    write = not (snapshot.exists() and daily.exists())
    with source.open() as src, open(os.devnull if not write else snapshot, "w") as fh:
        for i, line in enumerate(src):
            if i < n:
                if write:
                    fh.write(line)
                if i in olds:
                    record = json.loads(line)
                    record["abstract"] += " We revise the experiments in this version."
                    record["versions"].append(
                        {"version": "v2", "created": "Tue, 01 Dec 2026 10:00:00 GMT"}
                    )
                    record["update_date"] = "2026-12-01"
                    versions.append(record)
            else:
                fresh.append(json.loads(line))
    if write:
        with daily.open("w") as fh:
            for record in fresh + versions:
                fh.write(json.dumps(record) + "\n")
    return snapshot, daily, fresh


def page_views(db: Path, old_ids: list[str]) -> dict:
    """`paperscope serve --workers 2`: first views of old papers' pages, one at a time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PAPERSCOPE_EMBED_WORKER="0")
    cmd = paperscope(
        "serve", "--db", str(db), "--port", str(port), "--workers", "2", "--no-embed-worker",
        "--no-digests", "--log-level", "warning",
    )  # fmt: skip
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, timeout=600, probe="/")
        # both workers warm (their vector index loaded) before the timed views
        for ident in old_ids[:4]:
            urllib.request.urlopen(f"{base}/paper/{ident}", timeout=120).read()
        times = []
        cpu = tree_cpu(server.pid)
        for ident in old_ids[4:]:
            t = time.perf_counter()
            urllib.request.urlopen(f"{base}/paper/{ident}", timeout=120).read()
            times.append(time.perf_counter() - t)
        cpu = tree_cpu(server.pid) - cpu
        rss = tree_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * len(times))],
        "views": len(times),
        "cpu_per_view": cpu / len(times),
        "serve_rss": rss,
    }


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def journey(args: argparse.Namespace) -> list[str]:
    n = args.papers
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    work = OUT / f"full-scale-{n}"
    saved = work / "rows.jsonl"  # every recorded row, so --resume can skip the steps done
    done: dict[tuple[str, str], list] = {}
    if args.resume and saved.exists():
        for line in saved.read_text().splitlines():
            row = json.loads(line)
            done[(row[0], row[1])] = row
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    db = work / "papers.db"
    t = time.perf_counter()
    snapshot, daily, fresh = make_files(n)
    say(
        f"paperscope full-size journey: {n:,} synthetic Kaggle records ({shown(snapshot)}, "
        f"{snapshot.stat().st_size / MiB:.0f} MiB; made/reused in {time.perf_counter() - t:.0f} "
        f"s); {os.cpu_count()} cores, python {platform.python_version()}"
    )
    rows: list[tuple] = []

    def record(kind: str, name: str, res: dict, note: str = "") -> None:
        size = disk(db)
        row = (kind, name, res["wall"], res["cpu"], res["rss"], size, note, load())
        rows.append(row)
        with saved.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(
            f"  {kind:9} {name:22} {res['wall']:8.1f} s wall {res['cpu']:8.1f} s CPU "
            f"{res['rss'] / MiB:7.0f} MiB RSS {size / MiB:8.0f} MiB disk  load {load()}  {note}",
            flush=True,
        )

    def resumed(kind: str, name: str) -> bool:
        """A step an earlier run of --resume recorded: its row is taken as it was."""
        row = done.get((kind, name))
        if row is None:
            return False
        rows.append(tuple(row))
        print(f"  {kind:9} {name:22} (recorded by the run resumed)", flush=True)
        return True

    # the embedding sample reads nothing of the store (a scratch store of its own), so it runs
    # beside the import and the lexical index instead of adding its hour to the bench
    embedding = None
    if not args.embed_measured and not done.get(("ready", "vectors (extrapolated)")):
        embedding = Background(
            own_step("embed-sample", db, "--embed-sample", str(args.embed_sample)), "embed"
        )
    if not resumed("ready", "import"):
        res, _ = run(paperscope("import", str(snapshot), "--db", str(db), "--no-embed", "-q"))
        record("ready", "import", res, f"file {snapshot.stat().st_size / MiB:.0f} MiB")
    if not resumed("ready", "lexical index"):
        res, _ = run(own_step("lexical", db))
        record("ready", "lexical index", res)
    if embedding is not None:
        res, out = embedding.finish()
        sample = json.loads(out.strip().splitlines()[-1])
    else:
        # a sample measured by hand (a run's embedding child stopped early, its papers counted
        # in its scratch store and its CPU read from /proc): papers,wall s,CPU s,peak RSS MiB
        papers, wall, cpu, rss = (float(x) for x in args.embed_measured.split(","))
        sample = {"papers": int(papers), "embed_s": wall, "embed_cpu": cpu}
        sample["rate"] = papers / wall
        sample["how"] = "a sample stopped early, counted by hand"
        res = {"rss": rss * MiB}
    rate = sample["rate"]
    projected = {"wall": n / rate, "cpu": n / rate * sample["embed_cpu"] / sample["embed_s"]}
    record(
        "ready",
        "vectors (extrapolated)",
        {**projected, "rss": res["rss"]},
        f"measured {sample['papers']:,} papers at {rate:.1f} papers/s "
        f"({sample['papers'] / sample['embed_cpu']:.1f} per CPU-second; "
        f"{sample.get('how', 'beside the import')})",
    )
    # the author rebuild reads and writes only author tables: with --side-by-side it runs beside
    # the stand-in vectors and the vector index build (each row keeps its own CPU and RSS; the
    # walls overlap)
    authors_child = None
    if args.side_by_side and not done.get(("ready", "author clusters")):
        authors_child = Background(
            paperscope("authors", "rebuild", "--db", str(db), "--json"), "authors"
        )
    if ("ready", "vector index") not in done:
        res, _ = run(own_step("standin", db))
        say(f"  (setup) stand-in vectors for {n:,} papers: {res['wall']:.0f} s, not a journey step")
    if not resumed("ready", "vector index"):
        res, _ = run(own_step("vectors", db))
        record("ready", "vector index", res)
    if not resumed("ready", "author clusters"):
        if authors_child is not None:
            res, _ = authors_child.finish()
            record("ready", "author clusters", res, "beside the stand-in vectors and vector index")
        else:
            res, _ = run(paperscope("authors", "rebuild", "--db", str(db), "--json"))
            record("ready", "author clusters", res)
    lists_args = ["neighbours", "--db", str(db), "--jobs", "2", "--json", "-q"]
    if args.lists_sample:
        lists_args += ["--newest", str(args.lists_sample)]
    res, out = run(paperscope(*lists_args))
    made = json.loads(out)
    note = f"{made['computed']:,} lists"
    if args.lists_sample and made["computed"] < n:
        scale = n / max(made["computed"], 1)
        res = {"wall": res["wall"] * scale, "cpu": res["cpu"] * scale, "rss": res["rss"]}
        note += f", extrapolated to {n:,}"
    record("ready", "similar lists", res, note)

    # ------------------------------------------------------------ the daily increment
    res, _ = run(paperscope("import", str(daily), "--db", str(db), "--no-embed", "-q"))
    record("increment", "import", res, f"{NEW_PAPERS} new + {NEW_VERSIONS} new versions")
    res, _ = run(own_step("standin", db))
    fake = {"wall": (NEW_PAPERS + NEW_VERSIONS) / rate, "cpu": 0.0, "rss": 0}
    fake["cpu"] = fake["wall"] * sample["embed_cpu"] / sample["embed_s"]
    record("increment", "vectors (extrapolated)", fake, "2,500 papers at the measured rate")
    res, _ = run(own_step("lexical", db))
    record("increment", "lexical index", res)
    res, _ = run(own_step("vectors", db))
    record("increment", "vector index", res)
    probe = f"{fresh[0]['id']}|{fresh[0]['authors'].split(', ')[0]}"
    res, out = run(own_step("authors", db, "--probe", probe))
    authors = json.loads(out.strip().splitlines()[-1])
    record(
        "increment",
        "author clusters",
        res,
        f"catch-up {authors['catch_up_s']:.2f} s, page current {authors['page_current_s']:.2f} s "
        f"(shows the new paper: {authors['page_shows_new_paper']})",
    )
    res, out = run(paperscope("neighbours", "--db", str(db), "--newest", "2000", "--json", "-q"))
    made = json.loads(out)
    f = made["followed"]
    record(
        "increment",
        "similar lists",
        res,
        f"{f['outcome']}: {f['new']} new, {f['changed']} re-embedded, {f['removed']} removed, "
        f"{f['updated']:,} old lists updated; {made['computed']} more computed",
    )
    res, out = run(own_step("agreement", db))
    agree = json.loads(out.strip().splitlines()[-1])

    res, out = run(own_step("pick", db))
    ids = json.loads(out.strip().splitlines()[-1])["ids"]
    views = page_views(db, ids)

    say("")
    say("| phase | step | wall | CPU | peak RSS | disk after | load 1/5 min | note |")
    say("|---|---|---:|---:|---:|---:|---|---|")
    for kind, name, wall, cpu, rss, size, note, ld in rows:
        say(
            f"| {kind} | {name} | {_dur(wall)} | {_dur(cpu)} | {rss / MiB:.0f} MiB | "
            f"{size / MiB:,.0f} MiB | {ld} | {note} |"
        )
    ready = sum(r[2] for r in rows if r[0] == "ready")
    catch = sum(r[2] for r in rows if r[0] == "increment")
    say("")
    say(f"fully ready: {_dur(ready)} (embedding extrapolated); daily increment: {_dur(catch)}")
    say(
        f"after the increment, paper pages of old papers (serve --workers 2, one at a time, "
        f"first view): p50 {views['p50'] * 1000:.1f} ms, p95 {views['p95'] * 1000:.1f} ms over "
        f"{views['views']} papers, {views['cpu_per_view'] * 1000:.1f} ms of server CPU a view; "
        f"serve RSS {views['serve_rss'] / MiB:.0f} MiB (both workers "
        f"and the supervisor)"
    )
    say(
        f"old papers' lists after the increment vs a recompute ({agree['lists']} papers): "
        f"same top 6 {agree['same_top6']:.1%}, same 30 {agree['same_30']:.1%}, top-10 overlap "
        f"{agree['top10_overlap']:.1%}"
    )
    imp = rows[0]
    say(f"import RSS {imp[4] / MiB:.0f} MiB for a {snapshot.stat().st_size / MiB:.0f} MiB file")
    scale = ARXIV_SIZE / n
    say("")
    say(f"projection to {ARXIV_SIZE:,} papers (x{scale:.1f}, linear in papers):")
    for kind, name, wall, cpu, _rss, size, _note, _ in rows:
        if kind == "ready":
            say(
                f"  {name:22} {_dur(wall * scale):>10} wall {_dur(cpu * scale):>10} CPU  "
                f"disk {size * scale / (1 << 30):.1f} GiB"
            )
    cpu_ready = sum(r[3] for r in rows if r[0] == "ready")
    say(f"  {'fully ready':22} {_dur(ready * scale):>10} wall {_dur(cpu_ready * scale):>10} CPU")
    say(
        f"  (wall times carry the machine's load, {load()} now on {os.cpu_count()} cores; CPU "
        "is the figure that travels, and an idle 2-core machine runs most steps in about their "
        "CPU time, the 2-process steps in about half)"
    )
    say(
        "  (the HNSW graph and author blocks grow slightly faster than linearly; the daily "
        "catch-ups follow the increment, not the store)"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return lines


def _dur(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 100:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--embed-sample", type=int, default=20_000)
    parser.add_argument(
        "--lists-sample", type=int, default=0, help="lists of the N newest only (extrapolated)"
    )
    parser.add_argument("--save", action="store_true", help="write docs/bench/full_scale.txt")
    parser.add_argument("--keep", action="store_true", help="keep the store in bench/out")
    parser.add_argument(
        "--resume", action="store_true", help="keep the store; skip the steps already recorded"
    )
    parser.add_argument(
        "--embed-measured", help="PAPERS,WALL_S,CPU_S,RSS_MIB of a sample measured already"
    )
    parser.add_argument(
        "--side-by-side", action="store_true", help="author rebuild beside the vector index"
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines = journey(args)
    lines.append(f"bench wall time {_dur(time.perf_counter() - started)}")
    print(lines[-1])
    if args.save:
        out = ROOT / "docs" / "bench" / "full_scale.txt"
        out.write_text("\n".join(lines) + "\n")
        print(f"saved {shown(out)}")


if __name__ == "__main__":
    main()
