"""Background threads of `serve` that one process at a time may run.

With `serve --workers N` every process starts the same threads; each takes a file lock beside
the store (in its index folder) before it works, so only one process embeds or sends digests,
and another takes over when that process ends.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

from paperscope.config import is_db_url
from paperscope.index.paths import index_dir


class LockedThread:
    """A daemon thread running `work()` while it holds `<db>.index/<name>.lock`.

    Subclasses set `name`, implement `work()` (return when `stopping()` is set) and may
    override `lock_wait()`, the seconds between tries for a lock another process holds.
    """

    name = "worker"

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = db_path if is_db_url(db_path) else Path(db_path)
        self._stop = threading.Event()
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
        return self._stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep, waking at once when the thread is stopped."""
        self._stop.wait(seconds)

    def lock_wait(self) -> float:
        return 10.0

    def work(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        folder = index_dir(self.db_path)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{self.name}.lock", "w") as lock:
            while not self._stop.is_set():
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    self._stop.wait(self.lock_wait())
            else:
                return
            try:
                self.work()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
