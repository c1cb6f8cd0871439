"""Remembered similar-paper lists: the same answer as computing afresh, shared between
processes, and never served once the vectors changed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.index.embedding import embed_missing
from paperscope.index.neighbours import KEPT, NeighbourCache, State
from paperscope.ingest.pipeline import import_file
from paperscope.rank.search import SIMILAR_MODE, SearchEngine
from paperscope.serve.cli import app
from paperscope.serve.cli import index as index_cli

runner = CliRunner()
HF_DETAIL = FORMATS / "huggingface-papers" / "paper-2608.09888-detail.json"


def _fresh(engine: SearchEngine, rowid: int, limit: int) -> list[tuple[int, float]]:
    return engine._similar_ranked(rowid, limit, SIMILAR_MODE, None)


def test_remembered_lists_give_what_computing_afresh_gives(store_any):
    with SearchEngine.open(store_any) as engine:
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


def test_only_vector_changes_make_lists_stale(store_any):
    with SearchEngine.open(store_any) as engine:
        rowid = engine.store.rowids_newest(1)[0]
        first = engine.similar_rowid(rowid, limit=6)
        old_state = engine.neighbour_state()
        generation = engine.store.generation()
        # a new paper without vectors moves the store's generation, not the lists' state
        import_file(engine.store, HF_DETAIL)
        assert engine.vectors.ensure()  # the index caught up with the store
        assert engine.store.generation() != generation
        assert engine.neighbour_state() == old_state
        assert engine.neighbours.get(rowid, old_state) == _fresh(engine, rowid, KEPT)
        # embedding it does: every list is computed again, on the new vectors
        assert len(embed_missing(engine.store, engine.embedder, index=engine.vectors)) == 1
        new_state = engine.neighbour_state()
        assert new_state.generation > old_state.generation
        assert engine.neighbours.get(rowid, new_state) is None
        again = engine.similar_rowid(rowid, limit=6)
        assert [(h.rowid, h.score) for h in again] == _fresh(engine, rowid, 6)
        assert first and engine.neighbours.count(new_state) == 1
        # the first list written in the new state dropped the old state's lists
        assert engine.neighbours.get(rowid, old_state) is None


def test_a_deleted_paper_leaves_the_remembered_lists(store_any):
    with SearchEngine.open(store_any) as engine:
        rowid = engine.store.rowids_newest(1)[0]
        shown = [h.paper for h in engine.similar_rowid(rowid, limit=6)]
        state = engine.neighbour_state()
        gone = next(p for p in shown if p.arxiv_id)  # deletions name arXiv ids
        assert engine.store.write_batch([], origin="test", deletions=[gone.arxiv_id]).deleted == 1
        assert engine.vectors.ensure()  # the index dropped the deleted paper
        # its vectors stay in the store, so the lists stay; each is read around the paper
        assert engine.neighbour_state() == state
        assert engine.neighbours.get(rowid, state) is not None
        again = engine.similar_rowid(rowid, limit=6)
        assert gone.id not in [h.paper.id for h in again]
        assert [(h.rowid, h.score) for h in again] == _fresh(engine, rowid, 6)


def test_a_process_behind_the_store_neither_serves_nor_overwrites_newer_lists(store_any):
    with SearchEngine.open(store_any) as behind, SearchEngine.open(store_any) as ahead:
        rowid = behind.store.rowids_newest(1)[0]
        old_state = behind.neighbour_state()  # loads its index now
        # another process re-embeds a paper with the same number of passages: the number of
        # papers with vectors does not move, the vectors generation does
        other = behind.store.rowids_newest(2)[1]
        vectors = ahead.store.conn.execute(
            "SELECT passage, vector FROM paper_vectors WHERE paper_rowid = ? ORDER BY passage",
            (other,),
        ).fetchall()
        model = behind.embedder.version
        flipped = [(other, p, (-np.frombuffer(v, dtype=np.float32)).tobytes()) for p, v in vectors]
        ahead.store.save_vectors(model, flipped)
        new_state = ahead.neighbour_state()
        assert new_state.generation > old_state.generation
        assert len(ahead.vectors) == len(behind.vectors)
        ahead.similar_rowid(rowid, limit=6)
        assert ahead.neighbours.get(rowid, new_state) == _fresh(ahead, rowid, KEPT)
        # the process whose index is behind computes for itself and writes nothing
        behind.similar_rowid(rowid, limit=6)
        assert behind.neighbours.get(rowid, old_state) is None
        assert ahead.neighbours.count(new_state) == 1
        assert behind.remember_similar(behind.store.rowids_newest(5)) == 0


def test_cache_keeps_one_state_and_survives_reopening(tmp_path):
    path = tmp_path / "neighbours.sqlite"
    cache = NeighbourCache(path)
    one, two = State("m", 1), State("m", 2)
    assert cache.put(one, [(1, [(2, 0.5), (3, 0.25)]), (2, [])])
    assert cache.get(1, one) == [(2, 0.5), (3, 0.25)]
    assert cache.get(2, one) == []
    assert cache.get(1, two) is None
    assert cache.missing([3, 2, 1], one) == [3]
    cache.close()
    reopened = NeighbourCache(path)
    assert reopened.get(1, one) == [(2, 0.5), (3, 0.25)]
    assert reopened.put(two, [(3, [(1, 1.0)])])
    assert (reopened.get(1, one), reopened.count(one), reopened.count(two)) == (None, 0, 1)
    # a writer in an older state writes nothing; another model takes over
    assert not reopened.put(one, [(1, [(2, 0.5)])])
    assert (reopened.count(two), reopened.get(1, one)) == (1, None)
    assert reopened.put(State("other", 0), [(4, [])])
    assert (reopened.count(two), reopened.count(State("other", 0))) == (0, 1)
    reopened.close()


def test_an_unusable_cache_file_still_answers(store_any):
    with SearchEngine.open(store_any) as engine:
        rowid = engine.store.rowids_newest(1)[0]
        engine.neighbours.path.parent.mkdir(parents=True, exist_ok=True)
        engine.neighbours.path.write_bytes(b"not a database" * 100)
        found = engine.similar_rowid(rowid, limit=6)
        assert [(h.rowid, h.score) for h in found] == _fresh(engine, rowid, 6)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_neighbours_command_fills_every_list(store_any, monkeypatch, jobs):
    # small tasks, so two worker processes share the sample store's papers
    monkeypatch.setattr(index_cli, "NEIGHBOUR_TASK", 16)
    result = runner.invoke(app, ["neighbours", "--db", str(store_any), "-j", jobs, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with SearchEngine.open(store_any) as engine:
        papers = engine.store.count()
        key = engine.neighbour_state()
        expected = {"papers": papers, "computed": papers, "remembered": papers}
        assert data == {**data, **expected, "vectors_changed": False}
        for rowid in engine.store.rowids_newest(5):
            assert engine.neighbours.get(rowid, key) == _fresh(engine, rowid, KEPT)
    again = runner.invoke(app, ["neighbours", "--db", str(store_any), "--json"])
    assert json.loads(again.stdout)["computed"] == 0
    newest = runner.invoke(app, ["neighbours", "--db", str(store_any), "--newest", "3", "--json"])
    assert json.loads(newest.stdout) == {**json.loads(newest.stdout), "papers": 3, "computed": 0}
