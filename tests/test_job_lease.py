"""Job leases (store/jobs.py): a background job runs in one process of the cluster at a time,
on both backends, and a killed holder's lease goes to the next process that asks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from paperscope.serve.background import LockedThread
from paperscope.store.backends import open_store
from paperscope.store.jobs import holders

HOLD = """
import sys, time
from paperscope.store.backends import open_store
store = open_store(sys.argv[1])
lease = store.job_lease("embed-worker")
print("held" if lease is not None else "refused", flush=True)
time.sleep(600)
"""


def _target(db_target) -> str:
    return str(db_target)


def test_two_holders_exclude_each_other(db_target):
    with open_store(db_target) as one, open_store(db_target) as two:
        first = one.job_lease("embed-worker")
        assert first is not None
        assert two.job_lease("embed-worker") is None
        assert one.job_lease("embed-worker") is None  # the same process asks again: no
        # another job's lease is another lock
        other = two.job_lease("digest-scheduler")
        assert other is not None
        assert two.job_lease_held("embed-worker") and two.job_lease_held("digest-scheduler")
        [recorded] = [h for h in holders(two) if h.name == "embed-worker"]
        assert (recorded.pid, recorded.held) == (os.getpid(), True)
        first.release()
        assert not two.job_lease_held("embed-worker")
        assert [h.name for h in holders(two)] == ["digest-scheduler"]  # released: row gone
        with two.job_lease("embed-worker") as again:
            assert again is not None and again.alive()
            assert one.job_lease("embed-worker") is None
        other.release()
        assert one.job_lease("embed-worker") is not None


def test_a_killed_holder_frees_the_lease(db_target, tmp_path):
    with open_store(db_target):
        pass  # migrated before the child starts
    # the child's index folder is another one: the lease does not live in an index folder
    env = {**os.environ, "PAPERSCOPE_INDEX_DIR": str(tmp_path / "child-index")}
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, _target(db_target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == "held", child.stderr.read()
        with open_store(db_target) as store:
            assert store.job_lease("embed-worker") is None
            [recorded] = holders(store)
            assert (recorded.pid, recorded.held) == (child.pid, True)
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            deadline = time.monotonic() + 20
            lease = None
            while lease is None:
                assert time.monotonic() < deadline, "the killed holder's lease was not freed"
                time.sleep(0.1)
                lease = store.job_lease("embed-worker")
            with lease:
                [recorded] = holders(store)
                assert (recorded.pid, recorded.held) == (os.getpid(), True)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


class Counter(LockedThread):
    name = "test-job"

    def __init__(self, db) -> None:
        super().__init__(db)
        self.rounds = 0

    def lock_wait(self) -> float:
        return 0.05

    def work(self) -> None:
        while not self.stopping():
            self.rounds += 1
            self.wait(0.01)


def test_locked_threads_take_turns_through_the_store(db_target):
    with open_store(db_target):
        pass
    first = Counter(db_target).start()
    second = Counter(db_target).start()
    try:
        deadline = time.monotonic() + 30
        while not (first.holds_lease() or second.holds_lease()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        holder, waiter = (first, second) if first.holds_lease() else (second, first)
        time.sleep(0.3)
        assert waiter.rounds == 0 and holder.rounds > 0
        holder.stop()
        deadline = time.monotonic() + 30
        while not waiter.holds_lease():
            assert time.monotonic() < deadline, "the waiting thread never took over"
            time.sleep(0.05)
        assert waiter.leases_taken == 1
    finally:
        first.stop()
        second.stop()


def test_paperscope_jobs_names_the_holder(db_target):
    import json

    from typer.testing import CliRunner

    from paperscope.serve.cli import app

    runner = CliRunner()
    with open_store(db_target) as store:
        empty = runner.invoke(app, ["jobs", "--db", str(db_target), "--json"])
        assert empty.exit_code == 0, empty.output
        assert json.loads(empty.stdout) == []
        with store.job_lease("embed-worker"):
            held = runner.invoke(app, ["jobs", "--db", str(db_target), "--json"])
            [row] = json.loads(held.stdout)
            assert (row["name"], row["pid"], row["held"]) == ("embed-worker", os.getpid(), True)
            text = runner.invoke(app, ["jobs", "--db", str(db_target)]).stdout
            assert f"embed-worker: {row['holder']} since {row['since']}, held" in text


def test_a_holder_whose_lease_connection_dies_stops_and_asks_again(pg_server, tmp_path):
    """PostgreSQL: the lease's session ended under the holder (a database restart, a network
    cut): the job stops within ALIVE_EVERY seconds instead of running on beside a new holder,
    then takes the lease again since nobody else holds it."""
    url = pg_server.fresh()
    try:
        worker = Counter(url).start()
        try:
            deadline = time.monotonic() + 30
            while not worker.holds_lease():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            with open_store(url) as store:
                ended = store.conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'paperscope-job-test-job'"
                ).fetchone()[0]
                assert ended == 1
            deadline = time.monotonic() + 30
            while worker.leases_taken < 2:
                assert time.monotonic() < deadline, "the holder never noticed its lost lease"
                time.sleep(0.1)
            assert worker.holds_lease()
        finally:
            worker.stop()
    finally:
        pg_server.drop(url)
