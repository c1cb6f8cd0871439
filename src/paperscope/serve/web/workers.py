"""Background threads of `serve`: embedding new papers (and, from serve/email, digests).

Each worker opens its own store connection: the request handlers' connection belongs to the
event loop. With `serve --workers N`, or several serve nodes on one PostgreSQL, every process
starts its threads, so the embedding worker takes the store's job lease (store/jobs.py) and
only one process of the cluster embeds at a time; the others try again every few seconds and
take over when it ends.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from paperscope.serve.background import LockedThread
from paperscope.store.backends import open_store

log = logging.getLogger("paperscope.web.workers")

#: Seconds between looks for papers without vectors when there were none.
EMBED_IDLE = 10.0
#: Papers embedded per round; each round commits, so search sees them within seconds.
EMBED_ROUND = 32
#: Papers, newest first, whose similar-paper lists the worker computes once embedding has
#: caught up: new vectors make every remembered list stale, and these are the papers the feed
#: shows (2,000 take about 10 s of one core at 100k papers).
NEIGHBOURS_NEWEST = 2000


class EmbedWorker(LockedThread):
    """Embeds papers that have no vector for the current model, as they arrive.

    `import --no-embed`, harvests and library stubs add papers without vectors; they are
    searchable by keyword at once and by meaning once this worker reaches them. The serving
    engine picks the new vectors up on its next refresh (`Site.refresh`).
    """

    name = "embed-worker"

    def __init__(
        self, db_path: Path, idle: float = EMBED_IDLE, neighbours_newest: int = NEIGHBOURS_NEWEST
    ) -> None:
        super().__init__(db_path)
        self.idle = idle
        self.neighbours_newest = neighbours_newest
        self.embedded = 0
        #: `paperscope neighbours` runs finished (for tests and the log)
        self.neighbour_runs = 0

    def lock_wait(self) -> float:
        # a try is one statement on a new connection: cheap enough that a killed holder's
        # work moves to another process within one idle wait
        return self.idle

    def work(self) -> None:
        from paperscope.index.embedder import default_embedder
        from paperscope.index.embedding import embed_missing
        from paperscope.rank import topics as topics_rank

        # the process's shared embedder: its model session loads on the first paper only
        embedder = default_embedder()
        # on start too: `import` may have embedded papers since the lists were computed
        lists_behind = True
        with open_store(self.db_path) as store:
            while not self.stopping():
                try:
                    done = embed_missing(store, embedder, limit=EMBED_ROUND)
                except Exception:  # a bad round must not end the worker; it is logged
                    log.exception("embedding worker round failed")
                    done = []
                self.embedded += len(done)
                if done:
                    try:  # the new papers join the nearest topics built so far
                        topics_rank.assign_new(store, embedder, rowids=done)
                    except Exception:
                        log.exception("assigning topics to new papers failed")
                    lists_behind = True
                    continue
                if lists_behind and self.neighbours_newest:
                    try:
                        self.refresh_neighbours()
                    except Exception:  # no child process today; embedding goes on
                        log.exception("could not run paperscope neighbours")
                    lists_behind = False
                self.wait(self.idle)

    def refresh_neighbours(self) -> None:
        """`paperscope neighbours --newest N` in a process of its own: it loads a vector index
        of its own for a few seconds, which this long-lived process then does not keep."""
        cmd = [sys.executable, "-m", "paperscope", "neighbours", "--db", str(self.db_path)]
        cmd += ["--newest", str(self.neighbours_newest), "--json"]
        # output to files, not pipes: a child blocked on a full pipe would never end; its own
        # session, so a Ctrl-C meant for `serve` does not reach it (serve's stop ends it)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
            while child.poll() is None:
                if self.stopping():
                    child.terminate()  # lists so far are committed; the rest wait for next time
                    child.wait()
                    return
                self.wait(0.2)
            out.seek(0)
            err.seek(0)
            if child.returncode:
                log.error(
                    "paperscope neighbours failed (%s): %s", child.returncode, err.read()[-2000:]
                )
                return
            self.neighbour_runs += 1
            log.info("similar-paper lists of the newest papers: %s", out.read().strip())


def start(site) -> list:
    """Start the background workers `site.settings` asks for; each has `.stop()`."""
    started: list = []
    if site.settings.embed_worker:
        started.append(EmbedWorker(site.settings.db_path).start())
    if site.settings.digest_scheduler:
        # the daily email scheduler (serve/email/scheduler.py)
        from paperscope.serve.email import scheduler

        started.append(scheduler.start(site.settings))
    return started
