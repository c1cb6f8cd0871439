"""Two `paperscope serve` nodes on one PostgreSQL, each with its own index folder (issue 12).

The nodes are real processes on 127.0.0.1 with their embedding workers on, serving a copy of
the sample store in the session's PostgreSQL; every check goes over HTTP, as a reader behind
a load balancer would send it to either node. The last test SIGKILLs one node.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# after the tests folder: bench/ has modules named like tests/ ones (backends)
sys.path.append(str(Path(__file__).resolve().parent.parent / "bench"))

from backends import wanted
from conftest import FORMATS, XSS_ID
from mailtools import free_port
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from paperscope.store.jobs import holders
from servetools import wait_until_serving
from synth import corpus_snapshot

pytestmark = pytest.mark.skipif(
    "postgres" not in wanted(), reason="PAPERSCOPE_TEST_BACKENDS leaves PostgreSQL out"
)

#: API requests per client per minute each node is started with.
RATE = 20
EMAIL, PASSWORD = "ada@example.org", "correct horse battery"
#: A paper the sample store does not hold (a Hugging Face paper page's JSON).
NEW_PAPER = FORMATS / "huggingface-papers" / "paper-2608.09888-detail.json"
NEW_ID = "2608.09888"
#: Papers imported without vectors for the takeover test: more than one embedding round
#: (workers.EMBED_ROUND, 32), so the holder can be killed between two commits.
TAKEOVER_PAPERS = 48
START_TIMEOUT = 180.0


@dataclass
class Node:
    name: str
    base: str
    proc: subprocess.Popen
    index: Path
    log: Path

    def url(self, path: str) -> str:
        return self.base + path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _start(name: str, url: str, index: Path, folder: Path) -> Node:
    port = free_port()
    log = folder / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if k != "PAPERSCOPE_INDEX_DIR"}
    cmd = [sys.executable, "-m", "paperscope", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--db", url, "--index-dir", str(index), "--multi-user"]
    cmd += ["--api-rate-limit", str(RATE), "--log-level", "warning"]
    # stderr to a file: a pipe nobody reads would block a node that logs a lot
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return Node(name, f"http://127.0.0.1:{port}", proc, index, log)


def _stop(node: Node) -> None:
    if node.proc.poll() is None:
        node.proc.terminate()
        try:
            node.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()


@dataclass
class Cluster:
    url: str
    a: Node
    b: Node


@pytest.fixture(scope="module")
def cluster(pg_server, pristine_pg, tmp_path_factory) -> Iterator[Cluster]:
    name, pristine_index = pristine_pg
    url = pg_server.fresh(template=name)
    folder = tmp_path_factory.mktemp("nodes")
    with open_store(url) as store:
        Accounts(store).add(EMAIL, PASSWORD)
    nodes = []
    try:
        for node_name in ("a", "b"):
            index = folder / f"index-{node_name}"
            shutil.copytree(pristine_index, index)
            nodes.append(_start(node_name, url, index, folder))
        for node in nodes:
            wait_until_serving(node.base, node.proc, START_TIMEOUT, log=node.log_tail)
        yield Cluster(url, *nodes)
    finally:
        for node in nodes:
            _stop(node)
        pg_server.drop(url)


def _run_cli(*args: str, index: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAPERSCOPE_INDEX_DIR": str(index)}
    return subprocess.run(
        [sys.executable, "-m", "paperscope", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _log_in(node: Node) -> dict[str, str]:
    """Log in on `node` like a browser; the cookies it got (session and CSRF seed)."""
    with httpx.Client(timeout=60) as browser:
        form = browser.get(node.url("/login"))
        assert form.status_code == 200
        answer = browser.post(
            node.url("/login"),
            data={
                "email": EMAIL,
                "password": PASSWORD,
                "next": "/",
                "csrf_token": _csrf(form.text),
            },
        )
        assert answer.status_code == 303, answer.text[:500]
        cookies = dict(browser.cookies)
    assert "ps_session" in cookies
    return cookies


def _search_finds(node: Node, query: str, ident: str) -> bool:
    page = httpx.get(node.url("/search"), params={"q": query, "mode": "lexical"}, timeout=60)
    assert page.status_code == 200
    return f"/paper/{ident}" in page.text


def test_a_paper_imported_through_one_node_is_found_on_the_other_within_10_s(cluster):
    query = 'ti:"recurrent latent reasoning"'
    assert not _search_finds(cluster.a, query, NEW_ID)
    assert not _search_finds(cluster.b, query, NEW_ID)
    # imported through node A: the command writes the store and node A's index folder
    done = _run_cli("import", str(NEW_PAPER), "--db", cluster.url, "--no-embed", "--json",
                    index=cluster.a.index)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["added"] == 1
    imported = time.monotonic()
    while not _search_finds(cluster.b, query, NEW_ID):
        assert time.monotonic() - imported < 10, "node B did not find the paper within 10 s"
        time.sleep(0.2)
    print(f"node B found the paper {time.monotonic() - imported:.1f} s after the import")
    assert _search_finds(cluster.a, query, NEW_ID)
    # B's own index folder caught up from the store (not A's folder)
    assert (cluster.b.index / "lexical").is_dir()


def test_a_session_and_a_csrf_token_from_one_node_work_on_the_other(cluster):
    cookies = _log_in(cluster.a)
    with httpx.Client(timeout=60, cookies=cookies) as on_b:
        account = on_b.get(cluster.b.url("/account"))
        assert account.status_code == 200 and EMAIL in account.text
    with httpx.Client(timeout=60) as stranger:
        assert stranger.get(cluster.b.url("/account")).status_code in (303, 401)
    # a token A put in its page, posted to B with the same cookies
    with httpx.Client(timeout=60, cookies=cookies) as on_a:
        token = _csrf(on_a.get(cluster.a.url("/library")).text)
    form = {"paper": XSS_ID, "note": "read on node B", "next": "/library", "csrf_token": token}
    with httpx.Client(timeout=60, cookies=cookies) as on_b:
        assert on_b.post(cluster.b.url("/library/note"), data=form).status_code == 303
        forged = {**form, "csrf_token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")}
        assert on_b.post(cluster.b.url("/library/note"), data=forged).status_code == 403
        state = on_b.get(cluster.b.url(f"/api/v1/library/papers/{XSS_ID}")).json()
    assert state["note"] == "read on node B"
    # logged out on B: the session ends in the store, so A no longer takes the old cookie
    with httpx.Client(timeout=60, cookies=cookies) as on_b:
        out = on_b.post(cluster.b.url("/logout"), data={"csrf_token": token})
        assert out.status_code == 303
    with httpx.Client(timeout=60, cookies=cookies) as replay:
        assert replay.get(cluster.a.url("/account")).status_code in (303, 401)


def test_a_save_a_vote_and_a_rating_on_one_node_show_on_the_other_at_once(cluster):
    cookies = _log_in(cluster.a)
    with (
        httpx.Client(timeout=60, cookies=cookies) as on_a,
        httpx.Client(timeout=60, cookies=cookies) as on_b,
    ):
        token = _csrf(on_a.get(cluster.a.url("/library")).text)
        before = on_b.get(cluster.b.url(f"/api/v1/library/papers/{XSS_ID}")).json()
        assert not before["saved"] and not before["upvoted"] and before["rating"] in (0, None)
        for path, fields in (
            ("/library/save", {"tag": "nodes"}),
            ("/library/upvote", {"on": "1"}),
            ("/library/rate", {"rating": "1"}),
        ):
            data = {"paper": XSS_ID, "next": "/library", "csrf_token": token, **fields}
            assert on_a.post(cluster.a.url(path), data=data).status_code == 303, path
        # the very next request, on the other node
        state = on_b.get(cluster.b.url(f"/api/v1/library/papers/{XSS_ID}")).json()
        assert state["saved"] and state["upvoted"] and state["rating"] == 1
        assert state["upvotes"] == 1
        assert state["tags"] == ["nodes"]
        library = on_b.get(cluster.b.url("/library"))
        assert f"/paper/{XSS_ID}" in library.text
        # and back: unsaved on B, gone on A
        data = {"paper": XSS_ID, "next": "/library", "csrf_token": token}
        assert on_b.post(cluster.b.url("/library/unsave"), data=data).status_code == 303
        assert not on_a.get(cluster.a.url(f"/api/v1/library/papers/{XSS_ID}")).json()["saved"]


def _reset_rate_buckets(url: str) -> None:
    with open_store(url) as store:
        store.conn.execute("DELETE FROM rate_buckets")


def test_the_api_rate_limit_counts_across_both_nodes(cluster):
    _reset_rate_buckets(cluster.url)
    try:
        allowed, answers = 0, []
        start = time.monotonic()
        with httpx.Client(timeout=60) as client:
            for n in range(3 * RATE):
                node = (cluster.a, cluster.b)[n % 2]
                answer = client.get(node.url(f"/api/v1/paper/{XSS_ID}"))
                answers.append((node.name, answer.status_code))
                if answer.status_code == 429:
                    assert int(answer.headers["retry-after"]) >= 1
                    break
                assert answer.status_code == 200
                allowed += 1
        elapsed = time.monotonic() - start
        assert answers[-1][1] == 429, "never limited"
        # a full bucket is RATE requests; tokens come back at RATE per minute meanwhile.
        # Counted per node it would be 2 * RATE.
        assert RATE <= allowed <= RATE + int(elapsed * RATE / 60) + 1, (allowed, elapsed)
        assert {name for name, _ in answers[:-1]} == {"a", "b"}
    finally:
        _reset_rate_buckets(cluster.url)


def _embed_holder(url: str):
    with open_store(url) as store:
        found = [h for h in holders(store) if h.name == "embed-worker"]
    return found[0] if found else None


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_background_jobs_run_on_one_node_and_move_when_it_is_killed(cluster, tmp_path):
    """Runs last: it kills a node."""
    nodes = {cluster.a.proc.pid: cluster.a, cluster.b.proc.pid: cluster.b}
    holder = _wait(lambda: (h := _embed_holder(cluster.url)) and h.held and h, 120, "a holder")
    assert holder.pid in nodes and holder.host == socket.gethostname()
    with open_store(cluster.url) as store:
        # one lock for the whole cluster: one session holds it
        assert store.job_lease_held("embed-worker")
        assert store.job_lease("embed-worker") is None
    running, survivor = nodes[holder.pid], next(n for p, n in nodes.items() if p != holder.pid)
    # the holder embeds what earlier tests imported; then papers without vectors arrive
    _wait(lambda: not _missing(cluster.url), 300, "the holder to embed the earlier imports")
    with open_store(cluster.url) as store:
        embedded_before, papers_before = store.count_embedded(), store.count()
    snapshot = tmp_path / "snapshot.jsonl"
    titles = corpus_snapshot(snapshot, TAKEOVER_PAPERS, month=2)
    done = _run_cli("import", str(snapshot), "--db", cluster.url, "--no-embed",
                    index=tmp_path / "index-cli")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_store(cluster.url) as store:
        assert store.count() == papers_before + TAKEOVER_PAPERS
        assert store.count_embedded() == embedded_before

    def progress() -> int:
        with open_store(cluster.url) as store:
            return store.count_embedded() - embedded_before

    # killed mid-job: after its first round committed, before the last
    _wait(lambda: progress() > 0, 300, "the holder's first embedding round")
    running.proc.send_signal(signal.SIGKILL)
    running.proc.wait(30)
    killed = time.monotonic()
    at_kill = progress()
    # the survivor takes the lease on its next try and embeds what is left
    taken = _wait(
        lambda: (h := _embed_holder(cluster.url)) and h.held and h.pid == survivor.proc.pid and h,
        120,
        "the surviving node to take the embedding lease",
    )
    assert taken.holder.endswith(f":{survivor.proc.pid}")
    took_over = time.monotonic() - killed
    _wait(lambda: not _missing(cluster.url), 600, "the survivor to embed the rest")
    finished = time.monotonic() - killed
    assert progress() == TAKEOVER_PAPERS
    # the survivor's vector index catches up with the vectors it wrote: found by meaning
    last = f"2302.{TAKEOVER_PAPERS:05d}"
    query = titles[-1]

    def by_meaning() -> bool:
        page = httpx.get(survivor.url("/search"), params={"q": query, "mode": "semantic"},
                         timeout=60)  # fmt: skip
        return page.status_code == 200 and f"/paper/{last}" in page.text

    _wait(by_meaning, 60, "the survivor to find its newly embedded paper by meaning")
    assert survivor.proc.poll() is None
    print(
        f"embedded {at_kill} of {TAKEOVER_PAPERS} before the kill; the survivor took the lease "
        f"{took_over:.1f} s after it and had embedded the rest {finished:.1f} s after it"
    )


def _missing(url: str) -> list[int]:
    """Papers without a vector of the default model."""
    from paperscope.index.embedder import default_embedder

    with open_store(url) as store:
        return store.rowids_without_vectors(default_embedder().version)


def test_a_node_whose_database_stopped_answers_503_and_recovers(tmp_path, monkeypatch):
    """PostgreSQL stopped under a running node: each request waited 30 s for the pool, then
    answered 500 "internal error" and logged a traceback. Now it says the store is
    unreachable (503, the message and a hint) and serves again once the server is back."""
    from backends import PgServer
    from paperscope.store import pg
    from webtools import client_for

    monkeypatch.setattr(pg, "POOL_WAIT", 3.0)  # seconds a request waits for a connection
    # a server of its own, since this test stops it; a short path for its socket
    folder = Path(tempfile.mkdtemp(prefix="paperscope-test-pg-"))
    server = PgServer(folder)
    try:
        with server.admin() as conn:
            conn.execute("CREATE DATABASE node")
        url = server.uri.replace("/postgres?", "/node?")
        monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "ix"))
        with open_store(url) as store:
            Accounts(store).local_user()
        with client_for(url) as client:
            assert client.get("/api/v1/search", params={"q": "energy"}).status_code == 200
            server.server.cleanup()  # stops PostgreSQL
            for _ in range(2):  # the pooled connection that broke, then a pool without any
                started = time.monotonic()
                answer = client.get("/api/v1/search", params={"q": "energy"})
                assert answer.status_code == 503, answer.text
                error = answer.json()["error"]
                assert "cannot reach the paper store" in error["message"]
                assert "is PostgreSQL running" in error["hint"]
                assert time.monotonic() - started < 20
            server = PgServer(folder)  # the same data folder, started again
            deadline = time.monotonic() + 60
            while client.get("/api/v1/search", params={"q": "energy"}).status_code != 200:
                assert time.monotonic() < deadline, "the node did not recover"
                time.sleep(0.5)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_lease_asked_as_the_server_goes_away_is_an_outage_not_a_bug(pg_server):
    """The server can stop between a job's connecting for its lease and its asking for it.
    That raised psycopg's OperationalError, which the job thread logs as a bug with its
    traceback (a full run saw it in the test below); it is the store unreachable, as a
    failed connect is. A proxy cuts the lease's session at its first query, every time."""
    from paperscope.errors import StoreUnavailableError
    from pgproxy import CuttingProxy

    url = pg_server.fresh()
    proxy = CuttingProxy(url, cut_prefix="paperscope-job-")
    try:
        with open_store(proxy.url) as store:
            assert store.stats()["papers"] == 0  # other sessions pass through
            with pytest.raises(StoreUnavailableError, match="cannot reach the paper store"):
                store.job_lease("test-cut")
            assert proxy.cut == 1
        with open_store(url) as store:  # not cut: the lease is taken, and free again after
            lease = store.job_lease("test-cut")
            assert lease is not None
            with lease:
                pass
    finally:
        proxy.close()


def test_a_background_job_logs_one_line_while_the_database_is_down(caplog):
    """With PostgreSQL stopped, each background thread logged a full traceback every time it
    asked for its lease (every 10 s, for ever). Now one warning per outage, and one when the
    store answers again; the lease is taken once it does."""
    import logging

    from backends import PgServer
    from paperscope.serve.background import LockedThread

    class Waiting(LockedThread):
        name = "test-outage"

        def lock_wait(self) -> float:
            return 0.1

        def work(self) -> None:
            while not self.stopping():
                self.wait(0.05)

    folder = Path(tempfile.mkdtemp(prefix="paperscope-test-pg-"))
    server = PgServer(folder)
    thread = None
    try:
        with server.admin() as conn:
            conn.execute("CREATE DATABASE outage")
        url = server.uri.replace("/postgres?", "/outage?")
        with open_store(url) as store:
            held = store.job_lease("test-outage")  # another process holds the job
            assert held is not None
            caplog.set_level(logging.INFO, logger="paperscope.background")
            thread = Waiting(url).start()
            time.sleep(0.5)
            assert thread.leases_taken == 0
            server.server.cleanup()  # stops PostgreSQL: the holder's session ends with it
            time.sleep(2.0)  # some 20 tries
            outage = [r for r in caplog.records if r.name == "paperscope.background"]
            assert len(outage) == 1, [r.getMessage() for r in outage]
            assert outage[0].levelno == logging.WARNING and not outage[0].exc_info
            assert "cannot reach the paper store" in outage[0].getMessage()
            server = PgServer(folder)  # started again: the lease is free now
            deadline = time.monotonic() + 60
            while thread.leases_taken == 0:
                assert time.monotonic() < deadline, "the job did not take its lease back"
                time.sleep(0.1)
            messages = [r.getMessage() for r in caplog.records if r.name == "paperscope.background"]
            assert any("answers again" in m for m in messages), messages
            assert not any(r.exc_info for r in caplog.records if r.name == "paperscope.background")
    finally:
        if thread is not None:
            thread.stop()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
