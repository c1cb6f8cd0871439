"""Writing the author tables (migrations 0004, 0014): a full rebuild and the incremental catch-up.

Both cluster with `author_cluster.cluster_authors` and write through `_Writer`, so they give the
same people:

- `full_rebuild` reads every occurrence, clusters them all and replaces every derived table.
- `catch_up` reads only what changed since the last build: the papers in `author_dirty` (filled
  by triggers on `papers`, migration 0014) and the corrections made since. It reclusters the
  blocks (family + first initial, see author_cluster.py) those papers' authors fall in, before
  and after the change, plus the blocks a correction ties to them, from the occurrences
  already in `author_occurrences` and the changed papers; then it replaces the people of those
  blocks and patches the coauthor counts of the prolific people who share a paper with them.
  Its cost follows the changed papers and their families, not the size of the store. That
  whole-block path runs only when a correction is in play; otherwise `plan_catch_up` hands the
  catch-up to author_patch.py, which decides from persisted profiles and patches people.

Callers hold the write transaction (`BEGIN IMMEDIATE`): see `AuthorDirectory`.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson

from paperscope.normalize import clean_name
from paperscope.store.author_cluster import (
    Cluster,
    Correction,
    Occurrence,
    anchor_block,
    block_of,
    close_blocks,
    cluster_authors,
    correction_groups,
    crowded,
    display_name,
)
from paperscope.store.author_names import (
    PersonName,
    compatible_initials,
    name_fold,
    parse_person,
    slugify,
)
from paperscope.store.author_patch import (
    Ops,
    PatchPlan,
    apply_patch,
    initials_ops,
    plan_patch,
    state_changes,
)
from paperscope.store.author_state import state_complete, write_state

_CHUNK = 900
#: Coauthors a profile lists (most shared papers first).
MAX_COAUTHORS = 50
#: Every derived table; author_slugs and author_corrections are permanent.
DERIVED_TABLES = (
    "author_clusters",
    "author_anchors",
    "author_occurrences",
    "author_variants",
    "author_categories",
    "author_coauthors",
)
_PAPER_META = (
    "SELECT rowid, categories, published, CASE WHEN instr(external_ids, 'profile_owner') > 0 "
    "THEN json_extract(external_ids, '$.profile_owner') END FROM papers WHERE deleted = 0"
)


def chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rows_in(conn: sqlite3.Connection, sql: str, values: Iterable) -> Iterator[tuple]:
    """Rows of `sql` (ending in `IN ({marks})`) for `values`, chunked under SQLite's limit."""
    values = sorted(set(values))
    for chunk in chunks(values):
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


@dataclass(slots=True)
class Snapshot:
    """Author occurrences of some papers (in clustering order) and what clustering reads of
    those papers."""

    occs: list[Occurrence] = field(default_factory=list)
    paper_cats: dict[int, tuple[str, ...]] = field(default_factory=dict)
    published: dict[int, str | None] = field(default_factory=dict)


class _Parser:
    """parse_person, once per distinct name."""

    def __init__(self) -> None:
        self.parsed: dict[str, PersonName | None] = {}

    def __call__(self, name: str) -> PersonName | None:
        try:
            return self.parsed[name]
        except KeyError:
            person = self.parsed[name] = parse_person(name)
            return person


def read_occurrences(
    conn: sqlite3.Connection, rowids: Sequence[int] | None = None, parse: _Parser | None = None
) -> Snapshot:
    """Occurrences of the live papers among `rowids` (all papers when None), in the order a
    full rebuild clusters them: shown authors by (paper, position), then hidden profile owners
    by paper."""
    parse = parse or _Parser()
    snap = Snapshot()
    owners: dict[int, str] = {}
    if rowids is None:
        meta: Iterable[tuple] = conn.execute(_PAPER_META)
    else:
        meta = _rows_in(conn, _PAPER_META + " AND rowid IN ({marks})", rowids)
    for rowid, cats, published, owner in meta:
        snap.published[rowid] = published
        if cats:
            snap.paper_cats[rowid] = tuple(cats.split())
        if owner:
            owners[rowid] = owner
    live = snap.published
    if rowids is None:
        # paper_authors alone (small rows, key order), not joined to the wide papers table
        names: Iterable[tuple] = conn.execute(
            "SELECT paper_rowid, position, name FROM paper_authors"
        )
    else:
        names = _rows_in(
            conn,
            "SELECT paper_rowid, position, name FROM paper_authors "
            "WHERE paper_rowid IN ({marks}) ORDER BY paper_rowid, position",
            live,
        )
    by_paper: dict[int, list[Occurrence]] = defaultdict(list)
    for rowid, position, name in names:
        if rowid not in live:
            continue
        occ = Occurrence(rowid, position, name, parse(name))
        snap.occs.append(occ)
        if rowid in owners:
            by_paper[rowid].append(occ)
    for rowid in sorted(owners):
        person = parse_person(owners[rowid])
        if person is not None and not _shown(person, by_paper[rowid]):
            snap.occs.append(Occurrence(rowid, -1, clean_name(owners[rowid]), person))
    return snap


def _shown(owner: PersonName, shown: list[Occurrence]) -> bool:
    """Is the profile owner among a paper's shown authors, in any spelling?"""
    for occ in shown:
        person = occ.person
        if person is None or person.family != owner.family:
            continue
        if owner.first and person.first:
            if owner.first == person.first:
                return True
        elif compatible_initials(owner.initials, person.initials):
            return True
    return False


def read_corrections(conn: sqlite3.Connection) -> list[Correction]:
    return [
        Correction(r[0], r[1], r[2], orjson.loads(r[3]))
        for r in conn.execute("SELECT id, kind, target, data FROM author_corrections ORDER BY id")
    ]


# ---------------------------------------------------------------------------- slugs


class SlugBook:
    """Every slug handed out, by anchor; new ones are written in `save`. Preloaded for a full
    rebuild (every anchor is asked); looked up one anchor at a time for a catch-up."""

    def __init__(self, conn: sqlite3.Connection, *, preload: bool) -> None:
        self.conn = conn
        self.preloaded = preload
        self.by_anchor: dict[str, tuple[str, int] | None] = {}
        self.taken: set[str] = set()
        if preload:
            for anchor, slug, seq in conn.execute("SELECT anchor, slug, seq FROM author_slugs"):
                self.by_anchor[anchor] = (slug, seq)
                self.taken.add(slug)
        self._next_seq: int | None = None
        self.new: list[tuple[str, str, int]] = []
        self.free: set[str] = set()  # slugs read as not handed out (before this book's own)

    def prefetch(self, clusters: Iterable[Cluster], names: Iterable[str]) -> None:
        """Read what `slug_for` will ask about these clusters in a few chunked queries
        instead of one or two per cluster: each a round trip on PostgreSQL, where a catch-up
        of 100k papers asked 100,000 single-row questions."""
        if self.preloaded:
            return
        anchors = {a for c in clusters for a in ([c.preferred] if c.preferred else []) + c.anchors}
        anchors -= self.by_anchor.keys()
        for anchor in anchors:
            self.by_anchor[anchor] = None
        for anchor, slug, seq in _rows_in(
            self.conn,
            "SELECT anchor, slug, seq FROM author_slugs WHERE anchor IN ({marks})",
            anchors,
        ):
            self.by_anchor[anchor] = (slug, seq)
        bases = {slugify(n) for n in names} - self.taken
        taken = {
            r[0]
            for r in _rows_in(
                self.conn, "SELECT slug FROM author_slugs WHERE slug IN ({marks})", bases
            )
        }
        self.taken |= taken
        self.free |= bases - taken

    def _held(self, anchor: str) -> tuple[str, int] | None:
        if anchor not in self.by_anchor and not self.preloaded:
            row = self.conn.execute(
                "SELECT slug, seq FROM author_slugs WHERE anchor = ?", (anchor,)
            ).fetchone()
            self.by_anchor[anchor] = None if row is None else (row[0], row[1])
        return self.by_anchor.get(anchor)

    def _is_taken(self, slug: str) -> bool:
        if slug in self.taken:
            return True
        if self.preloaded or slug in self.free:
            return False
        found = self.conn.execute("SELECT 1 FROM author_slugs WHERE slug = ?", (slug,)).fetchone()
        if found:
            self.taken.add(slug)
        return found is not None

    def slug_for(self, cluster: Cluster, name: str) -> str:
        if cluster.preferred and (preferred := self._held(cluster.preferred)):
            return preferred[0]
        held = [h for a in cluster.anchors if (h := self._held(a)) is not None]
        if held:
            return min(held, key=lambda sq: sq[1])[0]  # the oldest slug names a joined person
        anchor = cluster.preferred or cluster.anchors[0]
        base = slugify(name)
        slug, n = base, 1
        while self._is_taken(slug):
            n += 1
            slug = f"{base}-{n}"
        if self._next_seq is None:  # read once, when the first new slug is handed out
            self._next_seq = self.conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM author_slugs"
            ).fetchone()[0]
        self.taken.add(slug)
        self.by_anchor[anchor] = (slug, self._next_seq)
        self.new.append((anchor, slug, self._next_seq))
        self._next_seq += 1
        return slug

    def save(self) -> None:
        self.conn.executemany(
            "INSERT INTO author_slugs (anchor, slug, seq) VALUES (?, ?, ?)", self.new
        )


# ---------------------------------------------------------------------------- writing people


def rank_coauthors(
    together: Counter[int], info: Callable[[Iterable[int]], dict[int, tuple[int, str]]]
) -> list[tuple[int, int]]:
    """The MAX_COAUTHORS top (cluster id, shared papers), in the order of the live query:
    shared papers, then their papers, then name. `info` gives (papers, name) per cluster id."""
    if not together:
        return []
    floor = together.most_common(MAX_COAUTHORS)[-1][1]
    near = [(c, n) for c, n in together.items() if n >= floor]
    known = info(c for c, _ in near)
    ranked = sorted(near, key=lambda kv: (-kv[1], -known[kv[0]][0], known[kv[0]][1]))
    return ranked[:MAX_COAUTHORS]


class _Writer:
    """Inserts people (clusters) and everything derived from them."""

    def __init__(
        self, conn: sqlite3.Connection, snap: Snapshot, slugs: SlugBook, big_author: int
    ) -> None:
        self.conn = conn
        self.snap = snap
        self.slugs = slugs
        self.big_author = big_author
        self.info: dict[int, tuple[int, str]] = {}  # cluster id -> (papers, name), written ones
        # large collaborations among the papers (snap holds every author of each): they give
        # no coauthor counts (MAX_PAIRED_AUTHORS)
        named = Counter(o.paper for o in snap.occs if o.person is not None)
        self.crowd = {paper for paper, n in named.items() if crowded(n)}

    def stored_info(self, ids: Iterable[int]) -> dict[int, tuple[int, str]]:
        """(papers, name) of cluster ids, from this write or the table."""
        ids = set(ids)
        found = {c: self.info[c] for c in ids if c in self.info}
        missing = ids - found.keys()
        for cid, papers, name in _rows_in(
            self.conn,
            "SELECT cluster_id, papers, name FROM author_clusters WHERE cluster_id IN ({marks})",
            missing,
        ):
            found[cid] = (papers, name)
        return found

    def rows(self, clusters: list[Cluster], cids: list[int], people: dict[int, set[int]]) -> Rows:
        """The rows of `clusters` as people `cids`; `people` (paper -> cluster ids on it)
        gains them."""
        occs, published = self.snap.occs, self.snap.published
        year_of = {p: (d or "")[:4] for p, d in published.items()}
        no_cats: tuple[str, ...] = ()
        folded = functools.lru_cache(maxsize=None)(name_fold)
        out = Rows()
        paper_sets: list[set[int]] = []
        names: list[str] = []
        for cid, cluster in zip(cids, clusters, strict=True):
            papers_by_name: dict[str, set[int]] = defaultdict(set)
            occurrences_by_name: Counter[str] = Counter()
            for i in cluster.members:
                occ = occs[i]
                block = block_of(occ.person) if occ.person else None
                row = (occ.paper, occ.position, cid, occ.name, published.get(occ.paper), block)
                out.occurrences.append(row)
                papers_by_name[occ.name].add(occ.paper)
                occurrences_by_name[occ.name] += 1
            papers = set().union(*papers_by_name.values())
            for paper in papers:
                people.setdefault(paper, set()).add(cid)
            paper_sets.append(papers)
            names.append(display_name(occs, cluster.members))
            self.info[cid] = (len(papers), names[-1])
            out.anchors.extend((a, cid) for a in cluster.anchors)
            out.variants.extend(
                (cid, n, folded(n), len(p), occurrences_by_name[n])
                for n, p in papers_by_name.items()
            )
        self.slugs.prefetch(clusters, names)
        for cid, cluster, papers, name in zip(cids, clusters, paper_sets, names, strict=True):
            slug = self.slugs.slug_for(cluster, name)
            cats = Counter(
                itertools.chain.from_iterable(
                    map(self.snap.paper_cats.get, papers, itertools.repeat(no_cats, len(papers)))
                )
            )
            out.categories.extend((c, cid, n) for c, n in cats.items())
            years = Counter(map(year_of.__getitem__, papers))
            stats: dict = {
                "per_year": {y: n for y, n in sorted(years.items()) if y.isdigit()},
                "categories": sorted(cats.items(), key=lambda kv: (-kv[1], kv[0])),
            }
            if len(papers) >= self.big_author:
                together = Counter(
                    itertools.chain.from_iterable(people[p] for p in papers - self.crowd)
                )
                del together[cid]
                out.pairs.extend((cid, c, n) for c, n in together.items())
                stats["coauthors"] = rank_coauthors(together, self.stored_info)
            person = parse_person(name)
            family = person.family if person else ""
            stats_json = orjson.dumps(stats).decode()
            out.clusters.append((cid, slug, name, family, len(papers), stats_json))
        return out

    def insert(self, rows: Rows, *, changes_only: bool = False) -> None:
        """Insert `rows` and the new slugs; with `changes_only`, leave the occurrences and
        coauthor counts to the caller (a catch-up writes only those that changed)."""
        conn = self.conn
        conn.executemany(
            "INSERT INTO author_clusters (cluster_id, slug, name, family, papers, stats) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows.clusters,
        )
        conn.executemany(
            "INSERT INTO author_anchors (anchor, cluster_id) VALUES (?, ?) "
            "ON CONFLICT (anchor) DO UPDATE SET cluster_id = excluded.cluster_id",
            rows.anchors,
        )
        if not changes_only:
            write_occurrences(conn, rows.occurrences)
        conn.executemany(
            "INSERT INTO author_variants (cluster_id, name, name_fold, papers, occurrences) "
            "VALUES (?, ?, ?, ?, ?)",
            rows.variants,
        )
        conn.executemany(
            "INSERT INTO author_categories (category, cluster_id, papers) VALUES (?, ?, ?)",
            rows.categories,
        )
        if not changes_only:
            rows.pairs.sort()
            conn.executemany(
                "INSERT INTO author_coauthors (cluster_id, other_id, shared) VALUES (?, ?, ?)",
                rows.pairs,
            )
        self.slugs.save()


@dataclass(slots=True)
class Rows:
    """The derived rows of some people, ready to insert."""

    clusters: list[tuple] = field(default_factory=list)
    anchors: list[tuple] = field(default_factory=list)
    occurrences: list[tuple] = field(default_factory=list)  # (paper, position, cid, name, ...)
    variants: list[tuple] = field(default_factory=list)
    categories: list[tuple] = field(default_factory=list)
    pairs: list[tuple] = field(default_factory=list)


def write_occurrences(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    rows.sort()  # in primary-key order: appends to the B-tree, not random inserts
    conn.executemany(
        "INSERT INTO author_occurrences "
        "(paper_rowid, position, cluster_id, name, published, block) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (paper_rowid, position) DO UPDATE SET cluster_id = excluded.cluster_id, "
        "name = excluded.name, published = excluded.published, block = excluded.block",
        rows,
    )


def write_meta(conn: sqlite3.Connection, generation: int, corrections: int) -> None:
    """Record what the tables are current with, and count the write (`builds`): a catch-up
    planned on a snapshot applies only if no other build wrote in between."""
    conn.executemany(
        "INSERT INTO author_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [("generation", generation), ("corrections", corrections)],
    )
    conn.execute(
        "INSERT INTO author_meta (key, value) VALUES ('builds', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = author_meta.value + 1"
    )


def builds(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM author_meta WHERE key = 'builds'").fetchone()
    return row[0] if row else 0


# ---------------------------------------------------------------------------- full rebuild


def cluster_all(
    conn: sqlite3.Connection, base_anchors: dict[int, str] | None = None
) -> tuple[Snapshot, list[Cluster], list[Correction]]:
    """Every occurrence clustered (the reading half of a rebuild; no writes)."""
    snap = read_occurrences(conn)
    corrections = read_corrections(conn)
    clusters = cluster_authors(snap.occs, snap.paper_cats, corrections, base_anchors=base_anchors)
    return snap, clusters, corrections


def write_all(
    conn: sqlite3.Connection,
    snap: Snapshot,
    clusters: list[Cluster],
    big_author: int,
    base_anchors: dict[int, str],
) -> None:
    """Replace every derived table with `clusters` (the writing half of a rebuild), and the
    state a catch-up decides from (author_state.py)."""
    for table in DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")  # fixed table names, no input
    writer = _Writer(conn, snap, SlugBook(conn, preload=True), big_author)
    writer.insert(writer.rows(clusters, list(range(1, len(clusters) + 1)), {}))
    write_state(conn, snap.occs, snap.paper_cats, base_anchors)


# ---------------------------------------------------------------------------- catch-up


@dataclass(slots=True)
class CatchUp:
    """What one catch-up did (bench/authors.py prints it)."""

    papers: int = 0  # changed papers read
    blocks: int = 0  # blocks touched (reclustered whole on the "blocks" path)
    occurrences: int = 0  # occurrences reclustered ("blocks"), or decided / linked again ("patch")
    people: int = 0  # people of the reclustered blocks, written again
    new: int = 0  # of them, people who did not exist before
    gone: int = 0  # people who no longer exist
    ranked: int = 0  # prolific people outside the blocks whose top coauthors were ranked again
    path: str = "blocks"  # "patch": decided from the profiles; "blocks": whole blocks again
    read_s: float = 0.0  # reading the changed papers and the blocks' occurrences
    cluster_s: float = 0.0
    write_s: float = 0.0


@dataclass(slots=True)
class CatchUpPlan:
    """A catch-up computed on a read snapshot: the writes that bring the tables up to date."""

    done: CatchUp
    newest: int  # the newest correction id it applied
    changed: list[int]  # the changed papers it read
    old_cids: set[int]  # people of the reclustered blocks before
    kept: set[int]  # of them, the ids people keep
    category_rows: list[tuple]  # (category, person) rows of old_cids
    writer: _Writer
    rows: Rows
    occurrences_gone: list[tuple[int, int]]
    occurrences_moved: list[tuple]
    pairs_gone: list[tuple[int, int]]
    pairs_moved: list[tuple[int, int, int]]
    rank_again: set[int]  # prolific people outside the blocks whose counts move
    state_ops: Ops  # author_state tables patched (empty until a rebuild completed them)


def plan_catch_up(
    conn: sqlite3.Connection, built_corrections: int, big_author: int
) -> CatchUpPlan | PatchPlan:
    """Read what changed since the last build (the papers in author_dirty, the corrections
    newer than `built_corrections`), recluster the blocks it touches and work out the writes;
    reads only, so the caller can run it in a read transaction and apply it (`apply_catch_up`)
    under the write lock, kept short."""
    done = CatchUp()
    started = time.perf_counter()
    parse = _Parser()
    corrections = read_corrections(conn)
    newest = corrections[-1].id if corrections else 0
    changed = [r for (r,) in conn.execute("SELECT paper_rowid FROM author_dirty")]
    done.papers = len(changed)
    fresh = read_occurrences(conn, changed, parse)
    occurrence_sql = (
        "SELECT paper_rowid, position, cluster_id, name, published, block "
        "FROM author_occurrences WHERE "
    )
    before = list(_rows_in(conn, occurrence_sql + "paper_rowid IN ({marks})", changed))
    blocks = _blocks_touched(fresh, before, corrections, built_corrections, parse)
    groups = correction_groups(corrections)
    complete = state_complete(conn)
    if complete and newest <= built_corrections and not blocks & groups.keys():
        # no correction in play: decide from the persisted profiles, patch the people
        done.blocks = len(blocks)
        return plan_patch(
            conn, done, changed, fresh, before, blocks, parse, big_author, newest, started
        )
    state_ops: Ops = state_changes(conn, changed, before, fresh, parse).ops if complete else []
    blocks = close_blocks(blocks, groups)
    done.blocks = len(blocks)
    # what the blocks hold now: (paper, position) -> (person, name, published, block)
    old: dict[tuple[int, int], tuple] = {
        (r[0], r[1]): r[2:] for r in _rows_in(conn, occurrence_sql + "block IN ({marks})", blocks)
    }
    old.update(((r[0], r[1]), r[2:]) for r in before)
    old_cids = {r[0] for r in old.values()}
    kept_papers = {p for p, _ in old} - set(changed)
    # the unchanged papers with an occurrence to recluster: all their authors (coauthor keys)
    snap = Snapshot()
    people: dict[int, set[int]] = defaultdict(set)  # paper -> people outside the blocks
    for paper, position, cid, name, published, block in _rows_in(
        conn, occurrence_sql + "paper_rowid IN ({marks})", kept_papers
    ):
        snap.occs.append(Occurrence(paper, position, name, parse(name)))
        snap.published[paper] = published
        if block not in blocks:
            people[paper].add(cid)
    for rowid, cats in _rows_in(
        conn, "SELECT rowid, categories FROM papers WHERE rowid IN ({marks})", kept_papers
    ):
        if cats:
            snap.paper_cats[rowid] = tuple(cats.split())
    snap.occs.extend(fresh.occs)
    snap.occs.sort(key=lambda o: (o.position < 0, o.paper, o.position))  # a full run's order
    snap.published.update(fresh.published)
    snap.paper_cats.update(fresh.paper_cats)
    clustering = time.perf_counter()
    done.read_s = clustering - started
    base_anchors: dict[int, str] = {}
    clusters = cluster_authors(snap.occs, snap.paper_cats, corrections, blocks, base_anchors)
    if complete:
        state_ops.append(
            ("DELETE FROM author_initials WHERE block = ?", [(b,) for b in sorted(blocks)])
        )
        state_ops.append(
            initials_ops(
                [
                    (o.paper, o.position, block_of(o.person), o.person.initials, anchor)
                    for i, anchor in base_anchors.items()
                    if (o := snap.occs[i])
                ]
            )
        )
    done.occurrences = sum(len(c.members) for c in clusters)
    planning = time.perf_counter()
    done.cluster_s = planning - clustering

    cids = _person_ids(conn, clusters, old_cids)
    kept = old_cids.intersection(cids)
    done.people, done.new, done.gone = len(cids), len(cids) - len(kept), len(old_cids - kept)
    writer = _Writer(conn, snap, SlugBook(conn, preload=False), big_author)
    rows = writer.rows(clusters, cids, people)
    occurrences_gone, occurrences_moved = _occurrence_changes(old, rows.occurrences, kept)
    prolific, outside_pairs = _prolific_outside(
        writer, people, kept_papers - writer.crowd, set(cids), big_author
    )
    desired = {(c, o): n for c, o, n in rows.pairs}
    desired.update(outside_pairs)
    pairs_gone, pairs_moved = _pair_changes(conn, old_cids, desired)
    moved_people = {c for c, _ in pairs_gone} | {c for c, _, _ in pairs_moved}
    plan = CatchUpPlan(
        done=done,
        newest=newest,
        changed=changed,
        old_cids=old_cids,
        kept=kept,
        category_rows=_category_rows(conn, old_cids),
        writer=writer,
        rows=rows,
        occurrences_gone=occurrences_gone,
        occurrences_moved=occurrences_moved,
        pairs_gone=pairs_gone,
        pairs_moved=pairs_moved,
        rank_again=prolific & moved_people,
        state_ops=state_ops,
    )
    done.write_s = time.perf_counter() - planning  # working out the writes; apply adds to it
    return plan


def apply_catch_up(
    conn: sqlite3.Connection, plan: CatchUpPlan | PatchPlan, generation: int
) -> None:
    """Write a plan (the caller holds the write transaction and has checked that no other
    build wrote since the plan's snapshot); papers changed after the snapshot (their
    author_dirty rows carry `generation` or later) stay marked."""
    if isinstance(plan, PatchPlan):
        apply_patch(conn, plan, generation)
        return
    started = time.perf_counter()
    for sql, rows in plan.state_ops:
        if rows:
            conn.executemany(sql, rows)
    _remove_people(conn, plan.old_cids, plan.kept, plan.category_rows)
    plan.writer.insert(plan.rows, changes_only=True)
    conn.executemany(
        "DELETE FROM author_occurrences WHERE paper_rowid = ? AND position = ?",
        plan.occurrences_gone,
    )
    write_occurrences(conn, plan.occurrences_moved)
    conn.executemany(
        "DELETE FROM author_coauthors WHERE cluster_id = ? AND other_id = ?", plan.pairs_gone
    )
    conn.executemany(
        "INSERT INTO author_coauthors (cluster_id, other_id, shared) VALUES (?, ?, ?) "
        "ON CONFLICT (cluster_id, other_id) DO UPDATE SET shared = excluded.shared",
        plan.pairs_moved,
    )
    plan.done.ranked = _rank_again(conn, plan.writer, plan.rank_again)
    conn.executemany(
        "DELETE FROM author_dirty WHERE paper_rowid = ? AND generation < ?",
        [(r, generation) for r in plan.changed],
    )
    plan.done.write_s += time.perf_counter() - started


def _person_ids(conn: sqlite3.Connection, clusters: list[Cluster], old_cids: set[int]) -> list[int]:
    """An id per cluster: the id of the old person holding its first anchor that another
    cluster did not take already (so a person who only gained papers keeps its id and most of
    its rows), else a new one."""
    held = dict(
        _rows_in(
            conn,
            "SELECT anchor, cluster_id FROM author_anchors WHERE cluster_id IN ({marks})",
            old_cids,
        )
    )
    next_id = conn.execute("SELECT coalesce(max(cluster_id), 0) + 1 FROM author_clusters")
    fresh = next_id.fetchone()[0]
    taken: set[int] = set()
    ids = []
    for cluster in clusters:
        free = [held[a] for a in cluster.anchors if a in held and held[a] not in taken]
        reuse = free[0] if free else None
        if reuse is None:
            reuse, fresh = fresh, fresh + 1
        taken.add(reuse)
        ids.append(reuse)
    return ids


def _occurrence_changes(
    old: dict[tuple[int, int], tuple], new: list[tuple], kept: set[int]
) -> tuple[list[tuple[int, int]], list[tuple]]:
    """The occurrence rows to delete and to write: most of a reclustered block stays put."""
    now = {(r[0], r[1]): r for r in new}
    gone = [k for k, v in old.items() if k not in now and v[0] in kept]
    # rows of removed people are deleted with them; kept people's rows only when they moved
    moved = [r for k, r in now.items() if k not in old or old[k] != r[2:] or old[k][0] not in kept]
    return gone, moved


def _blocks_touched(
    fresh: Snapshot,
    before: list[tuple],
    corrections: list[Correction],
    built_corrections: int,
    parse: _Parser,
) -> set[str]:
    """Blocks of the changed papers' authors, before and after, and of new corrections."""
    blocks = {block_of(o.person) for o in fresh.occs if o.person is not None}
    for _, _, _, name, _, block in before:
        if block is None and (person := parse(name)) is not None:
            block = block_of(person)  # written before migration 0014 recorded blocks
        if block is not None:
            blocks.add(block)
    split_targets = {c.id: c.target for c in corrections if c.kind != "merge"}
    for corr in corrections:
        if corr.id > built_corrections:
            anchors = [corr.target, *(corr.data if corr.kind == "merge" else ())]
            blocks.update(b for a in anchors if (b := anchor_block(a, split_targets)))
    return blocks


def _category_rows(conn: sqlite3.Connection, cids: set[int]) -> list[tuple[str, int]]:
    """The (category, person) rows of people `cids`, from their stats."""
    rows = []
    for cid, stats in _rows_in(
        conn, "SELECT cluster_id, stats FROM author_clusters WHERE cluster_id IN ({marks})", cids
    ):
        rows.extend((c, cid) for c, _ in orjson.loads(stats)["categories"])
    return rows


def _remove_people(
    conn: sqlite3.Connection,
    cids: set[int],
    keep_occurrences: set[int],
    category_rows: list[tuple[str, int]],
) -> None:
    """Delete people `cids` and the rows derived from them, but for their coauthor counts and
    the occurrences of `keep_occurrences` (the caller writes only those that change)."""
    conn.executemany(
        "DELETE FROM author_categories WHERE category = ? AND cluster_id = ?", category_rows
    )
    ids = sorted(cids)
    for sql in (
        "DELETE FROM author_clusters WHERE cluster_id IN ({marks})",
        "DELETE FROM author_anchors WHERE cluster_id IN ({marks})",
        "DELETE FROM author_variants WHERE cluster_id IN ({marks})",
    ):
        for chunk in chunks(ids):
            conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)
    removed = sorted(cids - keep_occurrences)
    for chunk in chunks(removed):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM author_occurrences WHERE cluster_id IN ({marks})", chunk)


def _prolific_outside(
    writer: _Writer,
    people: dict[int, set[int]],
    kept_papers: set[int],
    block_people: set[int],
    big_author: int,
) -> tuple[set[int], dict[tuple[int, int], int]]:
    """Prolific people outside the reclustered blocks who share a paper with them, and their
    shared papers with each person of the blocks (only unchanged papers can hold both; the
    caller leaves out large collaborations, which count no pairs)."""
    outside = {c for p in kept_papers for c in people.get(p, ()) if c not in block_people}
    prolific = {c for c, (n, _) in writer.stored_info(outside).items() if n >= big_author}
    pairs: Counter[tuple[int, int]] = Counter()
    if prolific:
        for paper in kept_papers:
            on = people.get(paper, set())
            for x in on & prolific:
                for c in on & block_people:
                    pairs[(x, c)] += 1
    return prolific, pairs


def _pair_changes(
    conn: sqlite3.Connection, old_cids: set[int], desired: dict[tuple[int, int], int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """The coauthor counts to delete and to write so that those involving the reclustered
    people (`old_cids` before, `desired` after) are what `desired` says."""
    existing: dict[tuple[int, int], int] = {}
    for column in ("cluster_id", "other_id"):
        for c, o, n in _rows_in(
            conn,
            f"SELECT cluster_id, other_id, shared FROM author_coauthors WHERE {column} "
            "IN ({marks})",
            old_cids,
        ):
            existing[(c, o)] = n
    gone = sorted(k for k in existing if k not in desired)
    moved = sorted((c, o, n) for (c, o), n in desired.items() if existing.get((c, o)) != n)
    return gone, moved


def _rank_again(conn: sqlite3.Connection, writer: _Writer, prolific: set[int]) -> int:
    """Rank the top coauthors of people outside the blocks whose counts changed."""
    for x in sorted(prolific):
        together = Counter(
            dict(
                conn.execute(
                    "SELECT other_id, shared FROM author_coauthors WHERE cluster_id = ?", (x,)
                ).fetchall()
            )
        )
        row = conn.execute("SELECT stats FROM author_clusters WHERE cluster_id = ?", (x,))
        stats = orjson.loads(row.fetchone()[0])
        stats["coauthors"] = rank_coauthors(together, writer.stored_info)
        conn.execute(
            "UPDATE author_clusters SET stats = ? WHERE cluster_id = ?",
            (orjson.dumps(stats).decode(), x),
        )
    return len(prolific)
