"""Remembered similar-paper lists: the same answer as computing afresh, shared between
processes, and never served once the vectors changed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.index.embedding import embed_missing
from paperscope.index.neighbours import KEPT, NeighbourCache, state_key
from paperscope.ingest.pipeline import import_file
from paperscope.rank.search import SIMILAR_MODE, SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli import index as index_cli

runner = CliRunner()
HF_DETAIL = FORMATS / "huggingface-papers" / "paper-2608.09888-detail.json"


def _fresh(engine: SearchEngine, rowid: int, limit: int) -> list[tuple[int, float]]:
    return engine._similar_ranked(rowid, limit, SIMILAR_MODE, None)


def test_remembered_lists_give_what_computing_afresh_gives(store_copy):
    with SearchEngine.open(store_copy) as engine:
        rowids = engine.store.rowids_newest(12)
        key = engine.neighbour_state()
        assert engine.neighbours.missing(rowids, key) == rowids
        first = {r: [(h.rowid, h.score) for h in engine.similar_rowid(r, limit=6)] for r in rowids}
        # every list was remembered on first use, KEPT long
        assert engine.neighbours.missing(rowids, key) == []
        for rowid in rowids:
            kept = engine.neighbours.get(rowid, key)
            assert kept == _fresh(engine, rowid, KEPT)
            assert first[rowid] == kept[:6] == _fresh(engine, rowid, 6)
            assert first[rowid], "the sample store is embedded: every paper has neighbours"
            # served from the cache: the answer does not move
            again = engine.similar_rowid(rowid, limit=6)
            assert [(h.rowid, h.score) for h in again] == first[rowid]
        # longer than what is kept, a filter, or another mode: computed afresh, not cut short
        longer = engine.similar_rowid(rowids[0], limit=KEPT + 5)
        assert [(h.rowid, h.score) for h in longer] == _fresh(engine, rowids[0], KEPT + 5)
        assert len(longer) > KEPT


def test_only_vector_changes_make_lists_stale(store_copy):
    with SearchEngine.open(store_copy) as engine:
        rowid = engine.store.rowids_newest(1)[0]
        first = engine.similar_rowid(rowid, limit=6)
        old_key = engine.neighbour_state()
        generation = engine.store.generation()
        # a new paper without vectors moves the store's generation, not the lists' state
        import_file(engine.store, HF_DETAIL)
        assert engine.store.generation() != generation
        assert engine.neighbour_state() == old_key
        assert engine.neighbours.get(rowid, old_key) == _fresh(engine, rowid, KEPT)
        # embedding it does: every list is computed again, on the new vectors
        assert len(embed_missing(engine.store, engine.embedder, index=engine.vectors)) == 1
        new_key = engine.neighbour_state()
        assert new_key != old_key
        assert engine.neighbours.get(rowid, new_key) is None
        again = engine.similar_rowid(rowid, limit=6)
        assert [(h.rowid, h.score) for h in again] == _fresh(engine, rowid, 6)
        assert first and engine.neighbours.count(new_key) == 1
        # the first list written in the new state dropped the old state's lists
        assert engine.neighbours.get(rowid, old_key) is None


def test_a_deleted_paper_leaves_the_remembered_lists(store_copy):
    with SearchEngine.open(store_copy) as engine:
        rowid = engine.store.rowids_newest(1)[0]
        shown = [h.paper for h in engine.similar_rowid(rowid, limit=6)]
        key = engine.neighbour_state()
        gone = next(p for p in shown if p.arxiv_id)  # deletions name arXiv ids
        assert engine.store.write_batch([], origin="test", deletions=[gone.arxiv_id]).deleted == 1
        assert engine.neighbour_state() == key  # its vectors stay; the list is read around it
        again = engine.similar_rowid(rowid, limit=6)
        assert gone.id not in [h.paper.id for h in again]
        assert [(h.rowid, h.score) for h in again] == _fresh(engine, rowid, 6)


def test_cache_keeps_one_state_and_survives_reopening(tmp_path):
    path = tmp_path / "neighbours.sqlite"
    cache = NeighbourCache(path)
    one, two = state_key("m", 1, 10), state_key("m", 2, 10)
    cache.put(one, [(1, [(2, 0.5), (3, 0.25)]), (2, [])])
    assert cache.get(1, one) == [(2, 0.5), (3, 0.25)]
    assert cache.get(2, one) == []
    assert cache.get(1, two) is None
    assert cache.missing([3, 2, 1], one) == [3]
    cache.close()
    reopened = NeighbourCache(path)
    assert reopened.get(1, one) == [(2, 0.5), (3, 0.25)]
    reopened.put(two, [(3, [(1, 1.0)])])
    assert (reopened.get(1, one), reopened.count(one), reopened.count(two)) == (None, 0, 1)
    reopened.close()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_neighbours_command_fills_every_list(store_copy, monkeypatch, jobs):
    # small tasks, so two worker processes share the sample store's papers
    monkeypatch.setattr(index_cli, "NEIGHBOUR_TASK", 16)
    result = runner.invoke(app, ["neighbours", "--db", str(store_copy), "-j", jobs, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with SearchEngine.open(store_copy) as engine:
        papers = engine.store.count()
        key = engine.neighbour_state()
        assert data == {**data, "papers": papers, "computed": papers, "remembered": papers}
        for rowid in engine.store.rowids_newest(5):
            assert engine.neighbours.get(rowid, key) == _fresh(engine, rowid, KEPT)
    again = runner.invoke(app, ["neighbours", "--db", str(store_copy), "--json"])
    assert json.loads(again.stdout)["computed"] == 0
    newest = runner.invoke(app, ["neighbours", "--db", str(store_copy), "--newest", "3", "--json"])
    assert json.loads(newest.stdout) == {**json.loads(newest.stdout), "papers": 3, "computed": 0}
