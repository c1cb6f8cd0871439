"""A user's library: saved papers, tags, notes, read marks, thumbs up/down, upvotes; community
submissions; stubs for imported papers; the export of everything a user owns.

Every read and write takes the acting user's id and filters on it, so an id of another user's
tag or paper state simply matches nothing (NotFoundError), whatever a request puts in its URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from paperscope.dates import iso_utc
from paperscope.errors import InputError, NotFoundError
from paperscope.model import Paper
from paperscope.store.sqlite import SQLiteStore

MAX_TAG = 60
MAX_NOTE = 20_000
#: Origin of stub records written for imported ids the store does not have yet.
STUB_ORIGIN = "library"


@dataclass(slots=True, frozen=True)
class Tag:
    id: int
    name: str
    papers: int = 0


@dataclass(slots=True)
class PaperState:
    """What one user did with one paper."""

    saved: bool = False
    rating: int = 0
    note: str = ""
    read_at: str | None = None
    saved_at: str | None = None
    tags: list[Tag] = field(default_factory=list)
    upvoted: bool = False


@dataclass(slots=True)
class LibraryItem:
    rowid: int
    paper: Paper
    state: PaperState


@dataclass(slots=True, frozen=True)
class Submission:
    id: int
    rowid: int
    user_id: int | None
    submitter: str
    day: str
    submitted_at: str
    hidden: bool


def clean_tag(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InputError("a tag needs a name")
    if len(name) > MAX_TAG:
        raise InputError(f"a tag name has at most {MAX_TAG} characters")
    return name


class Library:
    """The personal tables of one store, always seen as one user (or an admin for moderation)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.conn = store.conn

    # ------------------------------------------------------------------ helpers

    def _tx(self):
        return _Transaction(self.conn)

    def paper_rowid(self, ident: str) -> int:
        """The rowid of a paper in the store by any of its ids (NotFoundError)."""
        rowid = self.store.resolve(ident)
        if rowid is None:
            raise NotFoundError(f"no paper {ident!r} in the store")
        return rowid

    def _check_rowid(self, rowid: int) -> None:
        row = self.conn.execute(
            "SELECT 1 FROM papers WHERE rowid = ? AND deleted = 0", (rowid,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no paper with rowid {rowid}")

    def _touch(self, user_id: int, rowid: int, **values: object) -> None:
        """Upsert the (user, paper) row with `values` set."""
        now = iso_utc()
        self.conn.execute(
            "INSERT INTO user_papers (user_id, paper_rowid, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (user_id, rowid, now),
        )
        sets = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE user_papers SET {sets}, updated_at = ? WHERE user_id = ? AND paper_rowid = ?",
            (*values.values(), now, user_id, rowid),
        )

    # ------------------------------------------------------------------ tags

    def tags(self, user_id: int) -> list[Tag]:
        rows = self.conn.execute(
            "SELECT t.id, t.name, COUNT(pt.paper_rowid) AS n FROM tags t "
            "LEFT JOIN paper_tags pt ON pt.tag_id = t.id WHERE t.user_id = ? "
            "GROUP BY t.id ORDER BY lower(t.name), t.name",
            (user_id,),
        )
        return [Tag(r["id"], r["name"], r["n"]) for r in rows]

    def tag(self, user_id: int, tag_id: int) -> Tag:
        row = self.conn.execute(
            "SELECT id, name FROM tags WHERE id = ? AND user_id = ?", (tag_id, user_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no tag {tag_id} in your library")
        return Tag(row["id"], row["name"])

    def tag_named(self, user_id: int, name: str) -> Tag | None:
        row = self.conn.execute(
            "SELECT id, name FROM tags WHERE user_id = ? AND name = ?", (user_id, clean_tag(name))
        ).fetchone()
        return Tag(row["id"], row["name"]) if row else None

    def ensure_tag(self, user_id: int, name: str) -> Tag:
        name = clean_tag(name)
        self.conn.execute(
            "INSERT INTO tags (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", (user_id, name)
        )
        found = self.tag_named(user_id, name)
        assert found is not None
        return found

    def rename_tag(self, user_id: int, tag_id: int, name: str) -> Tag:
        self.tag(user_id, tag_id)
        name = clean_tag(name)
        if (other := self.tag_named(user_id, name)) is not None and other.id != tag_id:
            raise InputError(f"you already have a tag {name!r}")
        self.conn.execute(
            "UPDATE tags SET name = ? WHERE id = ? AND user_id = ?", (name, tag_id, user_id)
        )
        return Tag(tag_id, name)

    def delete_tag(self, user_id: int, tag_id: int) -> None:
        """The tag goes; its papers stay saved."""
        self.tag(user_id, tag_id)
        self.conn.execute("DELETE FROM tags WHERE id = ? AND user_id = ?", (tag_id, user_id))

    def untag(self, user_id: int, rowid: int, tag_id: int) -> None:
        self.tag(user_id, tag_id)
        self.conn.execute(
            "DELETE FROM paper_tags WHERE tag_id = ? AND paper_rowid = ?", (tag_id, rowid)
        )

    # ------------------------------------------------------------------ paper actions

    def save(self, user_id: int, rowid: int, tag: str | None = None) -> None:
        """Put the paper in the library, under `tag` too if given (created when new)."""
        self._check_rowid(rowid)
        with self._tx():
            state = self.state(user_id, rowid)
            if not state.saved:
                self._touch(user_id, rowid, saved=1, saved_at=iso_utc())
            if tag and tag.strip():
                found = self.ensure_tag(user_id, tag)
                self.conn.execute(
                    "INSERT INTO paper_tags (tag_id, paper_rowid, added_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (found.id, rowid, iso_utc()),
                )

    def unsave(self, user_id: int, rowid: int) -> None:
        """Out of the library and all the user's tags (rating and note stay)."""
        with self._tx():
            self._touch(user_id, rowid, saved=0, saved_at=None)
            self.conn.execute(
                "DELETE FROM paper_tags WHERE paper_rowid = ? AND tag_id IN "
                "(SELECT id FROM tags WHERE user_id = ?)",
                (rowid, user_id),
            )

    def rate(self, user_id: int, rowid: int, rating: int) -> None:
        if rating not in (-1, 0, 1):
            raise InputError("a rating is -1 (thumbs down), 0 (none) or 1 (thumbs up)")
        self._check_rowid(rowid)
        self._touch(user_id, rowid, rating=rating)

    def set_note(self, user_id: int, rowid: int, note: str) -> None:
        if len(note) > MAX_NOTE:
            raise InputError(f"a note has at most {MAX_NOTE} characters")
        self._check_rowid(rowid)
        self._touch(user_id, rowid, note=note.strip())

    def mark_read(self, user_id: int, rowid: int, read: bool = True) -> None:
        self._check_rowid(rowid)
        self._touch(user_id, rowid, read_at=iso_utc() if read else None)

    def upvote(self, user_id: int, rowid: int, on: bool = True) -> int:
        """Upvote (once per user and paper) or take it back; returns the paper's local count."""
        self._check_rowid(rowid)
        if on:
            self.conn.execute(
                "INSERT INTO upvotes (user_id, paper_rowid, at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (user_id, rowid, iso_utc()),
            )
        else:
            self.conn.execute(
                "DELETE FROM upvotes WHERE user_id = ? AND paper_rowid = ?", (user_id, rowid)
            )
        return self.upvote_counts([rowid]).get(rowid, 0)

    def upvote_counts(self, rowids: Iterable[int]) -> dict[int, int]:
        ids = list(dict.fromkeys(rowids))
        counts: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT paper_rowid, COUNT(*) FROM upvotes WHERE paper_rowid IN ({marks}) "
                "GROUP BY paper_rowid",
                chunk,
            ):
                counts[row[0]] = row[1]
        return counts

    # ------------------------------------------------------------------ reading

    def state(self, user_id: int, rowid: int) -> PaperState:
        return self.states(user_id, [rowid])[rowid]

    def states(self, user_id: int, rowids: Iterable[int]) -> dict[int, PaperState]:
        """The user's state of each paper (a blank state for papers they never touched)."""
        ids = list(dict.fromkeys(rowids))
        out = {rowid: PaperState() for rowid in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                "SELECT paper_rowid, saved, rating, note, read_at, saved_at FROM user_papers "
                f"WHERE user_id = ? AND paper_rowid IN ({marks})",
                (user_id, *chunk),
            ):
                state = out[r["paper_rowid"]]
                state.saved, state.rating, state.note = bool(r["saved"]), r["rating"], r["note"]
                state.read_at, state.saved_at = r["read_at"], r["saved_at"]
            for r in self.conn.execute(
                "SELECT pt.paper_rowid, t.id, t.name FROM paper_tags pt JOIN tags t "
                f"ON t.id = pt.tag_id WHERE t.user_id = ? AND pt.paper_rowid IN ({marks}) "
                "ORDER BY lower(t.name), t.name",
                (user_id, *chunk),
            ):
                out[r["paper_rowid"]].tags.append(Tag(r["id"], r["name"]))
            for r in self.conn.execute(
                f"SELECT paper_rowid FROM upvotes WHERE user_id = ? AND paper_rowid IN ({marks})",
                (user_id, *chunk),
            ):
                out[r[0]].upvoted = True
        return out

    def items(
        self,
        user_id: int,
        *,
        tag_id: int | None = None,
        unread: bool = False,
        rated: int | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[LibraryItem], int]:
        """Saved papers (newest saved first), optionally of one tag / unread / one rating."""
        where = ["up.user_id = ?", "up.saved = 1", "p.deleted = 0"]
        args: list[object] = [user_id]
        if tag_id is not None:
            self.tag(user_id, tag_id)
            where.append("up.paper_rowid IN (SELECT paper_rowid FROM paper_tags WHERE tag_id = ?)")
            args.append(tag_id)
        if unread:
            where.append("up.read_at IS NULL")
        if rated is not None:
            where.append("up.rating = ?")
            args.append(rated)
        sql_where = " AND ".join(where)
        base = f"FROM user_papers up JOIN papers p ON p.rowid = up.paper_rowid WHERE {sql_where}"
        total = self.conn.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0]
        rowids = [
            r[0]
            for r in self.conn.execute(
                f"SELECT up.paper_rowid {base} ORDER BY up.saved_at DESC, up.paper_rowid DESC "
                "LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
        ]
        papers = self.store.load_rowids(rowids)
        states = self.states(user_id, rowids)
        items = [LibraryItem(r, papers[r], states[r]) for r in rowids if r in papers]
        return items, total

    def saved_rowids(self, user_id: int, tag_id: int | None = None) -> list[int]:
        """Every saved paper of the user (or of one tag), for exports; oldest saved first."""
        if tag_id is not None:
            self.tag(user_id, tag_id)
            rows = self.conn.execute(
                "SELECT paper_rowid FROM paper_tags WHERE tag_id = ? ORDER BY added_at",
                (tag_id,),
            )
        else:
            rows = self.conn.execute(
                "SELECT paper_rowid FROM user_papers WHERE user_id = ? AND saved = 1 "
                "ORDER BY saved_at, paper_rowid",
                (user_id,),
            )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ import stubs

    def add_stubs(self, papers: Sequence[Paper]) -> list[tuple[int | None, bool]]:
        """Minimal records of imported papers the store lacks; a later harvest fills them.

        Per paper, in order: the rowid it landed on and whether that is a new stub (False: it
        merged into a stored paper, e.g. a title-only record of one held under its arXiv id)."""
        if not papers:
            return []
        newest = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM papers").fetchone()[0]
        written = self.store.write_batch(list(papers), origin=STUB_ORIGIN)
        rowids = [self.store.resolve(ident) for ident in written.ids]
        return [(r, r is not None and r > newest) for r in rowids]

    # ------------------------------------------------------------------ submissions

    def submit(self, user_id: int, rowid: int, day: str) -> Submission:
        """Feature the paper on `day`'s feed; a paper is featured once (InputError after)."""
        self._check_rowid(rowid)
        existing = self.submission_of(rowid)
        if existing is not None:
            raise InputError(
                f"this paper was already submitted (featured on {existing.day})",
                hint="a paper is featured once",
            )
        cur = self.conn.execute(
            "INSERT INTO submissions (paper_rowid, user_id, day, submitted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (rowid, user_id, day, iso_utc()),
        )
        if cur.rowcount == 0:  # submitted by someone else a moment ago
            raise InputError("this paper was already submitted", hint="a paper is featured once")
        found = self.submission_of(rowid)
        assert found is not None
        return found

    _SUBMISSION_SQL = (
        "SELECT s.id, s.paper_rowid, s.user_id, s.day, s.submitted_at, s.hidden, "
        "COALESCE(NULLIF(u.display_name, ''), substr(u.email, 1, instr(u.email, '@') - 1), "
        "'a former user') AS submitter "
        "FROM submissions s LEFT JOIN users u ON u.id = s.user_id "
    )

    @staticmethod
    def _submission(r) -> Submission:
        return Submission(
            r["id"],
            r["paper_rowid"],
            r["user_id"],
            r["submitter"],
            r["day"],
            r["submitted_at"],
            bool(r["hidden"]),
        )

    def submission_of(self, rowid: int) -> Submission | None:
        row = self.conn.execute(
            self._SUBMISSION_SQL + "WHERE s.paper_rowid = ?", (rowid,)
        ).fetchone()
        return self._submission(row) if row else None

    def submissions(
        self,
        *,
        day: str | None = None,
        user_id: int | None = None,
        include_hidden: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Submission]:
        where, args = ["1 = 1"], []
        if day is not None:
            where.append("s.day = ?")
            args.append(day)
        if user_id is not None:
            where.append("s.user_id = ?")
            args.append(user_id)
        if not include_hidden:
            where.append("s.hidden = 0")
        rows = self.conn.execute(
            self._SUBMISSION_SQL
            + "WHERE "
            + " AND ".join(where)
            + " ORDER BY s.submitted_at DESC, s.id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [self._submission(r) for r in rows]

    def set_hidden(self, submission_id: int, hidden: bool = True) -> None:
        """Moderation (admins only: the route checks)."""
        cur = self.conn.execute(
            "UPDATE submissions SET hidden = ? WHERE id = ?", (int(hidden), submission_id)
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no submission {submission_id}")

    # ------------------------------------------------------------------ export

    def export_user(self, user_id: int) -> dict:
        """Everything the store keeps about the user, as JSON-ready data."""
        user = self.conn.execute(
            "SELECT id, email, display_name, is_admin, disabled, created_at, digest, "
            "last_digest_at, settings FROM users WHERE id = ?",
            (user_id,),
        ).fetchone()
        if user is None:
            raise NotFoundError(f"no user with id {user_id}")
        account = dict(user)
        account["is_admin"], account["disabled"] = bool(user["is_admin"]), bool(user["disabled"])
        account["settings"] = json.loads(user["settings"] or "{}")
        papers_rows = self.conn.execute(
            "SELECT * FROM user_papers WHERE user_id = ? ORDER BY saved_at, paper_rowid",
            (user_id,),
        ).fetchall()
        upvoted = [
            r[0]
            for r in self.conn.execute(
                "SELECT paper_rowid FROM upvotes WHERE user_id = ? ORDER BY at", (user_id,)
            )
        ]
        subs = self.submissions(user_id=user_id, include_hidden=True, limit=1_000_000)
        rowids = [r["paper_rowid"] for r in papers_rows] + upvoted + [s.rowid for s in subs]
        ids = self._paper_ids(rowids)
        states = self.states(user_id, [r["paper_rowid"] for r in papers_rows])
        library = [
            {
                "paper": ids.get(r["paper_rowid"], {"id": None}),
                "saved": bool(r["saved"]),
                "saved_at": r["saved_at"],
                "rating": r["rating"],
                "note": r["note"],
                "read_at": r["read_at"],
                "updated_at": r["updated_at"],
                "tags": [t.name for t in states[r["paper_rowid"]].tags],
            }
            for r in papers_rows
        ]
        upvote_at = dict(
            self.conn.execute(
                "SELECT paper_rowid, at FROM upvotes WHERE user_id = ?", (user_id,)
            ).fetchall()
        )
        follows = [
            dict(r)
            for r in self.conn.execute(
                "SELECT kind, value, created_at FROM follows WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
        ]
        tokens = [
            dict(r)
            for r in self.conn.execute(
                "SELECT name, created_at, last_used_at FROM api_tokens WHERE user_id = ? "
                "ORDER BY id",
                (user_id,),
            )
        ]
        digests = [
            dict(r)
            for r in self.conn.execute(
                "SELECT created_at, status, sent_at FROM digests WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
        ]
        return {
            "format": "paperscope-user-export/1",
            "exported_at": iso_utc(),
            "account": account,
            "tags": [asdict(t) for t in self.tags(user_id)],
            "library": library,
            "upvotes": [
                {"paper": ids.get(r, {"id": None}), "at": upvote_at.get(r)} for r in upvoted
            ],
            "follows": follows,
            "submissions": [
                {
                    "paper": ids.get(s.rowid, {"id": None}),
                    "day": s.day,
                    "submitted_at": s.submitted_at,
                    "hidden": s.hidden,
                }
                for s in subs
            ],
            "api_tokens": tokens,
            "digests": digests,
        }

    def _paper_ids(self, rowids: Iterable[int]) -> dict[int, dict]:
        papers = self.store.load_rowids(list(dict.fromkeys(rowids)))
        return {
            rowid: {"id": p.id, "title": p.title, "arxiv_id": p.arxiv_id, "doi": p.doi}
            for rowid, p in papers.items()
        }


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error; joins an open transaction."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self):
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
