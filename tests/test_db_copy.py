"""`paperscope db copy`: the sample store round-trips SQLite -> PostgreSQL -> SQLite with every
table's row count and checksum identical, resumes after an interruption, and the copy in
PostgreSQL serves searches once its indexes rebuilt (issue 12)."""

from __future__ import annotations

import json

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.serve.cli import app
from paperscope.store import copy as copy_module
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from paperscope.store.copy import checksums, copy_store
from paperscope.store.ratings import record_follow, record_rating, record_tag, record_upvote

pytestmark = pytest.mark.skipif(
    "postgres" not in __import__("backends").wanted(), reason="PAPERSCOPE_TEST_BACKENDS"
)
runner = CliRunner()


def _with_user_data(path):
    """The sample store plus a user's library, ratings, tags, follows and upvotes."""
    with open_store(path) as store:
        user = Accounts(store).local_user()
        rowids = [r for r, _ in store.iter_papers()][:5]
        record_rating(store, user.id, rowids[0], rating=1, saved=True)
        record_rating(store, user.id, rowids[1], rating=-1)
        record_tag(store, user.id, "reading group", rowids[2])
        record_upvote(store, user.id, rowids[3])
        record_follow(store, user.id, "category", "cs.LG")
    return path


def _copy(source, target) -> dict:
    result = runner.invoke(app, ["db", "copy", str(source), str(target), "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_round_trip_sqlite_postgres_sqlite_is_lossless(store_copy, pg_server, tmp_path):
    source = _with_user_data(store_copy)
    url = pg_server.fresh(migrated=False)
    there = _copy(source, url)
    assert there["same"] and not there["resumed"]
    counts = {t["table"]: t["source_rows"] for t in there["tables"]}
    # records, vectors and the user's tables all made it
    for table in ("papers", "paper_vectors", "paper_authors", "users", "user_papers", "tags"):
        assert counts[table] > 0, table
    back = tmp_path / "back.db"
    again = _copy(url, back)
    assert again["same"]
    with open_store(source) as a, open_store(back) as b:
        assert checksums(a) == checksums(b)
    with open_store(url) as pg:
        # ids the database hands out go on after the copied ones
        user = Accounts(pg).add("second@example.org", display_name="Second")
        assert user.id > max(
            t for (t,) in pg.conn.execute("SELECT id FROM users WHERE id < ?", (user.id,))
        )
    pg_server.drop(url)


def test_an_interrupted_copy_resumes_and_ends_identical(store_copy, pg_server, monkeypatch):
    url = pg_server.fresh(migrated=False)
    monkeypatch.setattr(copy_module, "BATCH", 50)
    seen = []

    def stop_half_way(table, done, total):
        seen.append((table, done))
        if table == "paper_authors" and done >= 100:
            raise KeyboardInterrupt

    with open_store(store_copy) as src, open_store(url) as dst:
        with pytest.raises(KeyboardInterrupt):
            copy_store(src, dst, progress=stop_half_way)
        copied = dst.conn.execute("SELECT count(*) FROM paper_authors").fetchone()[0]
        assert copied == 100  # two batches committed, the third never started
        result = copy_store(src, dst)
        assert result.resumed and result.same
        authors = next(t for t in result.tables if t.name == "paper_authors")
        assert authors.copied == authors.source_count - 100  # nothing written twice
    pg_server.drop(url)


def test_a_target_with_data_is_refused(store_copy, pg_server):
    url = pg_server.fresh()
    with open_store(url) as store:
        Accounts(store).local_user()
    result = runner.invoke(app, ["db", "copy", str(store_copy), url])
    assert result.exit_code != 0
    assert "already holds data" in result.output
    pg_server.drop(url)


def test_the_copy_in_postgres_searches_like_the_original(
    store_copy, pg_server, tmp_path, monkeypatch
):
    from paperscope.rank.search import SearchEngine

    url = pg_server.fresh(migrated=False)
    _copy(store_copy, url)
    expected = {}
    with SearchEngine.open(store_copy) as engine:
        for mode in ("lexical", "semantic", "hybrid"):
            expected[mode] = [
                h.paper.id for h in engine.search("diffusion", mode=mode, limit=10).hits
            ]
    monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "pg-index"))
    with SearchEngine.open(url) as engine:  # both indexes rebuild from PostgreSQL here
        for mode, ids in expected.items():
            got = [h.paper.id for h in engine.search("diffusion", mode=mode, limit=10).hits]
            assert got == ids, mode
    assert (tmp_path / "pg-index" / "lexical").exists()
    pg_server.drop(url)


def test_a_refused_copy_leaves_the_target_as_it_was_and_it_copies_back(pg_server, tmp_path):
    """Running the same `db copy` twice: the second is refused, and the database it refused
    then copies back to SQLite (the refusal once left an empty cursor table behind, which the
    copy back took for a table the new file lacked)."""
    from conftest import PAGES

    source = tmp_path / "s.db"
    imported = runner.invoke(
        app, ["import", *map(str, sorted(PAGES.glob("*.txt"))), "--no-embed", "--db", str(source)]
    )
    assert imported.exit_code == 0, imported.output
    url = pg_server.fresh(migrated=False)
    _copy(source, url)
    again = runner.invoke(app, ["db", "copy", str(source), url])
    assert again.exit_code == 1 and "already holds data" in again.output
    with open_store(url) as store:
        assert "db_copy_state" not in store.tables()
    back = _copy(url, tmp_path / "back.db")
    assert back["same"]
    with open_store(source) as a, open_store(tmp_path / "back.db") as b:
        assert checksums(a) == checksums(b)
    pg_server.drop(url)


def test_doctor_reports_a_copy_that_stopped_half_way(pg_server, tmp_path, monkeypatch):
    """An interrupted `db copy` or `restore` leaves a partly filled store, which doctor
    called healthy ("ok store: integrity ok; 0 papers")."""
    from conftest import PAGES

    source = tmp_path / "s.db"
    pages = [str(p) for p in sorted(PAGES.glob("*.txt"))]
    assert runner.invoke(app, ["import", *pages, "--no-embed", "--db", str(source)]).exit_code == 0
    monkeypatch.setattr(copy_module, "BATCH", 10)

    def stop(table, done, total):
        if table == "paper_authors" and done >= 10:
            raise KeyboardInterrupt

    for target in (pg_server.fresh(migrated=False), str(tmp_path / "t.db")):
        with (
            open_store(source) as src,
            open_store(target) as dst,
            pytest.raises(KeyboardInterrupt),
        ):
            copy_store(src, dst, progress=stop)
        found = runner.invoke(app, ["doctor", "--quick", "--json", "--db", target])
        assert found.exit_code == 1
        store = json.loads(found.stdout)["checks"][0]
        assert store["name"] == "store" and store["status"] == "error"
        assert "was interrupted" in store["detail"] and "again" in store["fix"]
        assert _copy(source, target)["resumed"]  # as the fix says; then doctor is content
        assert runner.invoke(app, ["doctor", "--quick", "--db", target]).exit_code == 0
