"""The test session's PostgreSQL (pgserver: PostgreSQL 18 + pgvector, no set-up) and fresh
databases for tests that run on every backend (`backend`, `db_target` in conftest.py).

`PAPERSCOPE_TEST_BACKENDS=sqlite` (comma-separated) restricts the backends; the default is
both, so `python -m pytest` tests the store on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from pathlib import Path

ALL = ("sqlite", "postgres")
#: The database every test database is copied from: migrations applied once per session.
TEMPLATE = "paperscope_template"
_numbers = itertools.count(1)


def wanted() -> list[str]:
    chosen = os.environ.get("PAPERSCOPE_TEST_BACKENDS", "")
    names = [n.strip() for n in chosen.split(",") if n.strip()] or list(ALL)
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"PAPERSCOPE_TEST_BACKENDS: unknown backends {sorted(unknown)}")
    return names


def with_database(uri: str, name: str) -> str:
    """``postgresql://postgres:@/postgres?host=/dir`` with another database name."""
    head, _, query = uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


class PgServer:
    """One pgserver for the session; `fresh()` makes an empty, migrated database."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.server = pgserver.get_server(str(folder), cleanup_mode="stop")
        self.uri = self.server.get_uri()
        self._template_ready = False
        self._drops: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._dropper, name="pg-test-drops", daemon=True).start()

    def stop(self) -> None:
        self._drops.join()
        self.server.cleanup()

    def admin(self):
        import psycopg

        return psycopg.connect(self.uri, autocommit=True)

    def _template(self) -> None:
        if self._template_ready:
            return
        from paperscope.store.pg import PostgresStore

        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresStore(with_database(self.uri, TEMPLATE)).close()
        self._template_ready = True

    def fresh(self, migrated: bool = True, template: str | None = None) -> str:
        """The URL of a new database: a copy of `template`, else of the migrated template,
        else (migrated=False) empty."""
        name = f"t{os.getpid()}_{next(_numbers)}"
        if migrated and template is None:
            self._template()
            template = TEMPLATE
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return with_database(self.uri, name)

    def database_name(self, url: str) -> str:
        return url.partition("?")[0].rsplit("/", 1)[1]

    def drop(self, url: str) -> None:
        """Drop a test's database in the background: a DROP takes about ten times as long
        as the CREATE from the template (bench figures in docs/postgres.md)."""
        self._drops.put(url.partition("?")[0].rsplit("/", 1)[1])

    def _dropper(self) -> None:
        while True:
            name = self._drops.get()
            try:
                with self.admin() as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except Exception:
                pass
            finally:
                self._drops.task_done()
