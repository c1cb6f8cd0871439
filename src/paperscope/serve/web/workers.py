"""Background threads of `serve`: embedding new papers (and, from serve/email, digests).

Each worker opens its own store connection: the request handlers' connection belongs to the
event loop. With `serve --workers N`, every process starts its threads, so the embedding
worker takes a file lock and only one process embeds at a time; the others wait for the lock.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path

from paperscope.index.paths import index_dir
from paperscope.store.sqlite import SQLiteStore

log = logging.getLogger("paperscope.web.workers")

#: Seconds between looks for papers without vectors when there were none.
EMBED_IDLE = 10.0
#: Papers embedded per round; each round commits, so search sees them within seconds.
EMBED_ROUND = 32


class EmbedWorker:
    """Embeds papers that have no vector for the current model, as they arrive.

    `import --no-embed`, harvests and library stubs add papers without vectors; they are
    searchable by keyword at once and by meaning once this worker reaches them. The serving
    engine picks the new vectors up on its next refresh (`Site.refresh`).
    """

    def __init__(self, db_path: Path, idle: float = EMBED_IDLE) -> None:
        self.db_path = Path(db_path)
        self.idle = idle
        self.embedded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paperscope-embed", daemon=True)

    def start(self) -> EmbedWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        folder = index_dir(self.db_path)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "embed-worker.lock", "w") as lock:
            while not self._stop.is_set():
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    self._stop.wait(self.idle * 3)
            else:
                return
            try:
                self._loop()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _loop(self) -> None:
        from paperscope.index.embedder import default_embedder
        from paperscope.index.embedding import embed_missing

        # the process's shared embedder: its model session loads on the first paper only
        embedder = default_embedder()
        with SQLiteStore(self.db_path) as store:
            while not self._stop.is_set():
                try:
                    done = embed_missing(store, embedder, limit=EMBED_ROUND)
                except Exception:  # a bad round must not end the worker; it is logged
                    log.exception("embedding worker round failed")
                    done = []
                self.embedded += len(done)
                if not done:
                    self._stop.wait(self.idle)


def start(site) -> list:
    """Start the background workers `site.settings` asks for; each has `.stop()`."""
    started: list = []
    if site.settings.embed_worker:
        started.append(EmbedWorker(site.settings.db_path).start())
    if site.settings.digest_scheduler:
        # owned by helper "digest": the daily email scheduler (serve/email/scheduler.py)
        from paperscope.serve.email import scheduler

        started.append(scheduler.start(site.settings))
    return started
