"""Vectors in pgvector on PostgreSQL (migration 0018, store/pgvector.py): the columns are
pgvector's `vector`, the store still takes and gives float32 little-endian bytes, bit for bit,
BYTEA rows written before the migration are converted exactly, and the in-database nearest
neighbour search agrees with an exact one."""

from __future__ import annotations

import numpy as np
import pytest

from paperscope.model import Author, Paper
from paperscope.store import topics
from paperscope.store.backends import open_store
from paperscope.store.migrate import _migration_files
from paperscope.store.pgvector import decode, decode_text, encode, has_index

pytestmark = pytest.mark.skipif(
    "postgres" not in __import__("backends").wanted(), reason="PAPERSCOPE_TEST_BACKENDS"
)


def paper(title: str, *authors: str, **fields) -> Paper:
    return Paper(title=title, authors=[Author(name=a) for a in authors], **fields)


def awkward(n: int, dim: int, seed: int) -> np.ndarray:
    """float32 rows with the values a decoder gets wrong: -0, subnormals, huge, tiny."""
    rng = np.random.default_rng(seed)
    scale = rng.choice(np.array([1e-3, 1.0, 1e-40, 1e30, 0.0]), size=(n, dim))
    rows = (rng.standard_normal((n, dim)) * scale).astype(np.float32)
    rows[0, :4] = [0.0, -0.0, 1e-45, -3.4e38]
    return rows


def test_wire_format_round_trips_bit_for_bit():
    rows = awkward(3, 384, 1)
    for row in rows:
        data = row.astype("<f4").tobytes()
        wire = encode(data)
        assert wire[:4] == b"\x01\x80\x00\x00"  # 384 big-endian, then the unused int16
        assert decode(wire) == data
        text = "[" + ",".join(repr(float(x)) for x in row) + "]"
        assert np.array_equal(np.frombuffer(decode_text(text.encode()), "<f4"), row)


def test_vector_columns_are_pgvector_and_read_back_as_the_bytes_written(pg_server):
    url = pg_server.fresh()
    try:
        with open_store(url) as store:
            kinds = dict(
                store.conn.execute(
                    "SELECT table_name, udt_name FROM information_schema.columns "
                    "WHERE column_name = 'vector' AND table_schema = current_schema()"
                ).fetchall()
            )
            assert kinds == {"paper_vectors": "vector", "aspect_vectors": "vector"}
            store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1")], origin="a")
            rowid = store.resolve("2301.1")
            rows = awkward(2, 384, 2)
            blobs = [r.tobytes() for r in rows]
            store.save_vectors("m", [(rowid, 0, blobs[0]), (rowid, 1, blobs[1])])
            assert store.passage_vectors("m", 1, [rowid]) == {rowid: blobs[1]}
            assert [r[2] for c in store.iter_vectors("m") for r in c] == blobs
            # the database itself sees the floats (not bytes): pgvector's own functions work
            dims, norm = store.conn.execute(
                "SELECT vector_dims(vector), vector_norm(vector)::float FROM paper_vectors "
                "WHERE passage = 0"
            ).fetchone()
            assert dims == 384
            assert norm == pytest.approx(float(np.linalg.norm(rows[0].astype(np.float64))))
            # aspect vectors (store/topics.py): written by an upsert, read back the same
            topics.save_aspect_vectors(store, "task", "m", [(rowid, blobs[0])])
            topics.save_aspect_vectors(store, "task", "m", [(rowid, blobs[1])])
            ids, matrix = topics.aspect_vectors(store, "task", "m")
            assert ids.tolist() == [rowid] and matrix.tobytes() == blobs[1]
    finally:
        pg_server.drop(url)


def test_bytea_vectors_from_before_the_migration_are_converted_exactly(pg_server):
    """A store migrated up to 0017 (vectors as BYTEA) opened by this version: 0018 turns the
    columns into pgvector's type and every float keeps its bits."""
    import psycopg

    url = pg_server.fresh(migrated=False)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, at TEXT)")
            for name, script in _migration_files("postgres"):
                if name >= "0018":
                    break
                conn.execute(script)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, 'then')", (name,))
            rows = awkward(3, 384, 3)
            for passage, row in enumerate(rows):
                conn.execute(
                    "INSERT INTO paper_vectors VALUES (1, %s, 'm', %s)",
                    (passage, row.astype("<f4").tobytes()),
                )
            conn.execute(
                "INSERT INTO aspect_vectors VALUES (1, 'task', 'm', %s)", (rows[2].tobytes(),)
            )
        with open_store(url) as store:
            got = [r[2] for c in store.iter_vectors("m") for r in c]
            assert [np.frombuffer(g, "<f4").view("<u4").tolist() for g in got] == [
                r.view("<u4").tolist() for r in rows
            ]
            aspect = store.conn.execute("SELECT vector FROM aspect_vectors").fetchone()[0]
            assert aspect == rows[2].tobytes()
    finally:
        pg_server.drop(url)


def test_nearest_vectors_in_the_database_rank_by_best_passage(pg_server):
    """The HNSW path (store/pgvector.py `nearest`): candidates by whole-text vector, scored by
    the best passage like the usearch path; zero passages and deleted papers left out."""
    rng = np.random.default_rng(5)
    dim, n = 16, 200
    url = pg_server.fresh()
    try:
        with open_store(url) as store:
            store.write_batch(
                [paper(f"Paper {i}", "A B", arxiv_id=f"2402.{i:05d}") for i in range(n)],
                origin="t",
            )
            rowids = [store.resolve(f"2402.{i:05d}") for i in range(n)]
            centres = rng.standard_normal((n, dim))
            groups = [
                c + 0.3 * rng.standard_normal((int(rng.integers(1, 4)), dim)) for c in centres
            ]
            groups = [(g / np.linalg.norm(g, axis=1, keepdims=True)).astype("<f4") for g in groups]
            rows = []
            for r, c, g in zip(rowids, centres, groups, strict=True):
                rows.append((r, -1, (c / np.linalg.norm(c)).astype("<f4").tobytes()))
                rows.extend((r, p, v.tobytes()) for p, v in enumerate(g))
                rows.append((r, len(g), np.zeros(dim, "<f4").tobytes()))  # nothing to embed
            store.save_vectors("m", rows)
            store.create_vector_index("m", dim)
            query = groups[7][0]
            found = store.nearest_vectors("m", query, 10, candidates=n)
            best = sorted(
                ((float((g @ query).max()), r) for r, g in zip(rowids, groups, strict=True))
            )[::-1]
            assert [r for r, _ in found] == [r for _, r in best[:10]]
            assert [s for _, s in found] == pytest.approx([s for s, _ in best[:10]], abs=1e-5)
            assert found[0][0] == rowids[7] and found[0][1] == pytest.approx(1.0, abs=1e-5)
            store.write_batch([], origin="t", deletions=["2402.00007"])
            assert rowids[7] not in {r for r, _ in store.nearest_vectors("m", query, 10)}
            assert has_index(store, "m")
            store.drop_vector_index("m")
            assert not has_index(store, "m")
    finally:
        pg_server.drop(url)


def test_topics_and_map_built_from_pgvector_match_sqlite(
    store_copy, pg_server, pristine_pg, tmp_path, monkeypatch
):
    """The derived data read from the vectors (topic hierarchy from whole-text and aspect
    vectors, the 2-D map) comes out the same from the PostgreSQL copy of the sample store as
    from the SQLite file: the vectors read back bit for bit."""
    import json
    import shutil

    from typer.testing import CliRunner

    from paperscope.serve.cli import app

    runner = CliRunner()
    name, index = pristine_pg
    url = pg_server.fresh(template=name)
    shutil.copytree(index, tmp_path / "index")
    try:
        outputs = []
        for target, index_env in ((str(store_copy), None), (url, str(tmp_path / "index"))):
            if index_env is None:
                monkeypatch.delenv("PAPERSCOPE_INDEX_DIR", raising=False)
            else:
                monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", index_env)
            built = runner.invoke(
                app, ["topics", "rebuild", "--seed", "3", "--db", target, "--json"]
            )
            assert built.exit_code == 0, built.output
            listed = runner.invoke(app, ["topics", "--db", target, "--json"])
            assert listed.exit_code == 0, listed.output
            status = runner.invoke(app, ["map", "status", "--db", target, "--json"])
            assert status.exit_code == 0, status.output
            laid = json.loads(status.stdout)
            outputs.append((json.loads(listed.stdout), laid["points"], laid["built"]["papers"]))
        assert outputs[0][0] and outputs[0][1] > 0 and outputs[0] == outputs[1]
    finally:
        pg_server.drop(url)


def test_the_vectors_generation_moves_once_per_writing_transaction(pg_server):
    url = pg_server.fresh()
    try:
        with open_store(url) as store:
            store.write_batch([paper("Quantum widgets", "A B", arxiv_id="2301.1")], origin="a")
            rowid = store.resolve("2301.1")
            blob = np.ones(8, "<f4").tobytes()
            before = store.vectors_generation()
            # one transaction: a delete and three inserts, one statement each
            store.save_vectors("m", [(rowid, p, blob) for p in range(3)])
            assert store.vectors_generation() == before + 1
            store.save_vectors("m", [(rowid, 0, blob)])
            assert store.vectors_generation() == before + 2
            # outside a transaction each statement is one
            store.conn.execute("DELETE FROM paper_vectors WHERE paper_rowid = ?", (rowid,))
            assert store.vectors_generation() == before + 3
    finally:
        pg_server.drop(url)
