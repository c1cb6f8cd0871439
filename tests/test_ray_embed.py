"""`embed --ray` on a local Ray instance and a real SQLite store of 100 abstracts from samples/:
the vectors equal plain `embed`'s, a killed actor's batches go to the other, and after the
only actor is killed the rerun embeds exactly the papers still missing."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray
from typer.testing import CliRunner

# after the tests folder: bench/ has modules named like tests/ ones (backends)
sys.path.append(str(Path(__file__).resolve().parent.parent / "bench"))

from paperscope.index.embedder import MiniLMEmbedder
from paperscope.index.embedding import embed_missing
from paperscope.index.ray_embed import RayEmbedRun, factory_for
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore
from synth import corpus_snapshot

PAPERS = 100

runner = CliRunner()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """100 real abstracts imported as a Kaggle arXiv snapshot, without vectors."""
    folder = tmp_path_factory.mktemp("ray-store")
    snapshot = folder / "snapshot.jsonl"
    corpus_snapshot(snapshot, PAPERS)
    db = folder / "papers.db"
    result = runner.invoke(app, ["import", str(snapshot), "--db", str(db), "--no-embed"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(pristine, tmp_path) -> Path:
    copy = tmp_path / "papers.db"
    shutil.copyfile(pristine, copy)
    return copy


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    """The bundled model at 128 tokens (the default is 256): half the work, and the actors
    must build the same embedder as the driver's, not the default one."""
    return MiniLMEmbedder(max_length=128)


@pytest.fixture(scope="module")
def plain_vectors(pristine, tmp_path_factory, embedder) -> dict[tuple[int, int], np.ndarray]:
    """Every (rowid, passage) vector plain `embed` writes for the store."""
    db = tmp_path_factory.mktemp("plain") / "papers.db"
    shutil.copyfile(pristine, db)
    with SQLiteStore(db) as store:
        assert len(embed_missing(store, embedder)) == PAPERS
        return vectors(store, embedder.version)


def vectors(store: SQLiteStore, version: str) -> dict[tuple[int, int], np.ndarray]:
    return {
        (rowid, passage): np.frombuffer(blob, dtype=np.float32)
        for chunk in store.iter_vectors(version)
        for rowid, passage, blob in chunk
    }


def vector_row_ids(db: Path) -> dict[tuple[int, int], int]:
    """The SQLite rowid of every stored vector: rewriting a vector gives it a new one."""
    with sqlite3.connect(db) as conn:
        return {
            (paper, passage): row
            for row, paper, passage in conn.execute(
                "SELECT rowid, paper_rowid, passage FROM paper_vectors"
            )
        }


def test_two_actors_write_plain_embeds_vectors_even_when_one_is_killed(
    local_ray, db, embedder, plain_vectors
):
    with SQLiteStore(db) as store:
        run = RayEmbedRun(store, embedder.version, factory_for(embedder), actors=2, batch=16)
        written = []

        def progress(n: int) -> None:
            if not written:
                ray.kill(run.actors[0])  # mid-run: its queued batches are lost with it
            written.append(n)

        result = run.run(progress=progress)
        assert result.actors_started == 2
        assert result.actors_lost == 1
        assert result.left == 0
        assert sorted(result.embedded) == sorted(set(result.embedded))
        assert len(result.embedded) == PAPERS == sum(written)
        assert store.rowids_without_vectors(embedder.version) == []
        got = vectors(store, embedder.version)
    assert got.keys() == plain_vectors.keys()
    assert len(got) > 3 * PAPERS  # passages and whole texts, not one vector a paper
    cosines = [float(got[k] @ plain_vectors[k]) for k in got]
    assert min(cosines) > 0.999


def test_rerun_after_the_only_actor_is_killed_embeds_only_the_missing_papers(local_ray, db):
    embedder = MiniLMEmbedder()  # the default model, which the CLI's rerun uses
    with SQLiteStore(db) as store:
        run = RayEmbedRun(store, embedder.version, factory_for(embedder), actors=1, batch=16)
        killed = []

        def progress(n: int) -> None:
            if not killed:
                ray.kill(run.actors[0])
                killed.append(n)

        result = run.run(progress=progress)
        first = result.embedded
        assert result.actors_lost == 1
        # the batch written before the kill, and one the actor may have finished meanwhile
        assert len(first) in (16, 32)
        assert result.left == PAPERS - len(first)
        missing = store.rowids_without_vectors(embedder.version)
        assert len(missing) == result.left
        assert store.count_embedded(embedder.version) == len(first)
    kept = vector_row_ids(db)

    # the CLI end to end, in a process of its own with its own local Ray instance
    rerun = subprocess.run(
        [sys.executable, "-m", "paperscope", "embed", "--db", str(db), "--ray", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["embedded_now"] == len(missing) == PAPERS - len(first)
    assert report["embedded"] == report["papers"] == PAPERS
    assert report["ray"]["actors"] == report["ray"]["actors_started"] >= 1  # a CPU each
    assert report["ray"]["left"] == report["ray"]["actors_lost"] == 0
    after = vector_row_ids(db)
    # the papers embedded before the kill kept their very rows; only the missing were written
    assert {k: v for k, v in after.items() if k[0] in first} == kept
    assert {paper for paper, _ in after.keys() - kept.keys()} == set(missing)


def test_a_run_with_nothing_missing_starts_no_actor(local_ray, db, embedder):
    with SQLiteStore(db) as store:
        store.save_vectors(
            embedder.version,
            [(r, -1, np.zeros(embedder.dim, np.float32).tobytes()) for r in store.rowids_newest()],
        )
        run = RayEmbedRun(store, embedder.version, factory_for(embedder))
        result = run.run()
    assert (result.embedded, result.actors_started, run.actors) == ([], 0, [])


def test_address_and_actors_need_ray(db):
    for args in (["auto"], ["--actors", "2"]):
        result = runner.invoke(app, ["embed", "--db", str(db), *args])
        assert result.exit_code == 2
        assert "go with --ray" in result.output


def test_without_the_ray_package_the_error_names_the_extra(db):
    # sys.modules[name] = None is how Python itself marks a module as not importable
    code = (
        "import sys; sys.modules['ray'] = None; "
        "from paperscope.serve.cli import main; "
        f"sys.argv = ['paperscope', 'embed', '--db', {str(db)!r}, '--ray']; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "error: embedding on Ray needs the 'ray' package" in proc.stderr
    assert "pip install -e '.[cluster]'" in proc.stderr
    with SQLiteStore(db) as store:
        assert store.count_embedded() == 0


def test_papers_embedded_on_ray_join_the_map_like_plain_embeds(local_ray, db, embedder):
    """The papers Ray actors embed are placed on a map built before them, as `embed_missing`
    places its own (both end in `finish_embedded`)."""
    from paperscope.index import layout
    from paperscope.store import map as store_map

    with SQLiteStore(db) as store:
        first = store.rowids_newest()[10:]
        assert len(embed_missing(store, embedder, limit=len(first))) == len(first)
        layout.rebuild_layout(store, method="pca", tile_points=16, model=embedder.version)
        assert store_map.count_points(store) == (len(first), 0)
        run = RayEmbedRun(store, embedder.version, factory_for(embedder), actors=1, batch=16)
        result = run.run()
        assert len(result.embedded) == PAPERS - len(first)
        assert store_map.unplaced(store, embedder.version, layout.DOC_PASSAGE) == []
        assert store_map.count_points(store) == (PAPERS, PAPERS - len(first))


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_where_nothing_listens_fails_at_once(db, scheme):
    # a port that was free a moment ago: Ray itself would retry for minutes, printing warnings
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"{scheme}127.0.0.1:{port}"
    proc = subprocess.run(
        [sys.executable, "-m", "paperscope", "embed", "--db", str(db), "--ray", address],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"error: cannot reach the Ray cluster at {address}" in proc.stderr
    assert "ray start --head" in proc.stderr
    with SQLiteStore(db) as store:
        assert store.count_embedded() == 0
