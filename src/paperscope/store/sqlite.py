"""The embedded default store: one SQLite file in WAL mode.

The lexical and vector indexes are caches beside the file (`paperscope.index`), rebuilt from
it; the store itself keeps only records and the keys that merge them.

One writer at a time (``BEGIN IMMEDIATE``); every batch of papers commits in one transaction
together with the harvest cursor that produced it, so a killed process loses at most the batch
in flight and never leaves half a paper behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperscope.dates import iso_utc
from paperscope.errors import NotFoundError, StoreError
from paperscope.model import Paper
from paperscope.normalize import (
    arxiv_id_from_doi,
    find_arxiv_id,
    legacy_title_key,
    normalize_arxiv_id,
    normalize_doi,
    title_key,
)
from paperscope.store.backup import access_error, access_problem
from paperscope.store.merge import merge_papers
from paperscope.store.migrate import apply_pending
from paperscope.store.rows import (
    PAPER_COLUMNS,
    aliases_of,
    author_rows,
    first_author_key,
    paper_row,
    row_to_paper,
)

if TYPE_CHECKING:
    from paperscope.store.backup import BackupResult

#: SQLite's default limit on bound variables is 32766 since 3.32; stay well below it.
_CHUNK = 900
#: Titles shorter than this (as keys) are too generic to merge on ("Introduction").
_MIN_TITLE_KEY = 12
#: The page size of new stores (and of `compact`): five 1,536-byte vectors fit on an 8 KiB
#: page, only two on SQLite's default 4 KiB (docs/bench/vector_storage.txt).
PAGE_SIZE = 8192


@dataclass(slots=True)
class BatchResult:
    added: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0
    #: Records that landed on a paper an earlier record of the same file (or batch) had
    #: already added or matched: the file's preprint and journal version, one paper.
    merged_in_file: int = 0
    ids: list[str] = field(default_factory=list)

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.added += other.added
        self.merged += other.merged
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.merged_in_file += other.merged_in_file
        return self


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _title_keys(title: str) -> list[str]:
    """The keys a stored twin of `title` may be filed under: today's, then the one stores
    written before TeX style macros were ignored hold (`legacy_title_key`)."""
    key, legacy = title_key(title), legacy_title_key(title)
    return [key] if key == legacy else [key, legacy]


def _compatible(a: Paper, b: Paper) -> bool:
    """May two records with the same title key be one paper? Not if their ids disagree."""
    if a.arxiv_id and b.arxiv_id and a.arxiv_id != b.arxiv_id:
        return False
    fa, fb = first_author_key(a), first_author_key(b)
    return not fa or not fb or fa == fb


def _write_error(path: Path, exc: BaseException) -> StoreError | None:
    """A full disk or a store another writer keeps locked, as an error the CLI explains
    (the batch was rolled back: running the same command again writes it once)."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code == sqlite3.SQLITE_FULL:
        return StoreError(
            f"the disk holding {path} is full; the batch in flight was not written",
            hint="free some space and run the same command again: what landed is kept, "
            "and nothing is written twice",
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"{path} stayed locked by another writer; the batch in flight was not written",
            hint="let the other paperscope command finish, then run this one again",
        )
    return None


class SQLiteStore:
    """Papers in one SQLite file. Use as a context manager or call `close()`."""

    backend = "sqlite"

    def __init__(self, path: str | Path) -> None:
        if str(path).startswith(("postgresql:/", "postgres:/")):
            # a URL that went through Path() lost a slash: never make a file of it
            raise StoreError(
                f"{path} is a PostgreSQL URL, not a SQLite file",
                hint="open it with store.backends.open_store(url), given as a string",
            )
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                str(path), isolation_level=None, timeout=30, check_same_thread=False
            )
            self.conn.row_factory = sqlite3.Row
            # takes effect in a new, empty file only; `compact` converts an existing one
            self.conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            self.conn.execute("PRAGMA cache_size=-65536")
            # the personal tables cascade a deleted user's rows (0005_personal.sql)
            self.conn.execute("PRAGMA foreign_keys=ON")
            apply_pending(self.conn)
        except sqlite3.DatabaseError as exc:
            problem = access_problem(self.path) if str(path) != ":memory:" else None
            if problem:  # not the file's contents, so not "is it a paperscope database?"
                raise access_error(path, problem) from exc
            raise StoreError(
                f"cannot open the paper store {path}: {exc}",
                hint="is it a paperscope database? `--db PATH` chooses another file",
            ) from exc

    def close(self) -> None:
        self.conn.close()

    def db_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def data_state(self) -> tuple[int, int]:
        """A pair that changes whenever anything in the database changed, for caches of what
        is read from it: another connection's commit moves `PRAGMA data_version`, this
        connection's own writes move `total_changes`."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return version, self.conn.total_changes

    def job_lease(self, name: str):
        """Take the lease of background job `name` if no process holds it: a `JobLease`
        (release it, or use it in a ``with``), else None. A file lock beside the database
        (store/jobs.py), so every process on this file takes turns, whatever its index
        folder."""
        from paperscope.store.jobs import sqlite_lease

        return sqlite_lease(self, name)

    def job_lease_held(self, name: str) -> bool:
        """Whether some process holds the lease of job `name` now."""
        from paperscope.store.jobs import sqlite_held

        return sqlite_held(self, name)

    def tables(self) -> dict[str, tuple[list[str], list[str]]]:
        """Every table of the store but the migrations' record: its columns and the columns
        that key a row (the primary key, else the first unique index, else all columns), for
        `paperscope db copy` (store/copy.py)."""
        found: dict[str, tuple[list[str], list[str]]] = {}
        names = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'schema_migrations' ORDER BY name"
        ).fetchall()
        for (name,) in names:
            info = self.conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            columns = [r["name"] for r in info]
            key = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]]
            if not key:
                for index in self.conn.execute(f'PRAGMA index_list("{name}")').fetchall():
                    if index["unique"]:
                        rows = self.conn.execute(f'PRAGMA index_info("{index["name"]}")')
                        key = [r["name"] for r in sorted(rows, key=lambda r: r["seqno"])]
                        break
            found[name] = (columns, key or columns)
        return found

    def reset_sequences(self) -> None:
        """Nothing to do: SQLite hands out the next id after the largest one in the table."""

    def page_size(self) -> int:
        return self.conn.execute("PRAGMA page_size").fetchone()[0]

    def compact(self, page_size: int = PAGE_SIZE) -> None:
        """Rewrite the file with `page_size` pages and without free pages (VACUUM). WAL mode
        cannot change the page size, so the file leaves it for the rewrite; that needs the
        store to itself: another process using it makes this fail, and changes nothing."""
        if page_size not in (1024, 2048, 4096, 8192, 16384, 32768, 65536):
            raise StoreError(f"not a SQLite page size: {page_size}")
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            mode = self.conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode.lower() != "delete":
                raise sqlite3.OperationalError("another process has the store open")
            self.conn.execute(f"PRAGMA page_size={int(page_size)}")
            self.conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"cannot compact {self.path}: {exc}",
                hint="stop `paperscope serve` and other commands using the store, then retry",
            ) from exc
        finally:
            self.conn.execute("PRAGMA journal_mode=WAL")

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ operations
    # backup, restore and check: the store's side of `paperscope backup|restore|doctor`
    # (store/backup.py); another backend provides the same three.

    def backup(self, target: str | Path, *, force: bool = False) -> BackupResult:
        """A consistent copy of this store, taken while other processes go on writing."""
        from paperscope.store import backup

        return backup.backup(self.conn, target, force=force)

    @classmethod
    def restore(cls, source: str | Path, target: str | Path, *, force: bool = False, progress=None):
        """Replace the store at `target` with the backup `source` (refused while in use, and
        when it holds data unless `force`); returns the backup's `StoreHealth`. `progress`
        (table, done, total) is for a copy table by table: SQLite copies the file's pages
        in one step, not reported."""
        from paperscope.store import backup

        return backup.restore(Path(source), Path(target), force=force)

    @classmethod
    def check(cls, path: str | Path, *, full: bool = True):
        """Integrity, foreign keys and migrations of the store at `path`, read-only."""
        from paperscope.store import backup

        return backup.check(Path(path), full=full)

    # ------------------------------------------------------------------ reading

    def load_rowids(self, rowids: Iterable[int]) -> dict[int, Paper]:
        return SQLiteStoreReader(self.conn).load(rowids)

    def resolve(self, ident: str) -> int | None:
        """The rowid of a paper by id, arXiv id or URL, DOI or former id."""
        ident = ident.strip()
        row = self.conn.execute("SELECT rowid FROM papers WHERE id = ?", (ident,)).fetchone()
        if row:
            return row[0]
        keys = []
        arxiv = normalize_arxiv_id(ident) or find_arxiv_id(ident)
        if arxiv:
            keys.append("arxiv:" + arxiv)
        doi = normalize_doi(ident)
        if doi:
            keys.append("doi:" + doi)
            # arXiv's own DOI (10.48550/arXiv.ID) names the arXiv id, which records carry far
            # more often than that DOI: /paper/10.48550/arXiv.ID was a 404
            if not arxiv and (from_doi := arxiv_id_from_doi(doi)):
                keys.append("arxiv:" + from_doi)
        keys.append("id:" + ident)
        for key in keys:
            row = self.conn.execute(
                "SELECT paper_rowid FROM paper_aliases WHERE alias = ?", (key,)
            ).fetchone()
            if row:
                return row[0]
        return None

    def modified_times(self, ids: Iterable[str]) -> dict[str, str]:
        """When each paper's record last changed in this store (UTC, ISO 8601), by paper id."""
        times: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT id, modified_at FROM papers WHERE id IN ({marks})", chunk
            ).fetchall()
            times.update({row[0]: row[1] for row in rows if row[1]})
        return times

    def get(self, ident: str) -> Paper:
        rowid = self.resolve(ident)
        paper = self.load_rowids([rowid]).get(rowid) if rowid is not None else None
        if paper is None:
            hint = "ids are arXiv ids (2301.12345), DOIs or the ids search results give"
            arxiv = normalize_arxiv_id(ident)
            # YYMM.NNNNN: a month 01-12 (9999.99999 has the shape, not the meaning)
            if arxiv and ("/" in arxiv or 1 <= int(arxiv[2:4]) <= 12):
                # an arXiv id is what was given: telling the reader ids are arXiv ids is no
                # help; where the paper is, and how to add it, is
                hint = (
                    f"arXiv {arxiv} is not in this collection: https://arxiv.org/abs/{arxiv};"
                    f" `paperscope harvest arxiv --id-list {arxiv}` adds it"
                )
            raise NotFoundError(f"no paper {ident!r} in the store", hint=hint)
        return paper

    def paper_sources(self, ident: str) -> list[tuple[str, str, str]]:
        """(source, origin, first seen) of the paper `ident` names, oldest first."""
        rowid = self.resolve(ident)
        return [] if rowid is None else self.sources_of(rowid)

    def sources_of(self, rowid: int) -> list[tuple[str, str, str]]:
        """(source, origin, first seen) of the paper `rowid`, oldest first."""
        return [
            tuple(r)
            for r in self.conn.execute(
                "SELECT source, origin, first_seen FROM paper_sources WHERE paper_rowid = ? "
                "ORDER BY first_seen, source",
                (rowid,),
            )
        ]

    def duplicate_rowids(self, rowid: int) -> list[int]:
        """Other papers with the same normalised title that were kept apart (say, a first
        author spelt differently): "similar papers" must not offer them."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT rowid FROM papers WHERE title_key = (SELECT title_key FROM papers "
                "WHERE rowid = ?) AND rowid != ?",
                (rowid, rowid),
            )
        ]

    def iter_papers(self, batch: int = 1000) -> Iterator[tuple[int, Paper]]:
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT rowid, * FROM papers WHERE rowid > ? AND deleted = 0 "
                "ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row["rowid"], row_to_paper(row)
            last = rows[-1]["rowid"]

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM papers WHERE deleted = 0").fetchone()[0]

    def stats(self) -> dict:
        """Counts for `paperscope stats`; `authors` counts distinct family-name + initial keys."""
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        by_source: dict[str, int] = {}
        for (sources,) in self.conn.execute("SELECT sources FROM papers WHERE deleted = 0"):
            for source in sources.split():
                by_source[source] = by_source.get(source, 0) + 1
        years = dict(
            self.conn.execute(
                "SELECT substr(published, 1, 4), count(*) FROM papers WHERE deleted = 0 "
                "AND published IS NOT NULL GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        return {
            "papers": self.count(),
            "authors": one(
                "SELECT count(DISTINCT name_key) FROM paper_authors JOIN papers "
                "ON papers.rowid = paper_authors.paper_rowid WHERE papers.deleted = 0"
            ),
            "deleted": one("SELECT count(*) FROM papers WHERE deleted != 0"),
            "with_abstract": one(
                "SELECT count(*) FROM papers WHERE deleted = 0 AND abstract != ''"
            ),
            "with_arxiv_id": one(
                "SELECT count(*) FROM papers WHERE deleted = 0 AND arxiv_id IS NOT NULL"
            ),
            "by_source": dict(sorted(by_source.items())),
            "by_year": years,
            "oldest": one("SELECT min(published) FROM papers WHERE deleted = 0"),
            "newest": one("SELECT max(published) FROM papers WHERE deleted = 0"),
            "harvests": dict(self.conn.execute("SELECT key, value FROM harvest_state").fetchall()),
            "db_path": str(self.path),
            "db_bytes": self.db_bytes(),
        }

    # ------------------------------------------------------------------ vectors

    def rowids_without_vectors(self, model: str, limit: int | None = None) -> list[int]:
        """Papers that have no vector made by `model` (new, re-worded, or another model's)."""
        sql = (
            "SELECT rowid FROM papers p WHERE deleted = 0 AND NOT EXISTS (SELECT 1 FROM "
            "paper_vectors v WHERE v.paper_rowid = p.rowid AND v.model = ?) ORDER BY rowid"
        )
        params: tuple = (model,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (model, limit)
        return [r[0] for r in self.conn.execute(sql, params)]

    def rowids_newest(self, limit: int | None = None) -> list[int]:
        """Papers newest first by publication date (undated ones last), at most `limit`."""
        sql = (
            "SELECT rowid FROM papers WHERE deleted = 0 "
            "ORDER BY published IS NULL, published DESC, rowid DESC"
        )
        if limit is None:
            return [r[0] for r in self.conn.execute(sql)]
        return [r[0] for r in self.conn.execute(sql + " LIMIT ?", (limit,))]

    def has_vectors(self) -> bool:
        """Whether any paper has a vector (of any model): without one, searching by meaning
        has nothing to compare with, and the model need not be loaded."""
        return self.conn.execute("SELECT 1 FROM paper_vectors LIMIT 1").fetchone() is not None

    def count_embedded(self, model: str | None = None) -> int:
        if model is None:
            sql, params = "SELECT count(DISTINCT paper_rowid) FROM paper_vectors", ()
        else:
            sql = "SELECT count(DISTINCT paper_rowid) FROM paper_vectors WHERE model = ?"
            params = (model,)
        return self.conn.execute(sql, params).fetchone()[0]

    def save_vectors(self, model: str, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Replace the vectors of the papers in `rows` ((rowid, passage, float32 bytes)), in
        one transaction, so a killed `embed` never leaves a paper half-embedded."""
        rowids = sorted({r[0] for r in rows})
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(
                "DELETE FROM paper_vectors WHERE paper_rowid = ?", [(r,) for r in rowids]
            )
            self.conn.executemany(
                "INSERT INTO paper_vectors (paper_rowid, passage, model, vector) "
                "VALUES (?, ?, ?, ?)",
                [(r, p, model, v) for r, p, v in rows],
            )
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def passage_vectors(self, model: str, passage: int, rowids: Sequence[int]) -> dict[int, bytes]:
        """One passage's vector bytes for each of `rowids` that has it."""
        found: dict[int, bytes] = {}
        for chunk in _chunks(list(rowids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                self.conn.execute(
                    f"SELECT paper_rowid, vector FROM paper_vectors WHERE model = ? AND "
                    f"passage = ? AND paper_rowid IN ({marks})",
                    (model, passage, *chunk),
                ).fetchall()
            )
        return found

    def iter_vectors(
        self, model: str, batch: int = 20_000
    ) -> Iterator[list[tuple[int, int, bytes]]]:
        """All (rowid, passage, vector bytes) of `model`, in rowid order, in chunks."""
        last = (-1, -1)
        while True:
            rows = self.conn.execute(
                "SELECT paper_rowid, passage, vector FROM paper_vectors WHERE model = ? AND "
                "(paper_rowid, passage) > (?, ?) ORDER BY paper_rowid, passage LIMIT ?",
                (model, *last, batch),
            ).fetchall()
            if not rows:
                return
            yield [tuple(r) for r in rows]
            last = (rows[-1][0], rows[-1][1])

    def generation(self) -> int:
        """Bumped by every write that adds, changes or deletes papers: derived indexes store
        the generation they were built at and catch up when it moved."""
        return self._meta("generation")

    def vectors_generation(self) -> int:
        """Moved by every vector written or removed (a trigger on paper_vectors), not by other
        writes: caches of vector search results are valid while it stands still."""
        return self._meta("vectors_generation")

    def _meta(self, key: str) -> int:
        return self.conn.execute("SELECT value FROM store_meta WHERE key = ?", (key,)).fetchone()[0]

    def deleted_among(self, rowids: Iterable[int]) -> set[int]:
        """Those of `rowids` that are deleted papers."""
        return self._rowids_where("deleted != 0", rowids)

    def live_among(self, rowids: Iterable[int]) -> set[int]:
        """Those of `rowids` that are papers not deleted."""
        return self._rowids_where("deleted = 0", rowids)

    def _rowids_where(self, condition: str, rowids: Iterable[int]) -> set[int]:
        ids = [int(r) for r in rowids]
        found: set[int] = set()
        for s in range(0, len(ids), 900):  # SQLite's bound-parameter limit, with margin
            chunk = ids[s : s + 900]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT rowid FROM papers WHERE {condition} AND rowid IN ({marks})", chunk
                )
            )
        return found

    def rowids_modified_since(self, since: str) -> list[int]:
        """Papers added, changed or deleted at or after the ISO timestamp `since`."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT rowid FROM papers WHERE modified_at >= ? ORDER BY rowid", (since,)
            )
        ]

    def get_cursor(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM harvest_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ writing

    def write_batch(
        self,
        papers: Sequence[Paper],
        *,
        origin: str,
        deletions: Sequence[str] = (),
        cursor: tuple[str, str] | None = None,
        seen: set[int] | None = None,
    ) -> BatchResult:
        """Add or merge `papers`, apply `deletions` (arXiv ids) and save `cursor`, atomically.

        Every record is counted once: added, merged, unchanged, or merged_in_file when its
        paper was already written by an earlier record of this batch or of `seen` (the rowids
        earlier batches of the same file wrote; updated here once the batch commits).
        """
        result = BatchResult()
        earlier = set(seen) if seen else set()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            _BatchWriter(self.conn, origin).write(papers, result, earlier)
            if deletions:
                result.deleted = self._mark_deleted(deletions)
            if result.added or result.merged or result.deleted:
                self.conn.execute(
                    "UPDATE store_meta SET value = value + 1 WHERE key = 'generation'"
                )
            if cursor is not None:
                self.conn.execute(
                    "INSERT INTO harvest_state (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (cursor[0], cursor[1], iso_utc()),
                )
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            explained = _write_error(self.path, exc)
            if explained is not None:
                raise explained from exc
            raise
        if seen is not None:
            seen.update(earlier)
        return result

    def _mark_deleted(self, arxiv_ids: Sequence[str]) -> int:
        marked = 0
        for arxiv_id in arxiv_ids:
            cur = self.conn.execute(
                "UPDATE papers SET deleted = 1, modified_at = ? WHERE deleted = 0 AND rowid = "
                "(SELECT paper_rowid FROM paper_aliases WHERE alias = ?)",
                (iso_utc(), "arxiv:" + arxiv_id),
            )
            marked += cur.rowcount
        return marked


class _BatchWriter:
    """Matches one batch of records against the store and itself, then writes the result.

    Lookups are done per batch (one query per key kind), not per paper: that is what keeps a
    200k-paper import at thousands of papers a second.
    """

    def __init__(self, conn: sqlite3.Connection, origin: str) -> None:
        self.conn = conn
        self.origin = origin
        self.now = iso_utc()
        self.alias_map: dict[str, int] = {}
        self.title_map: dict[str, list[int]] = {}
        self.current: dict[int, Paper] = {}  # rowid -> the record as it will be written
        self.stored: dict[int, Paper] = {}  # rowid -> the record as it is in the store
        self.new_rowids: list[int] = []
        self.changed: set[int] = set()
        self.ids: dict[str, int] = {}  # paper id -> rowid, for this batch and what it touches

    def write(self, papers: Sequence[Paper], result: BatchResult, earlier: set[int]) -> None:
        """Write `papers`; `earlier` (rowids this file already wrote) gains this batch's."""
        self._prefetch(papers)
        next_rowid = self.conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM papers").fetchone()[
            0
        ]
        touched: list[int] = []
        # (rowid, source) per record read: the source row names the format that sent this
        # record, not the merged paper's last source (another format's, when this one had
        # already sent the paper from another file).
        arrivals: list[tuple[int, str]] = []
        for paper in papers:
            sent_by = list(paper.sources)
            rowid = self._match(paper)
            if rowid is None:
                rowid, next_rowid = next_rowid, next_rowid + 1
                paper.id = self._free_id(paper.canonical_id(), rowid)
                self.current[rowid] = paper
                self.new_rowids.append(rowid)
                result.added += 1
            else:
                before = self.current[rowid]
                merged = merge_papers(before, paper)
                if merged != before:
                    self.current[rowid] = merged
                    if rowid not in self.new_rowids:
                        self.changed.add(rowid)
                if rowid in earlier:
                    result.merged_in_file += 1
                elif merged != before:
                    result.merged += 1
                else:
                    result.unchanged += 1
            earlier.add(rowid)
            self._remember(rowid, self.current[rowid])
            touched.append(rowid)
            arrivals.extend((rowid, s) for s in sent_by)
        self._flush(touched, arrivals)
        result.ids.extend(self.current[r].id for r in touched)

    # -- matching

    def _prefetch(self, papers: Sequence[Paper]) -> None:
        aliases = sorted({a for p in papers for a in aliases_of(p)})
        rowids: set[int] = set()
        for chunk in _chunks(aliases):
            marks = ",".join("?" * len(chunk))
            for alias, rowid in self.conn.execute(
                f"SELECT alias, paper_rowid FROM paper_aliases WHERE alias IN ({marks})", chunk
            ):
                self.alias_map[alias] = rowid
                rowids.add(rowid)
        keys = sorted({k for p in papers for k in _title_keys(p.title) if len(k) >= _MIN_TITLE_KEY})
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for rowid, key in self.conn.execute(
                f"SELECT rowid, title_key FROM papers WHERE title_key IN ({marks}) AND deleted = 0",
                chunk,
            ):
                self.title_map.setdefault(key, []).append(rowid)
                rowids.add(rowid)
        wanted = sorted({p.canonical_id() for p in papers})
        self.checked_ids: set[str] = set(wanted)
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for rowid, ident in self.conn.execute(
                f"SELECT rowid, id FROM papers WHERE id IN ({marks})", chunk
            ):
                self.ids[ident] = rowid
        if rowids:
            loaded = SQLiteStoreReader(self.conn).load(rowids)
            self.stored.update(loaded)
            self.current.update(loaded)

    def _match(self, paper: Paper) -> int | None:
        for alias in aliases_of(paper):
            rowid = self.alias_map.get(alias)
            if rowid is not None:
                return rowid
        for key in _title_keys(paper.title):
            if len(key) >= _MIN_TITLE_KEY:
                for rowid in self.title_map.get(key, ()):
                    if _compatible(self.current[rowid], paper):
                        return rowid
        return None

    def _remember(self, rowid: int, paper: Paper) -> None:
        for alias in aliases_of(paper):
            self.alias_map.setdefault(alias, rowid)
        key = title_key(paper.title)
        if len(key) >= _MIN_TITLE_KEY:
            rowids = self.title_map.setdefault(key, [])
            if rowid not in rowids:
                rowids.append(rowid)

    def _free_id(self, wanted: str, rowid: int) -> str:
        """`wanted`, unless another paper already holds it (two papers, one title hash)."""
        holder = self.ids.get(wanted)
        if holder is None and wanted not in self.checked_ids:
            row = self.conn.execute("SELECT rowid FROM papers WHERE id = ?", (wanted,)).fetchone()
            holder = row[0] if row else None
        if holder is not None and holder != rowid:
            wanted = f"{wanted}-{rowid}"
        self.ids[wanted] = rowid
        return wanted

    # -- writing

    def _flush(self, touched: list[int], arrivals: list[tuple[int, str]]) -> None:
        self._upgrade_ids()
        self._insert_new()
        self._update_changed()
        alias_rows = [(a, r) for r in set(touched) for a in aliases_of(self.current[r])]
        self.conn.executemany(
            "INSERT INTO paper_aliases (alias, paper_rowid) VALUES (?, ?) ON CONFLICT DO NOTHING",
            alias_rows,
        )
        source_rows = {(r, s, self.origin, self.now) for r, s in arrivals}
        self.conn.executemany(
            "INSERT INTO paper_sources (paper_rowid, source, origin, first_seen) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            sorted(source_rows),
        )

    def _upgrade_ids(self) -> None:
        """A paper first known by title hash or DOI takes its arXiv id once one arrives; the
        old id stays an alias so links to it keep working.

        A paper this batch adds takes it too: the journal version and the arXiv preprint in
        one BibTeX file kept the DOI as id, which the same two records in two files did not.
        Its first id was never written, so it needs no alias."""
        added = set(self.new_rowids)
        for rowid in [*self.changed, *self.new_rowids]:
            paper = self.current[rowid]
            wanted = paper.canonical_id()
            if wanted == paper.id:
                continue
            former = paper.id
            if self._free_id(wanted, rowid) != wanted:
                continue
            if rowid not in added:
                self.conn.execute(
                    "INSERT INTO paper_aliases (alias, paper_rowid) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    ("id:" + former, rowid),
                )
            elif self.ids.get(former) == rowid:
                del self.ids[former]  # never written: free for another paper of this batch
            paper.id = wanted

    def _insert_new(self) -> None:
        if not self.new_rowids:
            return
        cols = ("rowid", *PAPER_COLUMNS, "added_at", "modified_at")
        rows = [(r, *paper_row(self.current[r]), self.now, self.now) for r in self.new_rowids]
        self.conn.executemany(
            f"INSERT INTO papers ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows
        )
        self.conn.executemany(
            "INSERT INTO paper_authors (paper_rowid, position, name, name_key, family_key) "
            "VALUES (?, ?, ?, ?, ?)",
            [a for r in self.new_rowids for a in author_rows(r, self.current[r])],
        )

    def _update_changed(self) -> None:
        changed = sorted(self.changed)
        if not changed:
            return
        old_rows = {}
        for chunk in _chunks(changed):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT rowid, title, authors_text, abstract FROM papers WHERE rowid IN ({marks})",
                chunk,
            ):
                old_rows[row[0]] = tuple(row)
        assignments = ", ".join(f"{c} = ?" for c in PAPER_COLUMNS)
        new_rows = {r: paper_row(self.current[r]) for r in changed}
        self.conn.executemany(
            f"UPDATE papers SET {assignments}, modified_at = ? WHERE rowid = ?",
            [(*new_rows[r], self.now, r) for r in changed],
        )
        self.conn.executemany(
            "DELETE FROM paper_authors WHERE paper_rowid = ?", [(r,) for r in changed]
        )
        # a paper whose embedded text changed must be embedded again
        reworded = [
            (r,)
            for r in changed
            if (old_rows[r][1], old_rows[r][3]) != (new_rows[r][1], new_rows[r][2])
        ]
        self.conn.executemany("DELETE FROM paper_vectors WHERE paper_rowid = ?", reworded)
        self.conn.executemany(
            "INSERT INTO paper_authors (paper_rowid, position, name, name_key, family_key) "
            "VALUES (?, ?, ?, ?, ?)",
            [a for r in changed for a in author_rows(r, self.current[r])],
        )


class SQLiteStoreReader:
    """Loads papers by rowid on a connection (shared by the store and the batch writer)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load(self, rowids: Iterable[int]) -> dict[int, Paper]:
        found: dict[int, Paper] = {}
        for chunk in _chunks(list(rowids)):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT rowid, * FROM papers WHERE rowid IN ({marks})", chunk
            ):
                found[row["rowid"]] = row_to_paper(row)
        return found
