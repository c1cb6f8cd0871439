"""Similar-paper lists that follow new papers (rank/neighbours_follow.py): after new vectors,
old papers' remembered lists take in the new papers a recompute would show, without being
computed again, and deleted papers leave them."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.index.embedding import DOC_PASSAGE, embed_missing
from paperscope.index.neighbours import KEPT, Members, NeighbourCache, State
from paperscope.ingest.pipeline import import_file
from paperscope.rank.neighbours_follow import follow_vectors
from paperscope.rank.search import SIMILAR_MODE, SearchEngine
from paperscope.serve.cli import app

runner = CliRunner()
ATTENTION = FORMATS / "arxiv-api-atom" / "query-all-attention-or-mechanism-3-entries-2026.xml"
PHYSICS = FORMATS / "arxiv-api-atom" / "query-au-del_maestro-10-entries-2016.xml"


def _fresh(engine: SearchEngine, rowid: int) -> list[tuple[int, float]]:
    return engine._similar_ranked(rowid, KEPT, SIMILAR_MODE, None)


def _all_lists(engine: SearchEngine) -> list[int]:
    """Remember every paper's list in the current state; returns the rowids."""
    rowids = engine.store.rowids_newest()
    engine.remember_similar(engine.neighbours.missing(rowids, engine.neighbour_state()))
    return rowids


def _brute_force(engine: SearchEngine, rowid: int, k: int) -> list[int]:
    """The `k` papers whose whole-text vectors are nearest to `rowid`'s, by a full scan."""
    model = engine.embedder.version
    live = engine.store.live_among(engine.store.rowids_newest())
    blobs = engine.store.passage_vectors(model, DOC_PASSAGE, sorted(live))
    own = np.frombuffer(blobs[rowid], dtype=np.float32)
    skip = {rowid, *engine.store.duplicate_rowids(rowid)}
    scored = [
        (-float(np.frombuffer(b, dtype=np.float32) @ own), r)
        for r, b in blobs.items()
        if r not in skip
    ]
    return [r for _, r in sorted(scored)[:k]]


def test_new_papers_enter_old_lists_as_a_recompute_would(store_any):
    with SearchEngine.open(store_any) as engine:
        assert follow_vectors(engine).outcome == "established"
        old = _all_lists(engine)
        before = engine.neighbour_state()
        assert engine.neighbours.count(before) == len(old)
        for source in (ATTENTION, PHYSICS):
            import_file(engine.store, source)
        new = embed_missing(engine.store, engine.embedder, index=engine.vectors)
        assert len(new) >= 10
        after = engine.neighbour_state()
        assert after.generation > before.generation
        # before it is followed, a page view neither serves nor drops the followed lists
        engine.similar_rowid(old[0], limit=6)
        assert engine.neighbours.count(before) == len(old)

        followed = follow_vectors(engine)
        assert (followed.outcome, followed.new, followed.removed) == ("advanced", len(new), 0)
        assert followed.updated > 0
        assert engine.neighbours.count(after) == len(old) + len(new)
        # the sample store is smaller than the candidate pool: every list equals a recompute
        everyone = engine.store.rowids_newest()
        stored = engine.neighbours.entries(everyone, after)
        assert set(stored) == set(everyone)
        for rowid in everyone:
            assert stored[rowid] == (_fresh(engine, rowid), False), rowid
        # an old paper whose true nearest papers now hold a new one shows it, from its list
        entered = [r for r in old if set(_brute_force(engine, r, 6)) & {int(n) for n in new}]
        assert entered, "the attention papers are near the sample store's ML papers"
        for rowid in entered:
            shown = [h.rowid for h in engine.similar_rowid(rowid, limit=6)]
            assert shown == _brute_force(engine, rowid, 6)
        assert follow_vectors(engine).outcome == "current"


def test_deleted_and_re_embedded_papers_leave_the_lists(store_any):
    with SearchEngine.open(store_any) as engine:
        follow_vectors(engine)
        old = _all_lists(engine)
        state = engine.neighbour_state()
        lists = engine.neighbours.entries(old, state)
        holders = {}
        for rowid, (hits, _) in lists.items():
            for other, _ in hits:
                holders.setdefault(other, []).append(rowid)
        papers = engine.store.load_rowids(old)
        gone = next(r for r in old if papers[r].arxiv_id and len(holders.get(r, [])) >= 3)
        assert (
            engine.store.write_batch([], origin="test", deletions=[papers[gone].arxiv_id]).deleted
            == 1
        )
        # another paper is re-embedded (its vectors turned around) without a new version
        flipped = next(r for r in old if r != gone and len(holders.get(r, [])) >= 3)
        rows = engine.store.conn.execute(
            "SELECT passage, vector FROM paper_vectors WHERE paper_rowid = ? ORDER BY passage",
            (flipped,),
        ).fetchall()
        engine.store.save_vectors(
            engine.embedder.version,
            [(flipped, p, (-np.frombuffer(v, dtype=np.float32)).tobytes()) for p, v in rows],
        )
        engine.store.conn.execute(  # as a new version would mark it
            "UPDATE papers SET modified_at = '2999-01-01T00:00:00Z' WHERE rowid = ?", (flipped,)
        )
        engine.vectors.ensure()
        followed = follow_vectors(engine)
        assert (followed.outcome, followed.removed, followed.changed) == ("advanced", 1, 1)
        after = engine.neighbour_state()
        everyone = engine.store.rowids_newest()
        stored = engine.neighbours.entries(everyone, after)
        assert gone not in stored
        for rowid, (hits, short) in stored.items():
            ids = [r for r, _ in hits]
            assert gone not in ids
            fresh = _fresh(engine, rowid)
            # a list that lost a paper is a prefix of the recompute, marked short
            assert hits == fresh[: len(hits)], rowid
            assert short == (len(hits) < len(fresh)), rowid
        # served: full for what a page shows, computed again when it asks for more than is left
        for rowid in holders[gone]:
            if rowid == flipped:
                continue
            shown = engine.similar_rowid(rowid, limit=KEPT)
            assert [(h.rowid, h.score) for h in shown] == _fresh(engine, rowid)


def test_put_does_not_drop_lists_that_will_be_followed(tmp_path):
    cache = NeighbourCache(tmp_path / "neighbours.sqlite")
    one, two = State("m", 1), State("m", 2)
    members = Members(one, "2026-01-01T00:00:00Z", np.array([1, 2]), np.array([0.5, 0.25]))
    cache.establish(members)
    assert cache.put(one, [(1, [(2, 0.5)])])
    # a page view whose index is ahead writes nothing; the followed lists stay
    assert not cache.put(two, [(1, [(2, 0.75)])])
    assert cache.get(1, one) == [(2, 0.5)]
    got = cache.members()
    assert got is not None and got.state == one
    assert got.rowids.tolist() == [1, 2] and got.digests.tolist() == [0.5, 0.25]
    # advanced: the lists move to the new state with what `update` wrote
    moved = Members(two, "2026-01-02T00:00:00Z", np.array([1, 2, 3]), np.zeros(3))
    assert cache.advance(moved, one, [1, 2], lambda e: [(1, [(3, 0.9), *e[1][0]], False)])
    assert (cache.get(1, two), cache.get(2, two), cache.get(1, one)) == (
        [(3, 0.9), (2, 0.5)],
        None,
        None,
    )
    # an advance from a state that is not the stored one writes nothing
    assert not cache.advance(moved, one, [1], lambda e: [(1, [], True)])
    assert cache.lookup(1, two) == ([(3, 0.9), (2, 0.5)], False)
    cache.close()


def test_neighbours_command_follows_new_papers(store_any):
    first = runner.invoke(app, ["neighbours", "--db", str(store_any), "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["followed"]["outcome"] == "established" and data["computed"] == data["papers"]
    with SearchEngine.open(store_any) as engine:
        import_file(engine.store, ATTENTION)
        new = embed_missing(engine.store, engine.embedder, index=engine.vectors)
    second = runner.invoke(app, ["neighbours", "--db", str(store_any), "--json"])
    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert data["followed"]["outcome"] == "advanced"
    assert data["followed"]["new"] == len(new)
    # the new papers' lists came with the follow; nothing was left to compute
    assert data["computed"] == 0 and data["remembered"] == data["papers"]
