"""The store on every backend (SQLite, PostgreSQL): merging rules, atomic batches, migrations."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import FORMATS
from paperscope.errors import NotFoundError, StoreError
from paperscope.ingest.pipeline import import_file
from paperscope.model import Author, Paper
from paperscope.store.backends import open_store
from paperscope.store.migrate import _migration_files, apply_pending, migration_names
from paperscope.store.sqlite import SQLiteStore


def paper(title: str, *authors: str, **fields) -> Paper:
    return Paper(title=title, authors=[Author(a) for a in authors], **fields)


@pytest.fixture
def store(db_target):
    with open_store(db_target) as s:
        yield s


def integrity_ok(store: SQLiteStore) -> None:
    if store.backend == "sqlite":
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # both: every paper's authors and aliases point at a paper
    orphans = store.conn.execute(
        "SELECT count(*) FROM paper_authors a WHERE NOT EXISTS "
        "(SELECT 1 FROM papers p WHERE p.rowid = a.paper_rowid)"
    ).fetchone()[0]
    assert orphans == 0


def test_wal_and_migrations_recorded(store):
    if store.backend == "sqlite":
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        order = "rowid"
    else:
        order = "name"  # one transaction each, in file-name order (store/migrate.py)
    names = [
        r[0] for r in store.conn.execute(f"SELECT name FROM schema_migrations ORDER BY {order}")
    ]
    shipped = [name for name, _ in _migration_files(store.backend)]
    # every shipped migration ran, once, in file-name order
    assert names == shipped == sorted(shipped)
    assert names[:3] == ["0001_papers", "0002_vectors", "0003_drop_fts5"]


def test_every_sqlite_migration_has_its_postgres_mirror():
    assert migration_names("postgres") == migration_names("sqlite")


def test_reopening_applies_nothing_again(tmp_path):
    SQLiteStore(tmp_path / "a.db").close()
    with SQLiteStore(tmp_path / "a.db") as s:
        ran = s.conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert ran == len(_migration_files("sqlite"))
        assert apply_pending(s.conn) == []


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the paper store"):
        SQLiteStore(bad)


def test_ids_arxiv_then_doi_then_title_hash(store):
    store.write_batch(
        [
            paper("One paper about graph neural nets", "A B", arxiv_id="2301.00001", doi="10.1/x"),
            paper("Another paper about transformers", "C D", doi="10.1/y"),
            paper("A third paper known by title only", "E F"),
        ],
        origin="t",
    )
    ids = [r[0] for r in store.conn.execute("SELECT id FROM papers ORDER BY rowid")]
    assert ids[:2] == ["2301.00001", "10.1/y"]
    assert ids[2].startswith("t") and len(ids[2]) == 17


def test_merge_on_arxiv_id_keeps_richest_fields(store):
    store.write_batch(
        [paper("Deep nets for things", "J. Hu", arxiv_id="2301.00001", abstract="short")],
        origin="a",
    )
    result = store.write_batch(
        [
            paper(
                "Deep nets for things",
                "Juhua Hu",
                "Qi Qian",
                arxiv_id="2301.00001",
                abstract="a much longer abstract",
                categories=["cs.LG"],
                upvotes=5,
                sources=["hf-papers"],
            )
        ],
        origin="b",
    )
    assert (result.added, result.merged) == (0, 1)
    got = store.get("2301.00001")
    assert [a.name for a in got.authors] == ["Juhua Hu", "Qi Qian"]
    assert got.abstract == "a much longer abstract"
    assert got.categories == ["cs.LG"] and got.upvotes == 5
    assert store.count() == 1
    integrity_ok(store)


def test_merge_on_doi_then_upgrades_id_to_arxiv(store):
    store.write_batch([paper("Graph things at scale", "Ann Lee", doi="10.5/abc")], origin="a")
    store.write_batch(
        [paper("Graph things at scale", "Ann Lee", doi="10.5/ABC", arxiv_id="2402.12345")],
        origin="b",
    )
    assert store.count() == 1
    assert store.get("10.5/abc").id == "2402.12345"
    assert store.get("https://arxiv.org/abs/2402.12345v3").id == "2402.12345"


def test_title_plus_first_author_merges_and_former_id_still_resolves(store):
    store.write_batch([paper("Robust Elastic Net Regression", "Weiyang Liu")], origin="a")
    old_id = store.conn.execute("SELECT id FROM papers").fetchone()[0]
    store.write_batch(
        [paper("Robust elastic net regression.", "W. Liu", arxiv_id="1511.04690")], origin="b"
    )
    assert store.count() == 1
    assert store.get(old_id).arxiv_id == "1511.04690"


def test_same_title_different_first_author_stays_two_papers(store):
    store.write_batch([paper("A survey of deep learning", "Ann Lee")], origin="a")
    store.write_batch([paper("A survey of deep learning", "Bob Stone")], origin="b")
    assert store.count() == 2


def test_same_title_different_arxiv_ids_stays_two_papers(store):
    store.write_batch(
        [paper("A survey of deep learning", "Ann Lee", arxiv_id="2301.1")], origin="a"
    )
    store.write_batch(
        [paper("A survey of deep learning", "Ann Lee", arxiv_id="2302.2")], origin="b"
    )
    assert store.count() == 2


def test_duplicates_inside_one_batch_merge(store):
    result = store.write_batch(
        [
            paper("Federated pruning of networks", "Rongmei Lin", abstract="x"),
            paper("Federated Pruning of Networks", "Rongmei Lin", abstract="longer text"),
        ],
        origin="a",
    )
    assert (result.added, store.count()) == (1, 1)
    integrity_ok(store)


def test_reimport_changes_nothing(store):
    batch = lambda: [  # noqa: E731
        paper("Paper number one for tests", "A B", arxiv_id="2301.00001", links={"abs": "u"}),
        paper("Paper number two for tests", "C D", doi="10.1/z", external_ids={"s2": "9"}),
    ]
    store.write_batch(batch(), origin="f")
    before = store.conn.execute("SELECT * FROM papers ORDER BY rowid").fetchall()
    result = store.write_batch(batch(), origin="f")
    assert (result.added, result.merged, result.unchanged) == (0, 0, 2)
    after = store.conn.execute("SELECT * FROM papers ORDER BY rowid").fetchall()
    assert [tuple(r) for r in before] == [tuple(r) for r in after]


def test_reimport_of_a_short_title_paper_adds_no_copy(store, tmp_path):
    """Three papers of the real S2 recommendations cassette have no DOI, no arXiv id and a
    title too short to merge on ("LEMLEM W", "Tbilisi 2022", "UvA-DARE ("); their S2 paperId
    finds them again. Every import of that file used to add them once more."""
    cassette = FORMATS / "semantic-scholar" / "cassette-recommendations-forpaper-100-2023-12.yaml"
    first = import_file(store, cassette)
    assert (first.added, first.merged_in_file) == (97, 3)
    again = import_file(store, cassette)
    assert (again.added, again.merged, again.unchanged, again.merged_in_file) == (0, 0, 97, 3)
    assert store.count() == 97
    titles = [r[0] for r in store.conn.execute("SELECT title FROM papers")]
    assert titles.count("Tbilisi 2022") == 1


def test_stores_written_before_id_aliases_get_them_by_migration(store):
    """A store written before S2/OpenAlex/DBLP ids were aliases: migration 0020 adds them, so
    the next import of the cassette adds no copy either."""
    cassette = FORMATS / "semantic-scholar" / "cassette-recommendations-forpaper-100-2023-12.yaml"
    assert import_file(store, cassette).added == 97
    conn = store.conn
    expected = sorted(tuple(r) for r in conn.execute("SELECT * FROM paper_aliases").fetchall())
    # as a store of the previous version holds it: no id aliases, migration 0020 not applied
    conn.execute("DELETE FROM paper_aliases WHERE alias LIKE 's2:%'")
    conn.execute("DELETE FROM schema_migrations WHERE name = '0020_id_aliases'")
    assert import_file(store, cassette).added == 3  # the bug: a copy of the three
    conn.execute("DELETE FROM papers WHERE rowid > (SELECT min(rowid) + 96 FROM papers)")
    conn.execute("DELETE FROM paper_aliases WHERE paper_rowid NOT IN (SELECT rowid FROM papers)")
    assert store.count() == 97
    backend = "sqlite" if isinstance(conn, sqlite3.Connection) else "postgres"
    assert apply_pending(conn, backend) == ["0020_id_aliases"]
    after = sorted(tuple(r) for r in conn.execute("SELECT * FROM paper_aliases").fetchall())
    assert after == expected
    again = import_file(store, cassette)
    assert (again.added, again.unchanged) == (0, 97) and store.count() == 97


def rows_id(store: SQLiteStore) -> int:
    return store.conn.execute("SELECT rowid FROM papers").fetchone()[0]


def test_merge_marks_paper_modified(store):
    store.write_batch([paper("Quantum widgets", "Ann Lee", arxiv_id="2301.1")], origin="a")
    store.write_batch(
        [paper("Quantum widgets", "Ann Lee", arxiv_id="2301.1", abstract="zebrafish")], origin="b"
    )
    rows = store.conn.execute("SELECT rowid FROM papers WHERE abstract = 'zebrafish'")
    assert len(rows.fetchall()) == 1
    assert store.rowids_modified_since("2000-01-01") == [rows_id(store)]
    integrity_ok(store)


def test_deletion_hides_paper(store):
    store.write_batch([paper("Quantum widgets", "Ann Lee", arxiv_id="2301.1")], origin="a")
    result = store.write_batch([], origin="oai", deletions=["2301.1"])
    assert result.deleted == 1 and store.count() == 0


def test_cursor_commits_with_batch_and_failed_batch_leaves_nothing(store):
    store.write_batch([paper("Quantum widgets", "Ann Lee")], origin="a", cursor=("k", "1"))
    assert store.get_cursor("k") == "1"
    broken = paper("Broken record here", "X Y")
    broken.authors = None  # type: ignore[assignment]  # fails while rows are built
    with pytest.raises(TypeError):
        store.write_batch(
            [paper("Fine record in batch", "Z Z"), broken], origin="b", cursor=("k", "2")
        )
    assert store.get_cursor("k") == "1" and store.count() == 1
    assert not store.conn.in_transaction


def test_unknown_id_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.get("9999.99999")


def test_sources_recorded_per_origin(store):
    store.write_batch(
        [paper("Quantum widgets", "A B", arxiv_id="2301.1", sources=["x"])], origin="f1"
    )
    store.write_batch(
        [paper("Quantum widgets", "A B", arxiv_id="2301.1", sources=["y"])], origin="f2"
    )
    assert [(s, o) for s, o, _ in store.paper_sources("2301.1")] == [("x", "f1"), ("y", "f2")]
    assert store.get("2301.1").sources == ["x", "y"]


def test_integrity_ok(store):
    store.write_batch([paper("Quantum widgets", "A B")], origin="a")
    integrity_ok(store)
    if store.backend == "sqlite":
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert isinstance(store.conn, sqlite3.Connection)


def test_generation_moves_on_change_only(store):
    g0 = store.generation()
    store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1")], origin="a")
    g1 = store.generation()
    store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1")], origin="a")
    assert g0 < g1 == store.generation()


def test_vectors_saved_and_dropped_when_text_changes(store):
    import numpy as np

    store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1")], origin="a")
    rowid = store.resolve("2301.1")
    assert store.rowids_without_vectors("m1") == [rowid]
    vec = np.ones(4, dtype=np.float32).tobytes()
    before = store.vectors_generation()
    store.save_vectors("m1", [(rowid, 0, vec), (rowid, 1, vec)])
    assert store.vectors_generation() > before
    assert store.rowids_without_vectors("m1") == [] and store.count_embedded("m1") == 1
    assert store.rowids_without_vectors("m2") == [rowid]  # another model: embed again
    assert [len(c) for c in store.iter_vectors("m1", batch=1)] == [1, 1]
    saved = store.vectors_generation()
    # a write that leaves the embedded text alone leaves the vectors generation alone
    store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1", upvotes=3)], origin="c")
    assert store.vectors_generation() == saved
    store.write_batch(
        [paper("Quantum widgets", "A B", arxiv_id="2301.1", abstract="new text")], origin="b"
    )
    assert store.rowids_without_vectors("m1") == [rowid]
    assert store.vectors_generation() > saved  # the re-worded paper's vectors went
