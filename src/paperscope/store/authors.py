"""Author pages: one per person, not per spelling, kept in tables beside the papers.

`AuthorDirectory` clusters the author occurrences of the store (`author_cluster.py`, rules in
docs/authors.md), persists the clusters (migrations 0004, 0014; `author_build.py` writes them)
and answers the pages' questions from those tables. When papers changed or a correction was
made, `ensure()` catches up incrementally (only the changed papers' name blocks are
reclustered); it costs one small query otherwise, so a web process may call it on every
request. Only `rebuild()` (the `authors rebuild` command) reclusters everything.

Slugs are handed out once per anchor (a stable thing a cluster holds: a full name's key, an
initials-only name's first paper rowid, a correction id) and never reused, so a page keeps its
URL when papers arrive, and the slug of a merged-away person resolves to the survivor.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson

from paperscope.dates import iso_utc
from paperscope.errors import InputError, NotFoundError
from paperscope.model import MAX_NAME, Paper
from paperscope.store.author_build import (
    MAX_COAUTHORS,
    CatchUp,
    apply_catch_up,
    builds,
    cluster_all,
    plan_catch_up,
    read_corrections,
    write_all,
    write_meta,
)
from paperscope.store.author_cluster import MAX_PAIRED_AUTHORS
from paperscope.store.author_names import PersonName, compatible_initials, name_fold, parse_person
from paperscope.store.like import LIKE_ESCAPE, like_escaped
from paperscope.store.sqlite import SQLiteStore

_CHUNK = 900
#: People with at least this many papers get their coauthors counted at rebuild time; smaller
#: ones are counted by one indexed query when the page is asked for.
BIG_AUTHOR = 150
#: Affiliations are read from this many newest papers (they change over a career).
AFFILIATION_PAPERS = 200
#: Longest name a look-up takes: the longest an author name in the store may be. Longer text
#: cannot name anyone, and SQLite refuses LIKE patterns over 50,000 bytes.
MAX_LOOKUP = MAX_NAME


@dataclass(slots=True)
class AuthorSummary:
    slug: str
    name: str
    papers: int


@dataclass(slots=True)
class AuthorProfile:
    slug: str
    name: str
    variants: list[tuple[str, int]]  # spelling, papers
    affiliations: list[str]
    papers: Sequence[tuple[int, Paper]]  # newest first; a PaperList, loaded as it is read
    per_year: dict[int, int]
    coauthors: list[tuple[AuthorSummary, int]]  # coauthor, shared papers, most first
    categories: list[tuple[str, int]]


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PaperList(Sequence):
    """A person's papers, newest first, loaded from the store only when read: an author page
    shows 20 of a prolific author's thousands. Slicing and indexing load just those papers."""

    def __init__(self, store: SQLiteStore, rowids: list[int]) -> None:
        self.store = store
        self.rowids = rowids
        self._cache: dict[int, Paper] = {}

    def __len__(self) -> int:
        return len(self.rowids)

    def _load(self, rowids: list[int]) -> list[tuple[int, Paper]]:
        missing = [r for r in rowids if r not in self._cache]
        if missing:
            self._cache.update(self.store.load_rowids(missing))
        return [(r, self._cache[r]) for r in rowids if r in self._cache]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self._load(self.rowids[index])
        rowid = self.rowids[index]
        return self._load([rowid])[0]

    def __iter__(self) -> Iterator[tuple[int, Paper]]:
        for start in range(0, len(self.rowids), 500):
            yield from self._load(self.rowids[start : start + 500])

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"PaperList({len(self.rowids)} papers)"


class AuthorDirectory:
    """Author identity over one `SQLiteStore`."""

    def __init__(self, store: SQLiteStore, *, big_author: int = BIG_AUTHOR) -> None:
        self.store = store
        self.conn: sqlite3.Connection = store.conn
        self.big_author = big_author

    # ------------------------------------------------------------------ freshness

    def _state(self) -> tuple[tuple[int, int], tuple[int | None, int | None]]:
        row = self.conn.execute(
            "SELECT (SELECT value FROM store_meta WHERE key = 'generation'), "
            "(SELECT coalesce(max(id), 0) FROM author_corrections), "
            "(SELECT value FROM author_meta WHERE key = 'generation'), "
            "(SELECT value FROM author_meta WHERE key = 'corrections')"
        ).fetchone()
        return (row[0], row[1]), (row[2], row[3])

    def ensure(self) -> CatchUp | None:
        """Bring the clusters up to date with the papers and corrections: one small query
        when they are, else an incremental catch-up (never a full rebuild). Returns what the
        catch-up did, None when nothing was to do."""
        want, built = self._state()
        if want == built:
            return None
        return self.catch_up()

    def catch_up(self) -> CatchUp:
        """Recluster what changed since the last build (author_build): worked out on a read
        snapshot, so imports keep writing meanwhile, then written in one short write
        transaction. When another process built meanwhile, its build stands and this one is
        dropped (the next call catches up with whatever is left)."""
        conn = self.conn
        conn.execute("BEGIN")  # one consistent snapshot to read from
        try:
            want, built = self._state()
            seen = builds(conn)
            plan = plan_catch_up(conn, built[1] or 0, self.big_author)
        finally:
            conn.execute("COMMIT")
        try:
            conn.execute("BEGIN IMMEDIATE")
            if builds(conn) == seen:  # the tables are still those the plan read
                apply_catch_up(conn, plan, want[0])
                write_meta(conn, want[0], plan.newest)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return plan.done

    def rebuild(self) -> int:
        """Cluster every author occurrence again and replace the derived tables; returns the
        number of people. Reads one snapshot, then writes in one transaction (a process killed
        meanwhile leaves the previous clusters whole)."""
        self.conn.execute("BEGIN")  # one consistent snapshot to read from
        try:
            want, _ = self._state()
            base_anchors: dict[int, str] = {}
            snap, clusters, corrections = cluster_all(self.conn, base_anchors)
        finally:
            self.conn.execute("COMMIT")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            write_all(self.conn, snap, clusters, self.big_author, base_anchors)
            # papers changed after the snapshot stay marked for the next catch-up
            self.conn.execute("DELETE FROM author_dirty WHERE generation < ?", (want[0],))
            write_meta(self.conn, want[0], corrections[-1].id if corrections else 0)
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return len(clusters)

    # ------------------------------------------------------------------ reading

    def _cluster_of(self, slug: str) -> tuple[int, str, str]:
        """(cluster id, current slug, name) of a slug, following slugs of merged-away people."""
        slug = slug.strip().lower()
        row = self.conn.execute(
            "SELECT cluster_id, slug, name FROM author_clusters WHERE slug = ?", (slug,)
        ).fetchone()
        if row is None:
            row = self.conn.execute(
                "SELECT c.cluster_id, c.slug, c.name FROM author_slugs s "
                "JOIN author_anchors a ON a.anchor = s.anchor "
                "JOIN author_clusters c ON c.cluster_id = a.cluster_id WHERE s.slug = ?",
                (slug,),
            ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no author {slug!r}",
                hint="author pages are named like juhua-hu; `paperscope authors list` shows them",
            )
        return row[0], row[1], row[2]

    def resolve(self, slug: str) -> str:
        """The current slug for `slug` (itself, or the survivor of a merge); NotFoundError."""
        self.ensure()
        return self._cluster_of(slug)[1]

    def profile(self, slug: str) -> AuthorProfile:
        self.ensure()
        cid, slug, name = self._cluster_of(slug)
        stats = orjson.loads(
            self.conn.execute(
                "SELECT stats FROM author_clusters WHERE cluster_id = ?", (cid,)
            ).fetchone()[0]
        )
        positions: dict[int, list[int]] = {}
        for rowid, position in self.conn.execute(
            "SELECT paper_rowid, position FROM author_occurrences WHERE cluster_id = ? "
            "ORDER BY published DESC, paper_rowid DESC",
            (cid,),
        ):
            positions.setdefault(rowid, []).append(position)
        papers = PaperList(self.store, list(positions))
        affiliations: Counter[str] = Counter()
        for rowid, paper in papers[:AFFILIATION_PAPERS]:
            for position in positions[rowid]:
                if 0 <= position < len(paper.authors) and paper.authors[position].affiliation:
                    affiliations[paper.authors[position].affiliation] += 1
        variants = [
            (n, c)
            for n, c in self.conn.execute(
                "SELECT name, papers FROM author_variants WHERE cluster_id = ? "
                "ORDER BY papers DESC, name",
                (cid,),
            )
        ]
        if "coauthors" in stats:
            coauthors = self._summaries(stats["coauthors"])
        else:
            coauthors = self._coauthors(cid)
        return AuthorProfile(
            slug=slug,
            name=name,
            variants=variants,
            affiliations=[a for a, _ in affiliations.most_common()],
            papers=papers,
            per_year={int(y): n for y, n in stats["per_year"].items()},
            coauthors=coauthors,
            categories=[(c, n) for c, n in stats["categories"]],
        )

    def _summaries(self, counted: list[list[int]]) -> list[tuple[AuthorSummary, int]]:
        """(summary, count) for precomputed [cluster id, count] pairs, in their order."""
        ids = [c for c, _ in counted]
        marks = ",".join("?" * len(ids))
        found = {
            r[0]: AuthorSummary(r[1], r[2], r[3])
            for r in self.conn.execute(
                f"SELECT cluster_id, slug, name, papers FROM author_clusters "
                f"WHERE cluster_id IN ({marks})",
                ids,
            )
        }
        return [(found[c], n) for c, n in counted if c in found]

    def _coauthors(self, cid: int) -> list[tuple[AuthorSummary, int]]:
        rows = self.conn.execute(
            "SELECT c.slug, c.name, c.papers, count(DISTINCT o2.paper_rowid) AS shared "
            "FROM author_occurrences o1 JOIN author_occurrences o2 "
            "ON o2.paper_rowid = o1.paper_rowid AND o2.cluster_id != o1.cluster_id "
            "JOIN author_clusters c ON c.cluster_id = o2.cluster_id "
            # grouped by the key of c, so c's other columns may be selected (PostgreSQL)
            "WHERE o1.cluster_id = ? "
            # not a large collaboration (MAX_PAIRED_AUTHORS), as the precomputed counts; the
            # count stops one past the limit instead of reading a 3,000-author list whole
            "AND (SELECT count(*) FROM (SELECT 1 FROM author_occurrences o3 "
            "WHERE o3.paper_rowid = o1.paper_rowid LIMIT ?) AS named) <= ? "
            "GROUP BY c.cluster_id "
            "ORDER BY shared DESC, c.papers DESC, c.name LIMIT ?",
            (cid, MAX_PAIRED_AUTHORS + 1, MAX_PAIRED_AUTHORS, MAX_COAUTHORS),
        )
        return [(AuthorSummary(r[0], r[1], r[2]), r[3]) for r in rows]

    def newest_rowids(self, slug: str, limit: int) -> tuple[str, list[int]] | None:
        """Name and newest `limit` paper rowids of the person with the current slug `slug`
        (the order of `profile`: newest first, then highest rowid), read from
        the author index (0004_authors.sql) without loading a profile; None for an unknown
        slug. The caller keeps the directory current (`ensure`)."""
        # a LIMIT, not a cursor read part-way: PostgreSQL's connection reads a statement's
        # rows whole, and a prolific author has thousands. Rows beyond `limit` are needed only
        # where one person appears twice on a paper, so a short read asks again for more.
        want = limit + 8
        while True:
            # the cluster as a scalar subquery, not a join: the occurrences are then read
            # backward along (cluster_id, published, paper_rowid) and stop at the LIMIT, where
            # PostgreSQL's plan for the join sorted every occurrence of the person first
            rows = self.conn.execute(
                "SELECT (SELECT name FROM author_clusters WHERE slug = ?), paper_rowid "
                "FROM author_occurrences "
                "WHERE cluster_id = (SELECT cluster_id FROM author_clusters WHERE slug = ?) "
                "ORDER BY published DESC, paper_rowid DESC LIMIT ?",
                (slug, slug, want),
            ).fetchall()
            name = None
            rowids: list[int] = []
            for found, rowid in rows:
                name = found
                if not rowids or rowids[-1] != rowid:  # one person twice on one paper
                    rowids.append(rowid)
            if len(rowids) >= limit or len(rows) < want:
                break
            want *= 4
        rowids = rowids[:limit]
        return None if name is None else (name, rowids)

    def slugs_for_paper(self, rowid: int) -> list[str | None]:
        return self.slugs_for_papers([rowid]).get(rowid, [])

    def slugs_for_papers(self, rowids: Iterable[int]) -> dict[int, list[str | None]]:
        """A slug per shown author position of each paper (None for a name with no page)."""
        self.ensure()
        out: dict[int, list[str | None]] = {}
        for chunk in _chunks(sorted(set(rowids))):
            marks = ",".join("?" * len(chunk))
            for rowid, position, slug in self.conn.execute(
                "SELECT a.paper_rowid, a.position, c.slug FROM paper_authors a "
                "LEFT JOIN author_occurrences o ON o.paper_rowid = a.paper_rowid "
                "AND o.position = a.position "
                "LEFT JOIN author_clusters c ON c.cluster_id = o.cluster_id "
                f"WHERE a.paper_rowid IN ({marks}) ORDER BY a.paper_rowid, a.position",
                chunk,
            ):
                slugs = out.setdefault(rowid, [])
                slugs.extend([None] * (position - len(slugs)))
                slugs.append(slug)
        return out

    def find(self, name: str, limit: int = 20) -> list[AuthorSummary]:
        """People whose slug is `name`, whose name fits it ("J. Hu" fits "Juhua Hu"), or one of
        whose spellings contains it; most papers first."""
        text = check_lookup(name)
        if not text:
            return []
        self.ensure()
        found: dict[str, AuthorSummary] = {}
        try:
            cid, slug, display = self._cluster_of(text)
            papers = self.conn.execute(
                "SELECT papers FROM author_clusters WHERE cluster_id = ?", (cid,)
            ).fetchone()[0]
            found[slug] = AuthorSummary(slug, display, papers)
        except NotFoundError:
            pass
        person = parse_person(text)
        if person is not None:
            for slug, display, papers in self.conn.execute(
                "SELECT slug, name, papers FROM author_clusters WHERE family = ? "
                "ORDER BY papers DESC, name",
                (person.family,),
            ):
                other = parse_person(display)
                if other is not None and _fits(person, other):
                    found.setdefault(slug, AuthorSummary(slug, display, papers))
        for slug, display, papers in self.conn.execute(
            "SELECT c.slug, c.name, c.papers FROM author_variants v "
            "JOIN author_clusters c ON c.cluster_id = v.cluster_id "
            f"WHERE v.name_fold LIKE ? ESCAPE '{LIKE_ESCAPE}' "
            "GROUP BY c.cluster_id ORDER BY c.papers DESC, c.name LIMIT ?",
            (f"%{like_escaped(name_fold(text))}%", limit),
        ):
            found.setdefault(slug, AuthorSummary(slug, display, papers))
        ranked = sorted(found.values(), key=lambda s: (-s.papers, s.name))
        return ranked[:limit]

    def exact(self, name: str) -> list[AuthorSummary]:
        """People with a spelling equal to `name` once folded ("Hu, Juhua" = "Juhua Hu")."""
        self.ensure()
        return [
            AuthorSummary(*r)
            for r in self.conn.execute(
                "SELECT DISTINCT c.slug, c.name, c.papers FROM author_variants v "
                "JOIN author_clusters c ON c.cluster_id = v.cluster_id WHERE v.name_fold = ? "
                "ORDER BY c.papers DESC, c.name",
                (name_fold(name),),
            )
        ]

    def list(self, limit: int = 50, offset: int = 0) -> list[AuthorSummary]:
        """People with the most papers first."""
        self.ensure()
        return [
            AuthorSummary(*r)
            for r in self.conn.execute(
                # slug last: pages of ties (same papers, same name) neither repeat nor skip
                "SELECT slug, name, papers FROM author_clusters ORDER BY papers DESC, name, slug "
                "LIMIT ? OFFSET ?",
                (limit, offset),
            )
        ]

    def count(self) -> int:
        """People in the store (what `stats` could call authors)."""
        self.ensure()
        return self.conn.execute("SELECT count(*) FROM author_clusters").fetchone()[0]

    def top_in_category(self, code: str, limit: int = 10) -> list[AuthorSummary]:
        self.ensure()
        return [
            AuthorSummary(*r)
            for r in self.conn.execute(
                "SELECT c.slug, c.name, k.papers FROM author_categories k "
                "JOIN author_clusters c ON c.cluster_id = k.cluster_id WHERE k.category = ? "
                "ORDER BY k.papers DESC, c.papers DESC, c.name LIMIT ?",
                (code, limit),
            )
        ]

    # ------------------------------------------------------------------ corrections

    def _primary_anchor(self, slug: str) -> str:
        """The anchor whose slug names the cluster `slug` resolves to now."""
        cid, current, _ = self._cluster_of(slug)
        row = self.conn.execute(
            "SELECT s.anchor FROM author_slugs s JOIN author_anchors a ON a.anchor = s.anchor "
            "WHERE s.slug = ? AND a.cluster_id = ?",
            (current, cid),
        ).fetchone()
        return row[0]

    def _add_correction(self, kind: str, target: str, data: object) -> int:
        cur = self.conn.execute(
            "INSERT INTO author_corrections (kind, target, data, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (kind, target, orjson.dumps(data).decode(), iso_utc()),
        )
        return cur.fetchone()[0]

    def merge(self, slugs: list[str]) -> str:
        """One person from several; the first slug survives and the others resolve to it."""
        self.ensure()
        anchors: list[str] = []
        for slug in slugs:
            anchor = self._primary_anchor(slug)
            if anchor not in anchors:
                anchors.append(anchor)
        if len(anchors) < 2:
            raise InputError(
                "merge needs at least two different authors",
                hint="give two or more slugs, e.g. `paperscope authors merge juhua-hu j-hu`",
            )
        self._add_correction("merge", anchors[0], anchors[1:])
        self.ensure()
        return self._slug_of_anchor(anchors[0])

    def split(
        self, slug: str, *, variant: str | None = None, papers: list[str] | None = None
    ) -> str:
        """Move one spelling, or the occurrences on some papers, to a new person; returns its
        slug. The original keeps its slug."""
        if variant is None and not papers:
            raise InputError(
                "say what to split off: a variant or papers", hint="--variant NAME or --paper ID"
            )
        if variant is not None and papers:
            raise InputError("give a variant or papers to split off, not both")
        self.ensure()
        cid, current, _ = self._cluster_of(slug)
        anchor = self._primary_anchor(current)
        rows = self.conn.execute(
            "SELECT paper_rowid, name FROM author_occurrences WHERE cluster_id = ?", (cid,)
        ).fetchall()
        if variant is not None:
            wanted = name_fold(variant)
            moving = [r for r in rows if name_fold(r[1]) == wanted]
            kind, data = "split_variant", wanted
            if not moving:
                raise InputError(
                    f"{current} has no spelling {variant!r}",
                    hint=f"`paperscope authors show {current}` lists their spellings",
                )
            everything = f"spelling {variant!r} is all of {current}"
        else:
            rowids: dict[int, str] = {}  # rowid -> the id as given
            for ident in papers or []:
                rowid = self.store.resolve(ident)
                if rowid is None:
                    raise NotFoundError(f"no paper {ident!r} in the store")
                rowids.setdefault(rowid, ident)
            held = {r[0] for r in rows}
            # one paper that is not theirs fails the split: a typo, or the wrong person
            missing = [ident for rowid, ident in rowids.items() if rowid not in held]
            if missing:
                raise InputError(
                    f"{current} has no paper{'s' if len(missing) > 1 else ''} "
                    + ", ".join(missing),
                    hint=f"`paperscope authors show {current}` lists their papers",
                )
            moving = [r for r in rows if r[0] in rowids]
            kind, data = "split_papers", sorted(rowids)
            papers_are = "those papers are" if len(rowids) > 1 else "that paper is"
            everything = f"{papers_are} all of {current}"
        if len(moving) == len(rows):
            raise InputError(
                f"{everything}: nothing would be left",
                hint="split off part of an author, not all of it",
            )
        correction = self._add_correction(kind, anchor, data)
        self.ensure()
        return self._slug_of_anchor(f"split:{correction}")

    def corrections(self) -> list[dict]:
        """The merges and splits made so far, oldest first."""
        return [
            {"id": c.id, "kind": c.kind, "target": c.target, "data": c.data}
            for c in read_corrections(self.conn)
        ]

    def _slug_of_anchor(self, anchor: str) -> str:
        row = self.conn.execute(
            "SELECT c.slug FROM author_anchors a JOIN author_clusters c "
            "ON c.cluster_id = a.cluster_id WHERE a.anchor = ?",
            (anchor,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no author holds {anchor!r}")
        return row[0]


def check_lookup(text: str) -> str:
    """`text` as a name to look up, stripped; InputError when it cannot name anyone: longer
    than any stored name, or without a letter or digit (punctuation alone would match every
    spelling that holds it)."""
    text = text.strip()
    if len(text) > MAX_LOOKUP:
        raise InputError(
            f"an author name has at most {MAX_LOOKUP:,} characters (this one has {len(text):,})",
            hint='give a slug (juhua-hu) or a name ("Hu, Juhua")',
        )
    if text and not any(ch.isalnum() for ch in text):
        raise InputError(
            f"{text!r} has no letters or digits: it cannot name an author",
            hint='give a slug (juhua-hu) or a name ("Hu, Juhua")',
        )
    return text


def _fits(query: PersonName, other: PersonName) -> bool:
    if query.family != other.family:
        return False
    if query.first and other.first:
        return query.first == other.first
    return not query.initials or compatible_initials(query.initials, other.initials)
