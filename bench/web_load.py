"""Web load: `paperscope serve` (2 workers) under 50 concurrent clients, per URL class.

Builds (or reuses) a store of 100k synthetic papers the way bench/search_latency.py does: real
sentences and vocabulary of the labelled corpus (bench/synth.py), and STAND-IN vectors (the
normalised mean of fixed random word vectors): embedding 100k abstracts would take hours on
this machine. Query embedding stays real: hybrid search pages run the bundled MiniLM model.

Runs `paperscope neighbours --jobs 2` (the similar-paper lists, as an install does after an
import; a no-op when the store already has them), then forgets the lists of the "paper-cold"
sample, a second set of 25,000 papers: their pages are first views after an import and find
their similar papers while the client waits.

Then starts `paperscope serve --workers 2 --no-embed-worker --api-rate-limit 0` on 127.0.0.1
and runs Debian's `wrk` once per URL class (paper pages with and without remembered similar
papers, feed pages, hybrid search pages, and
the matching /api/v1 routes), each class a list of distinct URLs (25,000 papers, 3,000
corpus queries per search class, every feed day/week of the last 120 days) walked in order by
a Lua script whose threads start evenly spread over the list, so no paper or query is asked
twice while the list lasts: the servers' per-process caches (query embeddings, similar papers)
are not what is measured. The script's `done` hook prints latency percentiles and counts
non-2xx answers. The service-time pass walks the lists backwards (URLs the load pass did not
reach). Per class:
req/s, p50/p95/p99, errors (non-2xx + socket errors; must be 0). Peak RSS is the sum of VmRSS
over the server's process tree, sampled from /proc every 0.2 s while wrk runs.

Usage: flock /tmp/paperscope-bench.lock python bench/web_load.py [--store PATH]
           [--duration 60] [--connections 50] [--classes paper feed search ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.rank.search import SearchEngine
from paperscope.store.browse import Browse
from paperscope.store.sqlite import SQLiteStore
from proctree import tree
from search_latency import build, queries
from serving import wait_ready

#: p95 targets (ms) of the issue: pages of papers and feeds, hybrid search pages.
TARGETS = {"paper": 150.0, "paper-cold": 150.0, "feed": 150.0, "search": 300.0}
#: Distinct papers the paper classes walk: more than the target rate (~330 req/s) answers in
#: a 60 s run, so per-process caches of a paper's page parts are measured cold, not re-read.
PAPER_URLS = 25_000
#: Distinct corpus queries per search class (pages and API get disjoint sets): more than a run
#: answers, so the query-embedding cache cannot turn the benchmark into a cache benchmark.
SEARCH_URLS = 3_000

LUA = r"""
-- Walks a file of paths round-robin (each thread from its own offset); counts non-2xx.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  -- threads start evenly spread over the list and walk it in step: no URL is asked twice
  -- while the list lasts (a repeat would measure the servers' caches, not their work)
  index = math.floor(id * #paths / tonumber(args[2]))
  bad = 0
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end

function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do non2xx = non2xx + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "non2xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, non2xx, e.connect, e.read, e.write,
    e.timeout))
end
"""


# ------------------------------------------------------------------------------ URLs


def paper_samples(db: Path, seed: int = 11) -> tuple[list[int], list[int]]:
    """Two disjoint samples of rowids: the "paper" class and the "paper-cold" class."""
    rng = random.Random(seed)
    with SQLiteStore(db) as store:
        total = store.count()
    rowids = rng.sample(range(1, total + 1), min(2 * PAPER_URLS, total))
    return rowids[:PAPER_URLS], rowids[PAPER_URLS:]


def url_classes(db: Path, seed: int = 11) -> dict[str, list[str]]:
    """Varied paths per class, drawn from the store and the corpus's words."""
    rng = random.Random(seed)
    warm, cold = paper_samples(db, seed)
    with SQLiteStore(db) as store:
        loaded = store.load_rowids(warm + cold)
        ids = [loaded[r].id for r in warm if r in loaded]
        cold_ids = [loaded[r].id for r in cold if r in loaded]
        browse = Browse(store)
        latest = date.fromisoformat(browse.latest_day())
    days = [(latest - timedelta(days=d)).isoformat() for d in range(0, 120)]
    weeks = sorted(
        {f"{y}-W{w:02d}" for y, w, _ in (date.fromisoformat(d).isocalendar() for d in days)}
    )
    # distinct queries only; the pages and the API get disjoint halves
    texts = list(dict.fromkeys(queries(10 * SEARCH_URLS)))[: 2 * SEARCH_URLS]
    if len(texts) < 2 * SEARCH_URLS:
        raise SystemExit(f"only {len(texts)} distinct queries; need {2 * SEARCH_URLS}")
    feed = [f"/?date={d}" for d in days] + [f"/week/{w}" for w in weeks]
    feed += [f"/?date={d}&sort=newest" for d in days[:40]]
    rng.shuffle(feed)
    api_feed = [f"/api/v1/feed?date={d}" for d in days]
    return {
        "paper": [f"/paper/{quote(i, safe='')}" for i in ids],
        "paper-cold": [f"/paper/{quote(i, safe='')}" for i in cold_ids],
        "feed": feed,
        "search": ["/search?" + urlencode({"q": t}) for t in texts[0::2]],
        "api-paper": [f"/api/v1/paper/{quote(i, safe='')}" for i in ids],
        "api-feed": api_feed,
        "api-search": ["/api/v1/search?" + urlencode({"q": t}) for t in texts[1::2]],
    }


def prepare_neighbours(db: Path) -> None:
    """Similar-paper lists as after `paperscope neighbours` (run here, timed), except for the
    "paper-cold" sample, whose lists are forgotten: those pages are first views after an
    import, and find their similar papers while the client waits."""
    t = time.perf_counter()
    cmd = [shutil.which("paperscope") or "paperscope", "neighbours", "--db", str(db)]
    out = subprocess.run([*cmd, "--jobs", "2", "--json"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"paperscope neighbours failed: {out.stderr[-2000:]}")
    data = json.loads(out.stdout)
    _, cold = paper_samples(db)
    with SearchEngine.open(db) as engine:
        key = engine.neighbour_state()
        cache = engine.neighbours
        forget = [r for r in cold if cache.get(r, key) is not None]
        cache.forget(forget)
        left = cache.count(key)
    print(
        f"neighbours: `paperscope neighbours --jobs 2` computed {data['computed']:,} lists in "
        f"{data['seconds']:.0f} s ({data['remembered']:,} remembered); forgot the "
        f"{len(forget):,} of the paper-cold sample, {left:,} left; {time.perf_counter() - t:.0f} s"
    )


# ------------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: Path, port: int, workers: int) -> subprocess.Popen:
    cmd = [
        shutil.which("paperscope") or "paperscope",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--workers",
        str(workers),
        "--no-embed-worker",
        "--api-rate-limit",
        "0",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(tree(self.pid)))
            self.stop.wait(0.2)


# ------------------------------------------------------------------------------ runs


def check_urls(base: str, paths: list[str]) -> str | None:
    """None if the class's first URLs answer 2xx, else why not (pages not written yet ...)."""
    for path in paths[:3]:
        try:
            with urllib.request.urlopen(base + path, timeout=120) as response:
                if not 200 <= response.status < 300:
                    return f"{path}: HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"{path}: HTTP {exc.code}"
    return None


def run_wrk(
    base: str, paths: list[str], args, workdir: Path, name: str, connections: int, duration: int
) -> dict:
    listing = workdir / f"{name}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = workdir / "mix.lua"
    script.write_text(LUA)
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
        "--",
        str(listing),
        str(args.threads),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(row for row in out.splitlines() if row.startswith("WRKJSON "))
    result = json.loads(line[len("WRKJSON ") :])
    # wrk's own words on failures, kept for the record
    result["wrk_notes"] = [
        row.strip() for row in out.splitlines() if "errors" in row or "Non-2xx" in row
    ]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="Reuse this store (default: build 100k papers)")
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=60, help="Seconds per URL class")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2, help="serve worker processes")
    ap.add_argument(
        "--classes",
        nargs="+",
        default=["paper", "paper-cold", "feed", "search", "api-paper", "api-feed", "api-search"],
    )
    ap.add_argument(
        "--service-connections",
        type=int,
        default=2,
        help="Connections of the second, unqueued pass (service time)",
    )
    ap.add_argument(
        "--service-duration", type=int, default=15, help="Seconds per class of that pass; 0 = skip"
    )
    args = ap.parse_args()

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    print(
        f"{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {wrk_version.splitlines()[0]}"
    )
    t = time.perf_counter()
    if args.store:
        db = args.store
    else:
        db, timings = build(args.papers)
        for step, seconds in timings.items():
            print(f"build: {step}: {seconds:.0f} s")
    with SQLiteStore(db) as store:
        count = store.count()
    print(
        f"store: {db} ({count:,} papers; stand-in vectors as in bench/search_latency.py, "
        f"real query embedding); ready in {time.perf_counter() - t:.0f} s"
    )
    prepare_neighbours(db)
    classes = url_classes(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(db, port, args.workers)
    sampler = RssSampler(server.pid)
    rows: list[tuple[str, dict]] = []
    service: list[tuple[str, dict]] = []
    try:
        t = time.perf_counter()
        wait_ready(base, server)
        # every worker loads its indexes and model on first use: warm both up before timing
        for cls in args.classes:
            for path in classes[cls][:20]:
                with urllib.request.urlopen(base + path, timeout=120):
                    pass
        print(f"serve: {args.workers} workers on {base}, warm in {time.perf_counter() - t:.0f} s")
        distinct = ", ".join(f"{cls} {len(set(classes[cls]))}" for cls in args.classes)
        print(
            f"wrk: {args.connections} connections, {args.threads} threads, {args.duration} s "
            f"per class; distinct URLs walked in order, threads spread over the list: "
            f"{distinct}\n"
        )
        sampler.start()
        with tempfile.TemporaryDirectory() as tmp:
            for cls in args.classes:
                problem = check_urls(base, classes[cls])
                if problem:
                    print(f"{cls}: skipped ({problem})")
                    continue
                result = run_wrk(
                    base, classes[cls], args, Path(tmp), cls, args.connections, args.duration
                )
                rows.append((cls, result))
                if args.service_duration:
                    alone = run_wrk(
                        base,
                        classes[cls][::-1],
                        args,
                        Path(tmp),
                        cls,
                        args.service_connections,
                        args.service_duration,
                    )
                    service.append((cls, alone))
                errors = sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
                print(
                    f"{cls:<11} {result['requests'] / (result['duration_us'] / 1e6):>8.1f} req/s  "
                    f"p50 {result['p50_us'] / 1000:>7.1f}  p95 {result['p95_us'] / 1000:>7.1f}  "
                    f"p99 {result['p99_us'] / 1000:>7.1f} ms  errors {errors}",
                    flush=True,
                )
                for note in result["wrk_notes"]:
                    print(f"{'':<11} wrk: {note}")
    finally:
        sampler.stop.set()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"\nunder load: {args.connections} connections, {args.duration} s per class")
    report(rows)
    if service:
        print(
            f"\nservice time: {args.service_connections} connections (one request per worker "
            f"at a time, no queue), {args.service_duration} s per class"
        )
        report(service)
    print(f"\nserver peak RSS (sum over the serve process tree): {sampler.peak:.0f} MiB")


def report(rows: list[tuple[str, dict]]) -> None:
    print(
        f"{'class':<11}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'requests':>10}{'errors':>8}  target p95"
    )
    for cls, r in rows:
        errors = sum(r[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        target = TARGETS.get(cls)
        verdict = ""
        if not r["requests"] or errors:
            verdict = f"{errors} errors, {r['requests']} answers: FAILED"
        elif target:
            verdict = f"< {target:.0f} ms: {'met' if r['p95_us'] / 1000 < target else 'MISSED'}"
        print(
            f"{cls:<11}{r['requests'] / (r['duration_us'] / 1e6):>9.1f}{r['p50_us'] / 1000:>9.1f}"
            f"{r['p95_us'] / 1000:>9.1f}{r['p99_us'] / 1000:>9.1f}{r['max_us'] / 1000:>9.1f}"
            f"{r['requests']:>10}{errors:>8}  {verdict}"
        )


if __name__ == "__main__":
    main()
