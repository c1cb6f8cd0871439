"""Soak: `paperscope serve --workers 2 --multi-user` under mixed traffic from 50 clients for
30 minutes, on the 100k-paper store of bench/web_load.py; errors, p95 per class, RSS over time.

The store is bench/search_latency.py's (real sentences and vocabulary of the labelled corpus,
STAND-IN vectors; query embedding stays real), built when missing. Accounts are added for the
clients. Each client is a thread with its own keep-alive connection and cookies: it logs in,
then loops over weighted actions with a think time (uniform 0 .. 2 x --think seconds):

    read    a paper page, a feed page or /api/v1/paper (25,000 papers, 120 days)
    search  a hybrid search page or /api/v1/search (6,000 distinct corpus queries)
    save    POST /api/v1/library/papers/{id} {"saved": true, "tag": ...} (CSRF header)
    vote    POST /library/upvote (form with its CSRF token; 303)
    login   log out, GET /login, POST /login (argon2 check; 303), the feed for a fresh token

Any other answer, or a socket error or timeout, is an error. The API rate limit is on, set far
above the traffic (so its buckets, shared through the store, are written by every API call but
never refuse one). RSS is the sum of VmRSS over the serve process tree (supervisor and
workers), sampled every --sample-every seconds; growth is measured from the first sample at
or after --settle minutes to the last. At the end the store is checked against what the clients
did: every paper a client saved or upvoted is there, once.

Usage: python bench/soak.py [--minutes 30] [--clients 50] [--store PATH] > bench/out/soak.txt
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paperscope.store.accounts import Accounts
from paperscope.store.library import Library
from paperscope.store.sqlite import SQLiteStore
from proctree import tree
from search_latency import build
from serving import wait_ready
from synth import ROOT
from web_load import free_port, rss_mib, url_classes

CLASSES = ("read", "search", "save", "vote", "login")
WEIGHTS = (52, 20, 12, 12, 4)
PASSWORD = "soak-password-1"
#: Far above what 50 clients ask (about 50 requests/s): on, but never refusing.
RATE_LIMIT = 1_000_000
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def email_of(i: int) -> str:
    return f"soak{i:03d}@example.org"


def add_users(db: Path, count: int) -> None:
    """Fresh accounts for the clients: an earlier run's (and their saves and votes) go first,
    so the store can be checked against what this run's clients did."""
    with SQLiteStore(db) as store:
        accounts = Accounts(store)
        for i in range(count):
            if (old := accounts.find(email_of(i))) is not None:
                accounts.delete(old.id)
            accounts.add(email_of(i), PASSWORD)


# ------------------------------------------------------------------------------ clients


@dataclass
class Tally:
    """Latencies (s) and errors per class, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    window: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def add(self, cls: str, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.times[cls].append(seconds)
            self.window[cls].append(seconds)
            if problem:
                self.errors[cls] += 1
                if len(self.examples) < 20:
                    self.examples.append(f"{cls}: {problem}")

    def take_window(self) -> dict[str, list[float]]:
        with self.lock:
            window, self.window = self.window, defaultdict(list)
        return window


class Client(threading.Thread):
    def __init__(self, n: int, base: str, urls: dict, tally: Tally, args, stop) -> None:
        super().__init__(daemon=True)
        self.n, self.urls, self.tally, self.args, self.stop = n, urls, tally, args, stop
        self.rng = random.Random(1000 + n)
        self.http = httpx.Client(base_url=base, timeout=60.0, follow_redirects=False)
        self.token = ""
        self.saved: set[str] = set()
        self.voted: set[str] = set()

    def request(self, cls: str, method: str, path: str, ok: tuple[int, ...], **kw):
        t = time.perf_counter()
        problem, response = None, None
        try:
            response = self.http.request(method, path, **kw)
            if response.status_code not in ok:
                problem = f"{method} {path}: HTTP {response.status_code}"
            elif response.headers.get("content-type", "").startswith("text/html"):
                found = _TOKEN.search(response.text)
                self.token = found.group(1) if found else self.token
        except httpx.HTTPError as exc:
            problem = f"{method} {path}: {type(exc).__name__}: {exc}"
        self.tally.add(cls, time.perf_counter() - t, problem)
        return response if problem is None else None

    def log_in(self) -> None:
        if self.token:
            self.request("login", "POST", "/logout", (303,), data={"csrf_token": self.token})
        self.request("login", "GET", "/login", (200,))
        form = {"email": email_of(self.n), "password": PASSWORD, "next": "/"}
        self.request("login", "POST", "/login", (303,), data={**form, "csrf_token": self.token})
        # the log-in renewed the CSRF seed: the next page carries the new token
        self.request("read", "GET", self.rng.choice(self.urls["feed"]), (200,))

    def paper_id(self) -> str:
        return self.rng.choice(self.urls["ids"])

    def act(self, cls: str) -> None:
        rng, urls = self.rng, self.urls
        if cls == "read":
            kind = rng.choice(("paper", "paper", "feed", "api-paper"))
            self.request("read", "GET", rng.choice(urls[kind]), (200,))
        elif cls == "search":
            kind = rng.choice(("search", "api-search"))
            self.request("search", "GET", rng.choice(urls[kind]), (200,))
        elif cls == "save":
            ident = self.paper_id()
            body = {"saved": True, "tag": f"soak-{rng.randint(1, 5)}"}
            headers = {"X-CSRF-Token": self.token}
            path = f"/api/v1/library/papers/{ident}"
            if self.request("save", "POST", path, (200,), json=body, headers=headers):
                self.saved.add(ident)
        elif cls == "vote":
            ident = self.paper_id()
            form = {"paper": ident, "on": "1", "next": "/", "csrf_token": self.token}
            if self.request("vote", "POST", "/library/upvote", (303,), data=form):
                self.voted.add(ident)
        else:
            self.log_in()

    def run(self) -> None:
        # clients arrive spread over the ramp, not all logging in at the same instant
        if self.stop.wait(self.n * self.args.ramp / self.args.clients):
            return
        self.log_in()
        while not self.stop.is_set():
            self.act(self.rng.choices(CLASSES, weights=WEIGHTS)[0])
            self.stop.wait(self.rng.uniform(0, 2 * self.args.think))
        self.http.close()


# ------------------------------------------------------------------------------ server


def start_server(db: Path, port: int, workers: int) -> subprocess.Popen:
    cmd = [
        "paperscope",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--workers",
        str(workers),
        "--multi-user",
        "--no-embed-worker",
        "--api-rate-limit",
        str(RATE_LIMIT),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def rss_by_process(pid: int) -> list[float]:
    return [rss_mib([p]) for p in sorted(tree(pid))]


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# ------------------------------------------------------------------------------ run


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def check_store(db: Path, clients: list[Client]) -> tuple[int, int, list[str]]:
    """What the clients saved and upvoted, against the store: (saved, upvoted, problems)."""
    problems, saved, voted = [], 0, 0
    with SQLiteStore(db) as store:
        accounts, library = Accounts(store), Library(store)
        for client in clients:
            user = accounts.by_email(email_of(client.n))
            have = library.saved_rowids(user.id)
            want = {store.resolve(i) for i in client.saved}
            if len(have) != len(set(have)) or set(have) != want:
                problems.append(f"{email_of(client.n)}: saved {len(have)}, expected {len(want)}")
            votes = store.conn.execute(
                "SELECT count(*), count(DISTINCT paper_rowid) FROM upvotes WHERE user_id = ?",
                (user.id,),
            ).fetchone()
            if votes[0] != votes[1] or votes[0] != len(client.voted):
                problems.append(f"{email_of(client.n)}: {votes[0]} upvotes, {len(client.voted)}")
            saved, voted = saved + len(want), voted + len(client.voted)
    return saved, voted, problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--think", type=float, default=2.0, help="Mean think time per client (s)")
    ap.add_argument("--ramp", type=float, default=60.0, help="Seconds over which clients start")
    ap.add_argument("--sample-every", type=float, default=30.0, help="RSS sampling period (s)")
    ap.add_argument("--settle", type=float, default=5.0, help="Minutes before RSS is compared")
    ap.add_argument("--report-every", type=float, default=5.0, help="Minutes between progress")
    ap.add_argument("--store", type=Path, help="Reuse this store (default: build 100k papers)")
    ap.add_argument("--papers", type=int, default=100_000)
    args = ap.parse_args()

    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.machine()} · {os.cpu_count()} cores"
        f" · Python {platform.python_version()}",
        flush=True,
    )
    db = args.store or build(args.papers)[0]
    add_users(db, args.clients)
    with SQLiteStore(db) as store:
        count = store.count()
    urls = url_classes(db)
    urls["ids"] = [u.rsplit("/", 1)[1] for u in urls["api-paper"]]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(db, port, args.workers)
    wait_ready(base, server)
    print(
        f"store: {relative(db)} ({count:,} papers, stand-in vectors); serve --workers "
        f"{args.workers} --multi-user --api-rate-limit {RATE_LIMIT:,}; {args.clients} clients, "
        f"think 0..{2 * args.think:.1f} s, {args.minutes:g} minutes; weights "
        + ", ".join(f"{c} {w}" for c, w in zip(CLASSES, WEIGHTS, strict=True)),
        flush=True,
    )
    tally, stop = Tally(), threading.Event()
    clients = [Client(i, base, urls, tally, args, stop) for i in range(args.clients)]
    samples: list[tuple[float, float, list[float]]] = []
    start = time.monotonic()
    for client in clients:
        client.start()
    end = start + args.minutes * 60
    next_report = start + args.report_every * 60
    try:
        while (now := time.monotonic()) < end:
            per_process = rss_by_process(server.pid)
            samples.append(((now - start) / 60, sum(per_process), per_process))
            print(
                f"  {samples[-1][0]:5.1f} min  RSS {samples[-1][1]:7.1f} MiB  ("
                + " + ".join(f"{m:.0f}" for m in per_process)
                + ")",
                flush=True,
            )
            if now >= next_report:
                next_report += args.report_every * 60
                window = tally.take_window()
                print(
                    "  window: "
                    + ", ".join(
                        f"{c} {len(window[c])} p95 {p(window[c], 0.95):.0f} ms" for c in CLASSES
                    )
                    + f"; errors so far {sum(tally.errors.values())}",
                    flush=True,
                )
            time.sleep(max(0.0, min(args.sample_every, end - time.monotonic())))
        per_process = rss_by_process(server.pid)
        samples.append(((time.monotonic() - start) / 60, sum(per_process), per_process))
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=120)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    report(args, tally, samples, time.monotonic() - start)
    saved, voted, problems = check_store(db, clients)
    print(
        f"\nstore after the run: {saved:,} saved papers and {voted:,} upvotes the clients were "
        f"told of, all present once: {'yes' if not problems else 'NO'}"
    )
    for problem in problems[:20]:
        print(f"  {problem}")


def report(args, tally: Tally, samples, seconds: float) -> None:
    total = sum(len(v) for v in tally.times.values())
    print(f"\n{total:,} requests in {seconds / 60:.1f} minutes ({total / seconds:.1f}/s)")
    print(f"{'class':<8}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for cls in CLASSES:
        times = tally.times[cls]
        print(
            f"{cls:<8}{len(times):>10}{tally.errors[cls]:>8}{p(times, 0.5):>9.1f}"
            f"{p(times, 0.95):>9.1f}{p(times, 0.99):>9.1f}"
        )
    errors = sum(tally.errors.values())
    print(f"errors: {errors}")
    for example in tally.examples:
        print(f"  {example}")
    settled = [s for s in samples if s[0] >= args.settle]
    if len(settled) >= 2:
        first, last = settled[0][1], settled[-1][1]
        growth = (last - first) / first * 100
        peak = max(s[1] for s in settled)
        print(
            f"RSS (serve tree): {first:.0f} MiB at {settled[0][0]:.1f} min, {last:.0f} MiB at "
            f"{settled[-1][0]:.1f} min, peak {peak:.0f} MiB; growth after {args.settle:g} "
            f"minutes {growth:+.1f}% (< 10%: {'met' if growth < 10 else 'MISSED'}); median "
            f"{statistics.median(s[1] for s in settled):.0f} MiB"
        )
        if len(settled) >= 10:
            # one sample can catch a worker mid log-in (argon2 takes 64 MiB for a moment)
            head = statistics.median(s[1] for s in settled[:5])
            tail = statistics.median(s[1] for s in settled[-5:])
            print(
                f"RSS medians of the first and last five samples after {args.settle:g} minutes: "
                f"{head:.0f} -> {tail:.0f} MiB ({(tail - head) / head * 100:+.1f}%)"
            )
    else:
        print(f"RSS: fewer than two samples after {args.settle:g} minutes: no growth figure")


if __name__ == "__main__":
    main()
