"""`serve`'s background embedding and the per-process engine catching up with other writers."""

from __future__ import annotations

import time

from conftest import FORMATS, WEB
from paperscope.index.neighbours import KEPT
from paperscope.ingest.pipeline import import_file
from paperscope.rank.search import SIMILAR_MODE, SearchEngine
from paperscope.serve.web.workers import EmbedWorker
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for

HF_DETAIL = FORMATS / "huggingface-papers" / "paper-2608.09888-detail.json"


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_embed_worker_embeds_new_papers_and_search_sees_them(tmp_path):
    db = tmp_path / "papers.db"
    with SQLiteStore(db) as store:
        import_file(store, WEB / "xss-papers.jsonl")
        # checked before serving starts: once it has, the worker may embed at any moment
        assert store.count_embedded() == 0
    with client_for(db, embed_worker=True) as client:
        site = client.app.state.site
        worker = next(w for w in _workers(client) if isinstance(w, EmbedWorker))
        worker.idle = 0.1
        engine = site.engine
        _wait(lambda: engine.store.count_embedded() == 2)
        site.refresh()
        assert len(engine.vectors) == 2
        # a paper imported by another process while serving: keyword search finds it, the
        # worker embeds it, and the vector index catches up
        with SQLiteStore(db) as other:
            import_file(other, HF_DETAIL)
        site.refresh()
        assert engine.lexical.count(_parse('ti:"recurrent latent reasoning"')) == 1
        _wait(lambda: engine.store.count_embedded() == 3)
        site.refresh()
        assert len(engine.vectors) == 3
        # the worker counts a round after committing it
        _wait(lambda: worker.embedded == 3)


def test_embed_worker_computes_the_newest_papers_similar_lists(tmp_path):
    db = tmp_path / "papers.db"
    with SQLiteStore(db) as store:
        import_file(store, WEB / "xss-papers.jsonl")
        import_file(store, HF_DETAIL)
    worker = EmbedWorker(db, idle=0.1, neighbours_newest=2).start()
    try:
        # once embedding has caught up, `paperscope neighbours --newest 2` runs
        _wait(lambda: worker.neighbour_runs == 1)
        assert worker.embedded == 3
        with SearchEngine.open(db) as engine:
            newest = engine.store.rowids_newest()
            key = engine.neighbour_state()
            assert engine.neighbours.missing(newest, key) == newest[2:]
            for rowid in newest[:2]:
                fresh = engine._similar_ranked(rowid, KEPT, SIMILAR_MODE, None)
                assert engine.neighbours.get(rowid, key) == fresh != []
    finally:
        worker.stop()


def test_only_one_process_embeds(tmp_path):
    db = tmp_path / "papers.db"
    SQLiteStore(db).close()
    first = EmbedWorker(db, idle=0.05).start()
    second = EmbedWorker(db, idle=0.05).start()
    try:
        with SQLiteStore(db) as store:
            import_file(store, WEB / "xss-papers.jsonl")
        _wait(lambda: first.embedded + second.embedded == 2)
        time.sleep(0.3)
        assert sorted((first.embedded, second.embedded)) == [0, 2]
    finally:
        first.stop()
        second.stop()


def _workers(client) -> list:
    return client.app.state.workers


def _parse(text: str):
    from paperscope.rank.query import parse

    return parse(text)
