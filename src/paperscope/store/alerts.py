"""Alerts and the digest outbox: what a user follows, which of the store's papers are new for
them, and the digests composed for them until the SMTP server accepted each one.

The outbox is what makes sending safe against crashes: a digest is composed and recorded with
the papers it carries in one transaction (status 'pending'); it becomes 'sent' only after the
server accepted it. A process killed between the two leaves a pending row that the next run
sends, with the same Message-ID, and the papers it carries are never put in another digest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperscope.errors import InputError, NotFoundError
from paperscope.normalize import clean_name, name_key
from paperscope.store.like import LIKE_ESCAPE, like_escaped
from paperscope.store.sqlite import SQLiteStore

KINDS = ("author", "query", "category", "paper")
#: Longest followed value accepted (a saved query may be long, but not unbounded).
MAX_VALUE = 500
#: A digest whose send started is not picked up by another run for this long (seconds), so two
#: processes never send the same digest at once; a process killed mid-send retries after it.
SEND_LEASE = 600
#: Backoff after a failed attempt: BACKOFF_BASE * 2**(attempts-1) seconds, at most BACKOFF_MAX.
BACKOFF_BASE = 300
BACKOFF_MAX = 6 * 3600
#: After this many failed attempts a digest is marked 'failed' and no longer retried.
MAX_ATTEMPTS = 8


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(slots=True, frozen=True)
class Follow:
    id: int
    kind: str
    value: str
    created_at: str


@dataclass(slots=True, frozen=True)
class Digest:
    id: int
    user_id: int
    created_at: str
    status: str  # pending | sent | failed
    message_id: str
    message: bytes
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    sent_at: str | None


def _digest(row: sqlite3.Row) -> Digest:
    return Digest(
        row["id"],
        row["user_id"],
        row["created_at"],
        row["status"],
        row["message_id"],
        bytes(row["message"]),
        row["attempts"],
        row["next_attempt_at"],
        row["last_error"],
        row["sent_at"],
    )


def check_follow(kind: str, value: str) -> str:
    """The value as stored, or InputError."""
    if kind not in KINDS:
        raise InputError(f"unknown kind of follow {kind!r}", hint=", ".join(KINDS))
    value = " ".join(value.split())
    if not value:
        raise InputError(f"an empty {kind} cannot be followed")
    if len(value) > MAX_VALUE:
        raise InputError(f"a followed {kind} has at most {MAX_VALUE} characters")
    if kind == "author":
        value = clean_name(value) or value
        if not name_key(value).strip("_"):
            raise InputError(f"not an author name: {value!r}")
    if kind == "category" and (" " in value or not all(c.isalnum() or c in ".-_" for c in value)):
        raise InputError(f"not a category code: {value!r}", hint="as in cs.LG or stat.ML")
    return value


def _newest_day(rows: list, only_newest: bool) -> list[int]:
    """Rowids of (rowid, day) rows sorted newest first; only those of the first row's day
    when asked."""
    if only_newest and rows:
        return [r[0] for r in rows if r[1] == rows[0][1]]
    return [r[0] for r in rows]


class Alerts:
    """Follows, new-paper matches and the digest outbox of one store."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.conn = store.conn

    # --- follows ---------------------------------------------------------------------------

    def follow(self, user_id: int, kind: str, value: str) -> int:
        """The id of the follow (the existing one when the user already follows it)."""
        value = check_follow(kind, value)
        if kind == "paper":
            rowid = self.store.resolve(value)
            if rowid is None:
                raise NotFoundError(f"no paper {value} in the store")
            row = self.conn.execute("SELECT id FROM papers WHERE rowid = ?", (rowid,)).fetchone()
            value = row[0]
        if kind in ("author", "category"):
            # matched regardless of case ("CS.cv" finds cs.CV's papers): one follow
            for follow_id, known in self.conn.execute(
                "SELECT id, value FROM follows WHERE user_id = ? AND kind = ?", (user_id, kind)
            ):
                if known.casefold() == value.casefold():
                    return follow_id
        now = iso(datetime.now(UTC))
        try:
            self.conn.execute(
                "INSERT INTO follows (user_id, kind, value, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user_id, kind, value, now),
            )
        except sqlite3.IntegrityError as exc:  # the user does not exist
            raise NotFoundError(f"no user with id {user_id}") from exc
        row = self.conn.execute(
            "SELECT id FROM follows WHERE user_id = ? AND kind = ? AND value = ?",
            (user_id, kind, value),
        ).fetchone()
        return row[0]

    def unfollow(self, user_id: int, follow_id: int) -> None:
        cur = self.conn.execute(
            "DELETE FROM follows WHERE id = ? AND user_id = ?", (follow_id, user_id)
        )
        if cur.rowcount == 0:
            raise NotFoundError(
                f"no follow {follow_id} of this user", hint="`paperscope follows` lists them"
            )

    def follows(self, user_id: int, kind: str | None = None) -> list[Follow]:
        sql = "SELECT id, kind, value, created_at FROM follows WHERE user_id = ?"
        args: list = [user_id]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self.conn.execute(sql + " ORDER BY kind, lower(value), id", args)
        return [Follow(r[0], r[1], r[2], r[3]) for r in rows]

    # --- what is new -----------------------------------------------------------------------

    def latest_day(self) -> str | None:
        """The newest announcement day ('YYYY-MM-DD') of the store's papers."""
        row = self.conn.execute(
            "SELECT max(substr(published, 1, 10)) FROM papers WHERE deleted = 0"
        ).fetchone()
        return row[0]

    def paper_mark(self, user_id: int) -> int | None:
        """The store's highest paper rowid when the user's last digest was composed: rows
        above it were added since (a late harvest of an older paper counts as new)."""
        row = self.conn.execute(
            "SELECT max(paper_mark) FROM digests WHERE user_id = ?", (user_id,)
        ).fetchone()
        return row[0]

    def _new(self, since_day: str | None, added_after: int | None) -> tuple[str, list]:
        """SQL condition (on alias p) for a paper that is new: published on/after since_day,
        or added to the store after the paper mark `added_after`; any paper when since_day
        is None (the caller keeps the newest day)."""
        if since_day is None:
            return "p.deleted = 0", []
        if added_after is None:
            return "p.deleted = 0 AND substr(p.published, 1, 10) >= ?", [since_day]
        return (
            "p.deleted = 0 AND (substr(p.published, 1, 10) >= ? OR p.rowid > ?)",
            [since_day, added_after],
        )

    def author_matches(
        self, name: str, since_day: str | None, added_after: int | None = None, limit: int = 50
    ) -> list[int]:
        """Rowids of new papers by the author, newest first. A full name matches by family
        name and first initial (arXiv's au:hu_j), a bare family name by family name.
        since_day None: the papers of the newest day the author has papers (a first digest)."""
        key = name_key(name)
        column = "name_key" if "_" in key else "family_key"
        cond, args = self._new(since_day, added_after)
        rows = self.conn.execute(
            # p.published selected too: PostgreSQL orders a DISTINCT only by what it selects
            "SELECT DISTINCT p.rowid, substr(p.published, 1, 10), p.published "
            "FROM paper_authors a "
            "JOIN papers p ON p.rowid = a.paper_rowid "
            f"WHERE a.{column} = ? AND {cond} ORDER BY p.published DESC, p.rowid DESC LIMIT ?",
            [key, *args, limit],
        )
        return _newest_day(rows.fetchall(), since_day is None)

    def category_matches(
        self, code: str, since_day: str | None, added_after: int | None = None, limit: int = 50
    ) -> list[int]:
        """Rowids of new papers listed in the category (any position), newest first; an
        archive ("cs", "math") also matches its categories (cs.LG, math.ST). since_day None:
        the papers of the category's newest day (a first digest)."""
        cond, args = self._new(since_day, added_after)
        # LIKE is case-insensitive for ASCII, so cs.lg finds cs.LG; a "_" in the code is a
        # character, not LIKE's any-character
        code = like_escaped(code)
        rows = self.conn.execute(
            "SELECT p.rowid, substr(p.published, 1, 10) FROM papers p "
            f"WHERE (lower(' ' || p.categories || ' ') LIKE lower(?) ESCAPE '{LIKE_ESCAPE}' "
            f"OR lower(' ' || p.categories) LIKE lower(?) ESCAPE '{LIKE_ESCAPE}') AND {cond} "
            "ORDER BY p.published DESC, p.rowid DESC LIMIT ?",
            [f"% {code} %", f"% {code}.%", *args, limit],
        )
        return _newest_day(rows.fetchall(), since_day is None)

    def max_paper_rowid(self) -> int:
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM papers").fetchone()[0]

    def sent_rowids(self, user_id: int) -> set[int]:
        """Papers the user was sent or has waiting in a pending digest."""
        rows = self.conn.execute(
            "SELECT paper_rowid FROM digest_papers WHERE user_id = ?", (user_id,)
        )
        return {r[0] for r in rows}

    # --- the outbox ------------------------------------------------------------------------

    def record_digest(
        self,
        user_id: int,
        message_id: str,
        message: bytes,
        papers: Sequence[tuple[int, str]],
        created_at: str,
        paper_mark: int | None = None,
    ) -> int | None:
        """Record a composed digest and its papers (rowid, reason) in one transaction.
        `paper_mark`: the store's highest paper rowid when composing began (`max_paper_rowid`).

        None when the user already has a pending digest or one of the papers was put in a
        digest meanwhile (another process composed first): nothing is recorded then.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            pending = conn.execute(
                "SELECT 1 FROM digests WHERE user_id = ? AND status = 'pending'", (user_id,)
            ).fetchone()
            if pending:
                conn.execute("ROLLBACK")
                return None
            cur = conn.execute(
                "INSERT INTO digests (user_id, created_at, message_id, message, paper_mark) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (user_id, created_at, message_id, message, paper_mark),
            )
            digest_id = cur.fetchone()[0]
            conn.executemany(
                "INSERT INTO digest_papers (user_id, paper_rowid, digest_id, reason) "
                "VALUES (?, ?, ?, ?)",
                [(user_id, rowid, digest_id, reason) for rowid, reason in papers],
            )
            conn.execute("COMMIT")
            return digest_id
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            return None
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get_digest(self, digest_id: int) -> Digest:
        row = self.conn.execute("SELECT * FROM digests WHERE id = ?", (digest_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no digest {digest_id}")
        return _digest(row)

    def digests(self, user_id: int | None = None, status: str | None = None) -> list[Digest]:
        sql, args = "SELECT * FROM digests WHERE 1 = 1", []
        if user_id is not None:
            sql += " AND user_id = ?"
            args.append(user_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return [_digest(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def digest_papers(self, digest_id: int) -> list[tuple[int, str]]:
        rows = self.conn.execute(
            "SELECT paper_rowid, reason FROM digest_papers WHERE digest_id = ? "
            "ORDER BY paper_rowid",
            (digest_id,),
        )
        return [(r[0], r[1]) for r in rows]

    def due_digests(self, now: datetime, user_ids: Iterable[int] | None = None) -> list[Digest]:
        """Pending digests whose next attempt is due (oldest first)."""
        sql = (
            "SELECT * FROM digests WHERE status = 'pending' "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        )
        args: list = [iso(now)]
        if user_ids is not None:
            ids = list(user_ids)
            sql += f" AND user_id IN ({','.join('?' * len(ids))})"
            args.extend(ids)
        return [_digest(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def claim(self, digest_id: int, now: datetime) -> bool:
        """Start an attempt: count it and lease the digest so no other run sends it meanwhile.
        False when it is not pending and due any more (another run took it)."""
        cur = self.conn.execute(
            "UPDATE digests SET attempts = attempts + 1, next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending' "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
            (iso(now + timedelta(seconds=SEND_LEASE)), digest_id, iso(now)),
        )
        return cur.rowcount == 1

    def count_attempt(self, digest_id: int, now: datetime) -> None:
        """Another attempt within the same run (the lease is renewed with it)."""
        self.conn.execute(
            "UPDATE digests SET attempts = attempts + 1, next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (iso(now + timedelta(seconds=SEND_LEASE)), digest_id),
        )

    def mark_sent(self, digest_id: int, now: datetime) -> None:
        """The server accepted it: sent, and the user's last digest moves to its composition
        time (papers added while it waited are picked up by the next one)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT user_id, created_at FROM digests WHERE id = ?", (digest_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no digest {digest_id}")
            conn.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, next_attempt_at = NULL "
                "WHERE id = ?",
                (iso(now), digest_id),
            )
            conn.execute(
                "UPDATE users SET last_digest_at = ? WHERE id = ? "
                "AND (last_digest_at IS NULL OR last_digest_at < ?)",
                (row["created_at"], row["user_id"], row["created_at"]),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def mark_failed_attempt(self, digest_id: int, error: str, now: datetime) -> Digest:
        """Record a failed attempt: retry later with exponential backoff, or give up after
        MAX_ATTEMPTS (status 'failed'; its papers stay recorded so they are not re-sent)."""
        digest = self.get_digest(digest_id)
        if digest.attempts >= MAX_ATTEMPTS:
            status, next_at = "failed", None
        else:
            delay = min(BACKOFF_BASE * 2 ** max(digest.attempts - 1, 0), BACKOFF_MAX)
            status, next_at = "pending", iso(now + timedelta(seconds=delay))
        self.conn.execute(
            "UPDATE digests SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            (status, next_at, error[:2000], digest_id),
        )
        return self.get_digest(digest_id)

    def retry_failed(self, user_id: int | None = None) -> int:
        """Put given-up digests back in the queue (after fixing the mail settings)."""
        sql = (
            "UPDATE digests SET status = 'pending', attempts = 0, next_attempt_at = NULL "
            "WHERE status = 'failed'"
        )
        args: list = []
        if user_id is not None:
            sql += " AND user_id = ?"
            args.append(user_id)
        return self.conn.execute(sql, args).rowcount

    def pending_digest(self, user_id: int) -> Digest | None:
        """The user's digest waiting to be sent (for its next attempt and last error)."""
        row = self.conn.execute(
            "SELECT * FROM digests WHERE user_id = ? AND status = 'pending' ORDER BY id LIMIT 1",
            (user_id,),
        ).fetchone()
        return _digest(row) if row else None

    def has_pending(self, user_id: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM digests WHERE user_id = ? AND status = 'pending'", (user_id,)
        ).fetchone()
        return row is not None
