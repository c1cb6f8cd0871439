"""Server-side secrets (cookie and link signing keys), generated on first use and kept in the
store, so they are never in the repository or the config and survive restarts."""

from __future__ import annotations

import secrets

from paperscope.store.sqlite import SQLiteStore


def get_or_create_secret(store: SQLiteStore, name: str, nbytes: int = 32) -> str:
    row = store.conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    # two processes may race here; ON CONFLICT DO NOTHING keeps the first and both read it back
    store.conn.execute(
        "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (name, secrets.token_urlsafe(nbytes)),
    )
    return store.conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()[0]
