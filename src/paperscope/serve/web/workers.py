"""Background threads of `serve`: embedding new papers (and, from serve/email, digests).

Each worker opens its own store connection: the request handlers' connection belongs to the
event loop. With `serve --workers N`, every process starts its threads, so the embedding
worker takes a file lock and only one process embeds at a time; the others wait for the lock.
"""

from __future__ import annotations

import logging
from pathlib import Path

from paperscope.serve.background import LockedThread
from paperscope.store.sqlite import SQLiteStore

log = logging.getLogger("paperscope.web.workers")

#: Seconds between looks for papers without vectors when there were none.
EMBED_IDLE = 10.0
#: Papers embedded per round; each round commits, so search sees them within seconds.
EMBED_ROUND = 32


class EmbedWorker(LockedThread):
    """Embeds papers that have no vector for the current model, as they arrive.

    `import --no-embed`, harvests and library stubs add papers without vectors; they are
    searchable by keyword at once and by meaning once this worker reaches them. The serving
    engine picks the new vectors up on its next refresh (`Site.refresh`).
    """

    name = "embed-worker"

    def __init__(self, db_path: Path, idle: float = EMBED_IDLE) -> None:
        super().__init__(db_path)
        self.idle = idle
        self.embedded = 0

    def lock_wait(self) -> float:
        return self.idle * 3

    def work(self) -> None:
        from paperscope.index.embedder import default_embedder
        from paperscope.index.embedding import embed_missing

        # the process's shared embedder: its model session loads on the first paper only
        embedder = default_embedder()
        with SQLiteStore(self.db_path) as store:
            while not self.stopping():
                try:
                    done = embed_missing(store, embedder, limit=EMBED_ROUND)
                except Exception:  # a bad round must not end the worker; it is logged
                    log.exception("embedding worker round failed")
                    done = []
                self.embedded += len(done)
                if not done:
                    self.wait(self.idle)


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
