"""Similar-paper lists that follow new vectors: the reverse-kNN update.

When papers gain vectors (an import, a harvest), the remembered lists of the other papers are
not thrown away. Each new or re-embedded paper's own list is computed, and the paper enters the
lists it now belongs in: every remembered list whose worst score is below the paper's
whole-text similarity to its owner. Those are found exactly by one scan of the whole-text
vectors against the new papers' (a matrix product per chunk, about N x new x 384 multiply-adds)
and each list's threshold (the `worst` column of index/neighbours.py). The whole-text cosine is
symmetric, so a new paper gets the score a recompute would give it. Papers that left the index
(deleted, or vectors removed) and re-embedded papers leave the lists of their candidates
first; a list that lost a paper is *short*.

Where this can differ from computing every list afresh (docs/search.md, "Similar papers"): a
recompute ranks by whole text only the SIMILAR_POOL papers the owner's passages match best, so
a new paper whose whole text beats a list's worst score but whose passages rank outside that
pool enters here and not in a recompute (it is at least as similar by whole text); and a
re-embedded or deleted paper is dropped from the lists of its candidates only (deleted papers
are also dropped when a list is read). On a store smaller than the pool the lists equal a
recompute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np

from paperscope.index.neighbours import KEPT, Entry, Members
from paperscope.index.vectors import CLOCK_MARGIN
from paperscope.rank.search import CANDIDATES, SIMILAR_POOL, SearchEngine
from paperscope.store.ratings import Ratings


@dataclass(slots=True)
class Followed:
    """What one `follow_vectors` call did."""

    #: "current" (nothing to do), "advanced", "established" (a first run, another model: the
    #: lists start afresh) or "raced" (another process moved the lists meanwhile)
    outcome: str
    new: int = 0
    changed: int = 0
    removed: int = 0
    #: old papers' lists a new or re-embedded paper entered, or a removed one left
    updated: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def follow_vectors(
    engine: SearchEngine, progress: Callable[[int, int], None] | None = None
) -> Followed:
    """Carry the remembered lists forward to the vectors `engine`'s index holds now."""
    cache = engine.neighbours
    state = engine.neighbour_state()  # syncs the index with the store
    index = engine.vectors
    now = index.rowids()
    before = cache.members()
    if before is not None and before.state == state:
        return Followed("current")
    if (
        before is None
        or before.state.model != state.model
        or before.state.generation > state.generation
    ):
        # nothing to carry forward: lists remembered by page views only, another model, a
        # store restored from an older backup
        cache.establish(Members(state, index.synced_at or "", now, index.digests(now)))
        return Followed("established")

    new = np.setdiff1d(now, before.rowids)
    removed = np.setdiff1d(before.rowids, now)
    since = datetime.fromisoformat(before.synced_at) - CLOCK_MARGIN
    since_iso = since.isoformat().replace("+00:00", "Z")  # papers.modified_at's format
    modified = np.array(engine.store.rowids_modified_since(since_iso), dtype=np.int64)
    suspects = np.intersect1d(modified, np.intersect1d(now, before.rowids))
    earlier = before.digests[np.searchsorted(before.rowids, suspects)]
    changed = suspects[~(index.digests(suspects) == earlier)]
    fresh = np.concatenate([new, changed]).tolist()

    pools: dict[int, list[tuple[int, float]]] = {}
    for i, rowid in enumerate(fresh):
        exclude = {rowid, *engine.store.duplicate_rowids(rowid)}
        pools[rowid] = engine._similar_pool(rowid, CANDIDATES, exclude)
        if progress:
            progress(i + 1, len(fresh))
    # the lists a removed or re-embedded paper may sit in: its candidates (a deleted paper
    # keeps its vectors in the store, where `similar` reads them)
    holders: set[int] = set()
    for rowid in removed.tolist():
        holders.update(r for r, _ in index.similar(rowid, SIMILAR_POOL))
    for rowid in changed.tolist():
        holders.update(r for r, _ in pools[rowid])
    entering = _entering(engine, before.state, fresh)

    fresh_set = set(fresh)
    gone = set(removed.tolist()) | set(changed.tolist())
    candidates = (holders | set(entering)) - fresh_set
    counted = Followed("advanced", len(new), len(changed), len(removed))

    def update(entries: dict[int, Entry]):
        lists: dict[int, tuple[list[tuple[int, float]], bool]] = {}
        touched: set[int] = set()
        for rowid, (hits, short) in entries.items():
            kept = [(r, s) for r, s in hits if r not in gone]
            if len(kept) < len(hits):
                touched.add(rowid)
                # a full list that lost papers is a prefix of the best of what is left
                short = short or len(hits) >= KEPT
            lists[rowid] = (kept, short)
        for other, papers in entering.items():
            entry = lists.get(other)
            if entry is None:
                continue
            for paper, score in papers:
                if _enter(entry, paper, score):
                    touched.add(other)
        counted.updated = len(touched)
        for rowid in touched:
            yield rowid, *lists[rowid]
        for rowid, pool in pools.items():
            yield rowid, pool[:KEPT], False

    members = Members(state, index.synced_at or "", now, _digests(index, before, now, fresh))
    if not cache.advance(members, before.state, sorted(candidates), update, removed.tolist()):
        return Followed("raced", len(new), len(changed), len(removed))
    return counted


def _entering(engine: SearchEngine, state, fresh: list[int]) -> dict[int, list[tuple[int, float]]]:
    """For each remembered list, the fresh papers whose whole-text similarity beats its worst
    score, with that score: every live paper's whole-text vector is scanned against the fresh
    papers' (one matrix product per chunk), so no list a fresh paper belongs in is missed."""
    model = engine.embedder.version
    ratings = Ratings(engine.store)
    found = ratings.doc_vectors(model, fresh)
    entering: dict[int, list[tuple[int, float]]] = {}
    if not found:
        return entering
    new_ids = np.array([r for r, _, _ in found], dtype=np.int64)
    new_vecs = np.frombuffer(b"".join(v for _, _, v in found), dtype=np.float32).reshape(
        len(found), -1
    )
    holders, worst = engine.neighbours.thresholds(state)
    if not len(holders):
        return entering
    for chunk in ratings.iter_doc_vectors(model):
        ids = np.fromiter((r for r, _, _ in chunk), dtype=np.int64, count=len(chunk))
        at = np.minimum(np.searchsorted(holders, ids), len(holders) - 1)
        keep = (holders[at] == ids) & ~np.isin(ids, new_ids)
        if not keep.any():
            continue
        rows = np.flatnonzero(keep)
        matrix = np.frombuffer(
            b"".join(chunk[i][2] for i in rows.tolist()), dtype=np.float32
        ).reshape(len(rows), -1)
        # a margin for the product's rounding: the exact score is taken below
        scores = matrix @ new_vecs.T
        bar = worst[at[rows]][:, None] - 1e-4
        for i, j in zip(*np.nonzero(scores > bar), strict=True):
            other, paper = int(ids[rows[i]]), int(new_ids[j])
            # as `SearchEngine._by_whole_text` scores `paper` in the list of `other`
            score = float(new_vecs[j] @ matrix[i])
            entering.setdefault(other, []).append((paper, score))
    return entering


def _enter(entry: tuple[list[tuple[int, float]], bool], paper: int, score: float) -> bool:
    """Put `paper` in a list where a recompute would rank it; returns whether it entered."""
    hits, short = entry
    key = (-score, paper)  # best first, ties by lower rowid (VectorIndex._top's order)
    if (len(hits) >= KEPT or short) and (not hits or key > (-hits[-1][1], hits[-1][0])):
        return False  # below the worst: not in a full list, unknown past a short one
    at = 0
    while at < len(hits) and (-hits[at][1], hits[at][0]) < key:
        at += 1
    hits.insert(at, (paper, score))
    del hits[KEPT:]
    return True


def _digests(index, before: Members, now: np.ndarray, fresh: list[int]) -> np.ndarray:
    """The fingerprints of `now`'s papers: kept from `before`, read afresh for `fresh`."""
    digests = np.full(len(now), np.nan)
    kept = np.isin(now, before.rowids)
    digests[kept] = before.digests[np.searchsorted(before.rowids, now[kept])]
    if fresh:
        ids = np.asarray(fresh, dtype=np.int64)
        digests[np.searchsorted(now, ids)] = index.digests(ids)
    return digests
