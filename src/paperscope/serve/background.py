"""Background threads of `serve` that one process of the whole cluster at a time may run.

Every `serve` process (each of `--workers N`, each node on one PostgreSQL) starts the same
threads; each takes its job's lease from the store (`store.job_lease`, store/jobs.py) before
it works, so one process embeds or sends digests, and another takes over when that process
ends or loses its lease. The store decides how the lease is held: a file lock beside a SQLite
file, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from paperscope.config import is_db_url
from paperscope.errors import StoreUnavailableError
from paperscope.store.backends import open_store

log = logging.getLogger("paperscope.background")


class LockedThread:
    """A daemon thread running `work()` while it holds the store's lease on job `name`.

    Subclasses set `name`, implement `work()` (return when `stopping()` is true: the thread
    is stopped, or the lease was lost) and may override `lock_wait()`, the seconds between
    tries for a lease another process holds.
    """

    name = "worker"

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = db_path if is_db_url(db_path) else Path(db_path)
        self._stop = threading.Event()
        self._lease = None
        #: times this thread took the lease (for tests and the log)
        self.leases_taken = 0
        self._thread = threading.Thread(
            target=self._run, name=f"paperscope-{self.name}", daemon=True
        )

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def stopping(self) -> bool:
        """True once the thread is stopped or its lease was lost (work() then returns)."""
        if self._stop.is_set():
            return True
        lease = self._lease
        return lease is not None and not lease.alive()

    def holds_lease(self) -> bool:
        lease = self._lease
        return lease is not None and lease.alive()

    def wait(self, seconds: float) -> None:
        """Sleep, waking at once when the thread is stopped."""
        self._stop.wait(seconds)

    def lock_wait(self) -> float:
        return 10.0

    def work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        with open_store(self.db_path) as store:
            unreachable = False
            while not self._stop.is_set():
                try:
                    lease = store.job_lease(self.name)
                except StoreUnavailableError as exc:
                    # one line per outage: a traceback every few seconds buries the log
                    if not unreachable:
                        log.warning(
                            "%s: %s; asking again every %.0f s",
                            self.name,
                            exc,
                            self.lock_wait(),
                        )
                    unreachable = True
                    lease = None
                except Exception:  # a bug, not an outage: its traceback is wanted
                    log.exception("could not ask for the %s lease", self.name)
                    lease = None
                else:
                    if unreachable:
                        log.warning("%s: the paper store answers again", self.name)
                    unreachable = False
                if lease is None:
                    self._stop.wait(self.lock_wait())
                    continue
                with lease:
                    self._lease = lease
                    self.leases_taken += 1
                    log.info("%s: this process (%s) holds the lease", self.name, lease.holder)
                    try:
                        self.work()
                    finally:
                        self._lease = None
                if not self._stop.is_set():
                    log.warning("%s: lost the lease; trying again", self.name)
