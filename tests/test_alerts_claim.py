"""Alerts.claim: the lease that stops two `digest send` runs from sending the same digest,
over two connections to one real SQLite file (two processes' view of the outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paperscope.model import Paper
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import SEND_LEASE, Alerts
from paperscope.store.sqlite import SQLiteStore

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def attempts(store: SQLiteStore, digest_id: int) -> int:
    return store.conn.execute("SELECT attempts FROM digests WHERE id = ?", (digest_id,)).fetchone()[
        0
    ]


def test_a_claimed_digest_is_leased_to_one_run_until_the_lease_ends(tmp_path):
    db = tmp_path / "papers.db"
    with SQLiteStore(db) as first_run, SQLiteStore(db) as second_run:
        first_run.write_batch([Paper(title="Leased", arxiv_id="2612.00001")], origin="t")
        user = Accounts(first_run).add("ada@example.org")
        rowid = first_run.resolve("2612.00001")
        digest_id = Alerts(first_run).record_digest(
            user.id, "<d1@example.org>", b"Subject: x\r\n\r\nbody", [(rowid, "a reason")],
            created_at=NOW.isoformat(),
        )  # fmt: skip
        assert digest_id is not None
        a, b = Alerts(first_run), Alerts(second_run)
        assert a.claim(digest_id, NOW)  # the first run takes it
        # the other run, any time within the lease, does not
        assert not b.claim(digest_id, NOW)
        assert not b.claim(digest_id, NOW + timedelta(seconds=SEND_LEASE - 1))
        assert attempts(second_run, digest_id) == 1
        # the first run died without sending: once the lease is over another run takes it
        assert b.claim(digest_id, NOW + timedelta(seconds=SEND_LEASE + 1))
        assert not a.claim(digest_id, NOW + timedelta(seconds=SEND_LEASE + 2))
        assert attempts(first_run, digest_id) == 2
        # sent: nobody claims it again, even long after
        b.mark_sent(digest_id, NOW + timedelta(seconds=SEND_LEASE + 3))
        assert not a.claim(digest_id, NOW + timedelta(days=2))
        assert not b.claim(digest_id, NOW + timedelta(days=2))
        assert attempts(first_run, digest_id) == 2
