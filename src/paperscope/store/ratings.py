"""What recommendations read from the store: a user's positives, negatives and follows, the
cached models (table rec_models, migration 0006) and the whole-text vectors of all papers.

Reading only, except `save_model` (the model cache) and the `record_*` helpers at the end,
which tests and benchmarks use to write rating rows the way the library pages do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from paperscope.dates import iso_utc
from paperscope.store.sqlite import SQLiteStore

#: SQLite bound-variable chunk (as in sqlite.py).
_CHUNK = 900
#: The whole-text vector's passage number (`paperscope.index.embedding.DOC_PASSAGE`; the store
#: must not import the index layer).
DOC_PASSAGE = -1

# One row of aggregates per table of the user's: any insert, delete or change of a rating,
# saved flag, tag, upvote or follow moves at least one of them. The weighted sums catch two
# changes within one second that leave the count and max(timestamp) alone (3*saved + rating + 2
# is distinct for each of the six states).
_FINGERPRINT_SQL = """
SELECT
  (SELECT count(*) || ':' || total(saved) || ':' || total(rating) || ':'
          || total(paper_rowid * (3 * saved + rating + 2)) || ':' || coalesce(max(updated_at), '')
     FROM user_papers WHERE user_id = :user),
  (SELECT count(*) || ':' || total(paper_rowid) || ':' || coalesce(max(at), '')
     FROM upvotes WHERE user_id = :user),
  (SELECT count(*) || ':' || total(pt.paper_rowid * (t.id + 1)) || ':'
          || coalesce(max(pt.added_at), '')
     FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.user_id = :user),
  (SELECT count(*) || ':' || total(id) || ':' || coalesce(max(created_at), '')
     FROM follows WHERE user_id = :user)
"""


@dataclass(frozen=True, slots=True)
class StoredModel:
    model: str
    fingerprint: str
    weights: bytes
    positives: int
    negatives: int
    trained_at: str


class Ratings:
    """Queries over one store's personal tables, for `paperscope.rank.recs`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.conn = store.conn

    # ------------------------------------------------------------------ a user's rows

    def fingerprint(self, user_id: int) -> str:
        """A short digest of every rating row of the user: equal digests, same training data.
        One indexed query (each table's key starts with the user), well under a millisecond."""
        row = self.conn.execute(_FINGERPRINT_SQL, {"user": user_id}).fetchone()
        return hashlib.blake2b("|".join(row).encode(), digest_size=12).hexdigest()

    def positives(self, user_id: int) -> list[int]:
        """Papers the user saved, upvoted or rated thumbs up, minus those rated thumbs down."""
        rows = self.conn.execute(
            "SELECT paper_rowid FROM user_papers WHERE user_id = ? AND rating >= 0 "
            "AND (saved != 0 OR rating = 1) "
            "UNION SELECT u.paper_rowid FROM upvotes u WHERE u.user_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM user_papers x WHERE x.user_id = u.user_id "
            "AND x.paper_rowid = u.paper_rowid AND x.rating = -1) "
            "UNION SELECT pt.paper_rowid FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE t.user_id = ? AND NOT EXISTS (SELECT 1 FROM user_papers x WHERE "
            "x.user_id = t.user_id AND x.paper_rowid = pt.paper_rowid AND x.rating = -1) "
            "ORDER BY 1",
            (user_id, user_id, user_id),
        )
        return [r[0] for r in rows]

    def tag_papers(self, user_id: int, tag: str) -> list[int] | None:
        """The papers of one of the user's tags, or None when the user has no such tag."""
        row = self.conn.execute(
            "SELECT id FROM tags WHERE user_id = ? AND name = ?", (user_id, tag)
        ).fetchone()
        if row is None:
            return None
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT paper_rowid FROM paper_tags WHERE tag_id = ? ORDER BY paper_rowid",
                (row[0],),
            )
        ]

    def negatives(self, user_id: int) -> list[int]:
        """Papers rated thumbs down."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT paper_rowid FROM user_papers WHERE user_id = ? AND rating = -1 "
                "ORDER BY paper_rowid",
                (user_id,),
            )
        ]

    def seen(self, user_id: int) -> set[int]:
        """Papers never to recommend: any the user saved, rated, noted, read, tagged or upvoted
        (every user_papers row is one of those)."""
        rows = self.conn.execute(
            "SELECT paper_rowid FROM user_papers WHERE user_id = ? "
            "UNION SELECT paper_rowid FROM upvotes WHERE user_id = ? "
            "UNION SELECT pt.paper_rowid FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE t.user_id = ?",
            (user_id, user_id, user_id),
        )
        return {r[0] for r in rows}

    def follows(self, user_id: int) -> list[tuple[str, str]]:
        """(kind, value) of the user's follows, oldest first."""
        return [
            (r[0], r[1])
            for r in self.conn.execute(
                "SELECT kind, value FROM follows WHERE user_id = ? ORDER BY created_at, id",
                (user_id,),
            )
        ]

    # ------------------------------------------------------------------ model cache

    def load_model(self, user_id: int, scope: str) -> StoredModel | None:
        row = self.conn.execute(
            "SELECT model, fingerprint, weights, positives, negatives, trained_at "
            "FROM rec_models WHERE user_id = ? AND scope = ?",
            (user_id, scope),
        ).fetchone()
        return StoredModel(*row) if row else None

    def save_model(
        self,
        user_id: int,
        scope: str,
        *,
        model: str,
        fingerprint: str,
        weights: bytes,
        positives: int,
        negatives: int,
    ) -> None:
        self.conn.execute(
            "INSERT INTO rec_models (user_id, scope, model, fingerprint, weights, "
            "positives, negatives, trained_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (user_id, scope) DO UPDATE SET model = excluded.model, "
            "fingerprint = excluded.fingerprint, weights = excluded.weights, "
            "positives = excluded.positives, negatives = excluded.negatives, "
            "trained_at = excluded.trained_at",
            (user_id, scope, model, fingerprint, weights, positives, negatives, iso_utc()),
        )

    def drop_models(self, user_id: int) -> None:
        self.conn.execute("DELETE FROM rec_models WHERE user_id = ?", (user_id,))

    # ------------------------------------------------------------------ whole-text vectors

    def doc_vector_count(self, model: str) -> int:
        """Papers with a whole-text vector of `model` (deleted ones included): with
        `store.generation()` it tells a cached matrix whether it is behind."""
        return self.conn.execute(
            "SELECT count(*) FROM paper_vectors WHERE model = ? AND passage = ?",
            (model, DOC_PASSAGE),
        ).fetchone()[0]

    def live_doc_rowids(self, model: str) -> list[int]:
        """Sorted rowids of the papers, not deleted, that have a whole-text vector."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT v.paper_rowid FROM paper_vectors v JOIN papers p ON p.rowid = "
                "v.paper_rowid WHERE v.model = ? AND v.passage = ? AND p.deleted = 0 "
                "ORDER BY v.paper_rowid",
                (model, DOC_PASSAGE),
            )
        ]

    def iter_doc_vectors(
        self, model: str, batch: int = 20_000
    ) -> Iterator[list[tuple[int, str | None, bytes]]]:
        """(rowid, published, whole-text vector bytes) of every live paper, in rowid order."""
        last = -1
        while True:
            rows = self.conn.execute(
                "SELECT v.paper_rowid, p.published, v.vector FROM paper_vectors v JOIN papers p "
                "ON p.rowid = v.paper_rowid WHERE v.model = ? AND v.passage = ? AND "
                "v.paper_rowid > ? AND p.deleted = 0 ORDER BY v.paper_rowid LIMIT ?",
                (model, DOC_PASSAGE, last, batch),
            ).fetchall()
            if not rows:
                return
            yield [(r[0], r[1], r[2]) for r in rows]
            last = rows[-1][0]

    def doc_vectors(self, model: str, rowids: Sequence[int]) -> list[tuple[int, str | None, bytes]]:
        """(rowid, published, whole-text vector bytes) of those of `rowids` that are live and
        have one, in rowid order."""
        found: list[tuple[int, str | None, bytes]] = []
        ids = sorted(set(rowids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.extend(
                (r[0], r[1], r[2])
                for r in self.conn.execute(
                    f"SELECT v.paper_rowid, p.published, v.vector FROM paper_vectors v JOIN "
                    f"papers p ON p.rowid = v.paper_rowid WHERE v.model = ? AND v.passage = ? "
                    f"AND p.deleted = 0 AND v.paper_rowid IN ({marks}) ORDER BY v.paper_rowid",
                    (model, DOC_PASSAGE, *chunk),
                )
            )
        return found


# ---------------------------------------------------------------------------------------------
# Writing rating rows, for tests and benchmarks (the library pages have their own module).


def record_rating(
    store: SQLiteStore,
    user_id: int,
    rowid: int,
    *,
    rating: int | None = None,
    saved: bool | None = None,
    at: str | None = None,
) -> None:
    """Set a paper's thumbs (-1/0/1) and/or saved flag for a user."""
    at = at or iso_utc()
    store.conn.execute(
        "INSERT INTO user_papers (user_id, paper_rowid, saved, rating, saved_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, paper_rowid) DO UPDATE SET "
        # the row's own columns named with the table: PostgreSQL reads a bare name there as
        # ambiguous between the row and `excluded`
        "saved = coalesce(?, user_papers.saved), rating = coalesce(?, user_papers.rating), "
        "saved_at = coalesce(user_papers.saved_at, ?), updated_at = ?",
        (
            user_id,
            rowid,
            int(bool(saved)),
            rating or 0,
            at if saved else None,
            at,
            None if saved is None else int(saved),
            rating,
            at if saved else None,
            at,
        ),
    )


def record_upvote(store: SQLiteStore, user_id: int, rowid: int, at: str | None = None) -> None:
    store.conn.execute(
        "INSERT INTO upvotes (user_id, paper_rowid, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (user_id, rowid, at or iso_utc()),
    )


def record_tag(
    store: SQLiteStore, user_id: int, tag: str, rowid: int, at: str | None = None
) -> None:
    """Save a paper under a tag (the paper counts as saved)."""
    at = at or iso_utc()
    store.conn.execute(
        "INSERT INTO tags (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (user_id, tag)
    )
    tag_id = store.conn.execute(
        "SELECT id FROM tags WHERE user_id = ? AND name = ?", (user_id, tag)
    ).fetchone()[0]
    store.conn.execute(
        "INSERT INTO paper_tags (tag_id, paper_rowid, added_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (tag_id, rowid, at),
    )
    record_rating(store, user_id, rowid, saved=True, at=at)


def record_follow(
    store: SQLiteStore, user_id: int, kind: str, value: str, at: str | None = None
) -> None:
    store.conn.execute(
        "INSERT INTO follows (user_id, kind, value, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (user_id, kind, value, at or iso_utc()),
    )
