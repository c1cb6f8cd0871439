"""The map of the field: layout, tiles, incremental placement, the /api/v1/map routes and
`paperscope map`, on real SQLite stores (docs/map.md)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from paperscope.index import layout
from paperscope.serve.cli import app
from paperscope.store import map as store_map
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for, copy_store


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit vectors around 6 centres, and each one's centre."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, 64))
    label = rng.integers(0, 6, n)
    x = centres[label] + 0.25 * rng.standard_normal((n, 64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), label


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_layout_keeps_clusters_apart(method):
    x, label = clustered(300)
    xy, chosen = layout.layout_vectors(x, method=method, sample=200, seed=0)
    assert len(chosen) == 200 and xy.shape == (300, 2)
    assert xy.min() >= 0 and xy.max() <= 1
    # a point's nearest point on the map is mostly of its own cluster, sampled or placed
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    same = (label[d.argmin(axis=1)] == label).mean()
    assert same > 0.9, same


def test_tiles_hold_at_most_tile_points_at_every_zoom():
    rng = np.random.default_rng(1)
    # a dense blob and a sparse background, so tiles fill at different zooms
    xy = np.vstack([0.3 + 0.01 * rng.random((3000, 2)), rng.random((1000, 2))])
    rowids = np.arange(len(xy)) * 7 + 3
    levels, cells, deepest = layout.assign_tiles(xy, rowids, tile_points=16)
    assert (levels >= 0).all() and deepest == levels.max() and deepest > 3
    for zoom in range(deepest + 1):
        tx, ty = layout.tile_of(xy, zoom)
        shown = levels <= zoom
        _, counts = np.unique((ty * (1 << zoom) + tx)[shown], return_counts=True)
        assert counts.max() <= 16, zoom
    tx, ty = layout.tile_of(xy, levels)
    expected = [
        store_map.cell_key(int(lv), int(a), int(b)) for lv, a, b in zip(levels, tx, ty, strict=True)
    ]
    assert cells.tolist() == expected
    # the sample is fixed by the rowids: the same on another run
    again, _, _ = layout.assign_tiles(xy, rowids, tile_points=16)
    assert (again == levels).all()


@pytest.fixture(scope="module")
def map_db(pristine_store, tmp_path_factory):
    db = copy_store(pristine_store, tmp_path_factory.mktemp("map") / "papers.db")
    with SQLiteStore(db) as store:
        layout.rebuild_layout(store, method="pca", tile_points=16)
    return db


def test_rebuild_places_every_embedded_paper(map_db):
    with SQLiteStore(map_db) as store:
        built = store_map.state(store)
        points, placed = store_map.count_points(store)
        embedded = store.conn.execute(
            "SELECT count(*) FROM paper_vectors WHERE passage = -1"
        ).fetchone()[0]
    assert built is not None and built.method == "pca" and built.tile_points == 16
    assert points == built.papers == embedded > 100 and placed == 0
    assert built.deepest >= 2


@pytest.mark.parametrize("graph", [False, True], ids=["landmarks", "vector-index"])
def test_new_papers_are_placed_beside_their_neighbours(map_db, tmp_path, graph):
    from paperscope.rank.search import SearchEngine

    db = copy_store(map_db, tmp_path / "papers.db")
    with SQLiteStore(db) as store, SearchEngine(store) as engine:
        index = engine.vectors if graph else None
        built = store_map.state(store)
        rowids = [r[0] for r in store.conn.execute("SELECT paper_rowid FROM map_points LIMIT 8")]
        before = store_map.positions(store, rowids)
        marks = ",".join("?" * len(rowids))
        store.conn.execute(f"DELETE FROM map_points WHERE paper_rowid IN ({marks})", rowids)
        assert store_map.unplaced(store, built.model, layout.DOC_PASSAGE) == rowids
        assert layout.place_papers(store, rowids, built.model, index) == len(rowids)
        after = store_map.positions(store, rowids)
        points, placed = store_map.count_points(store)
        levels = {
            r[0]
            for r in store.conn.execute(
                f"SELECT level FROM map_points WHERE paper_rowid IN ({marks})", rowids
            )
        }
    assert placed == len(rowids) and points == built.papers
    assert levels == {built.deepest}
    # PCA's first two axes are a coarse map: a placed paper lands near where the build put it
    spread = np.mean([np.hypot(after[r][0] - before[r][0], after[r][1] - before[r][1])
                      for r in rowids])  # fmt: skip
    assert spread < 0.25, spread


def test_embedding_places_new_papers_on_the_map(map_db, tmp_path):
    from paperscope.index.embedder import default_embedder
    from paperscope.index.embedding import embed_missing

    db = copy_store(map_db, tmp_path / "papers.db")
    with SQLiteStore(db) as store:
        rowids = [r[0] for r in store.conn.execute("SELECT paper_rowid FROM map_points LIMIT 3")]
        marks = ",".join("?" * len(rowids))
        store.conn.execute(f"DELETE FROM paper_vectors WHERE paper_rowid IN ({marks})", rowids)
        store.conn.execute(f"DELETE FROM map_points WHERE paper_rowid IN ({marks})", rowids)
        done = embed_missing(store, default_embedder())
        assert sorted(done) == sorted(rowids)
        assert set(store_map.positions(store, rowids)) == set(rowids)


@pytest.fixture(scope="module")
def client(map_db):
    with client_for(map_db) as client:
        yield client


def test_api_tiles_are_bounded_and_complete_at_the_deepest_zoom(client, map_db):
    with SQLiteStore(map_db) as store:
        built = store_map.state(store)
    top = client.get("/api/v1/map", params={"bbox": "0,0,1,1", "zoom": 0}).json()
    assert top["built"] and not top["complete"] and top["tile_points"] == 16
    assert 0 < len(top["ids"]) <= 16
    assert len(top["ids"]) == len(top["x"]) == len(top["y"]) == len(top["topic"])
    assert top["topic"] == [None] * len(top["ids"])
    full = client.get("/api/v1/map", params={"bbox": "0,0,1,1", "zoom": built.deepest}).json()
    assert full["complete"] and len(full["ids"]) == built.papers
    assert set(top["ids"]) <= set(full["ids"])
    # a quarter of the map at zoom 1: at most 16 points, all inside it
    quarter = client.get("/api/v1/map", params={"bbox": "0,0,0.5,0.5", "zoom": 1}).json()
    assert len(quarter["ids"]) <= 16
    assert all(x <= 0.5 and y <= 0.5 for x, y in zip(quarter["x"], quarter["y"], strict=True))
    inside = [
        i
        for i, x, y in zip(full["ids"], full["x"], full["y"], strict=True)
        if x <= 0.5 and y <= 0.5
    ]
    assert set(quarter["ids"]) <= set(inside)
    # the same request, the same sample
    again = client.get("/api/v1/map", params={"bbox": "0,0,0.5,0.5", "zoom": 1}).json()
    assert again == quarter
    # a paper id opens the paper page
    assert client.get(f"/paper/{full['ids'][0]}").status_code == 200


@pytest.mark.parametrize(
    "bbox", ["", "1,2,3", "0,0,1,x", "0.5,0,0.1,1", "0,0,nan,1", "0,0,1,inf", "-5,0,1,1"]
)
def test_api_refuses_a_bad_bbox(client, bbox):
    response = client.get("/api/v1/map", params={"bbox": bbox, "zoom": 0})
    assert response.status_code == 400, response.text
    assert "bbox" in response.json()["error"]["message"]


def test_api_refuses_too_many_tiles_and_a_bad_zoom(client, tmp_path):
    # a store whose map goes deep: 3,000 points, one per tile
    db = tmp_path / "deep.db"
    with SQLiteStore(db) as store:
        rng = np.random.default_rng(2)
        xy = rng.random((3000, 2))
        rowids = np.arange(1, 3001)
        levels, cells, deepest = layout.assign_tiles(xy, rowids, tile_points=1)
        built = store_map.MapState("m", "pca", 3000, 3000, deepest, 1, 0.0, "2026-01-01T00:00:00Z")
        store_map.replace_points(store, rowids, xy, levels, cells, built)
    assert deepest > 6
    with client_for(db) as deep:
        response = deep.get("/api/v1/map", params={"bbox": "0,0,1,1", "zoom": 6})
        assert response.status_code == 400
        assert "tiles" in response.json()["error"]["message"]
        # the same zoom over a small box is fine
        small = deep.get("/api/v1/map", params={"bbox": "0,0,0.1,0.1", "zoom": 6})
        assert small.status_code == 200
    assert client.get("/api/v1/map", params={"zoom": -1}).status_code in (400, 422)
    assert client.get("/api/v1/map", params={"zoom": 99}).status_code in (400, 422)


def test_api_points_of_ids_and_of_todays_feed(client):
    full = client.get("/api/v1/map", params={"bbox": "0,0,1,1", "zoom": 24}).json()
    ids = full["ids"][:3]
    got = client.get("/api/v1/map/points", params={"ids": ",".join([*ids, "nope"])}).json()
    assert got["ids"] == ids
    at = {i: (x, y) for i, x, y in zip(full["ids"], full["x"], full["y"], strict=True)}
    assert [(x, y) for x, y in zip(got["x"], got["y"], strict=True)] == [at[i] for i in ids]
    today = client.get("/api/v1/map/points", params={"set": "today"}).json()
    assert today["ids"] and set(today["ids"]) <= set(full["ids"])
    library = client.get("/api/v1/map/points", params={"set": "library"})
    assert library.status_code == 200 and library.json()["ids"] == []
    assert client.get("/api/v1/map/points").status_code == 400
    assert client.get("/api/v1/map/points", params={"set": "all"}).status_code in (400, 422)


def test_map_page_has_the_canvas_the_scripts_and_a_fallback(client):
    html = client.get("/map").text
    assert 'id="map"' in html and "/static/map.js" in html
    assert "/static/vendor/deckgl/deck.min.js" in html
    assert "<noscript>" in html and 'href="/topics"' in html
    assert "<script>" not in html  # no inline script (CSP)
    assert client.get("/static/vendor/deckgl/deck.min.js").status_code == 200


def test_labels_sit_at_their_topics_points(map_db, tmp_path):
    db = copy_store(map_db, tmp_path / "papers.db")
    with SQLiteStore(db) as store:
        # topics of our own making (migration 0015's tables), so the labels' places are known
        store.conn.execute("DELETE FROM paper_topics")
        store.conn.execute("DELETE FROM topics")
        rows = store.conn.execute("SELECT paper_rowid, x, y FROM map_points ORDER BY x").fetchall()
        half = len(rows) // 2
        store.conn.executemany(
            "INSERT INTO topics (id, parent, level, label, size, aspect) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (1, None, 0, "left things", half, "topic"),
                (2, None, 0, "right things", len(rows) - half, "topic"),
                (3, 1, 1, "far left", 10, "topic"),
                (9, None, 0, "a method aspect", 5, "method"),
            ],
        )
        store.conn.executemany(
            "INSERT INTO paper_topics (paper_rowid, aspect, topic) VALUES (?, 'topic', ?)",
            [(r[0], 3 if i < 10 else (1 if i < half else 2)) for i, r in enumerate(rows)],
        )
    with client_for(db) as local:
        answer = local.get("/api/v1/map/labels").json()
        labels = answer["topics"]
        full = local.get("/api/v1/map", params={"bbox": "0,0,1,1", "zoom": 24}).json()
    # the labels name the builds they are of, as the points do: a page compares the two
    assert answer["built_at"] == full["built_at"] and answer["built_at"]
    assert answer["topics_built_at"] == full["topics_built_at"]
    # top-level topics of the `topic` aspect only, largest first
    assert [t["id"] for t in labels] == sorted(
        [1, 2], key=lambda t: -[half, len(rows) - half][t - 1]
    )
    assert {t["label"] for t in labels} == {"left things", "right things"}
    left = next(t for t in labels if t["id"] == 1)
    assert left["x"] == pytest.approx(np.mean([r[1] for r in rows[:half]]), abs=1e-4)
    assert left["y"] == pytest.approx(np.mean([r[2] for r in rows[:half]]), abs=1e-4)
    # each point carries its top-level topic (a sub-topic's paper: its parent's)
    assert set(full["topic"]) == {1, 2}


def test_two_builds_in_one_second_have_two_names(map_db, tmp_path):
    """`built_at` names a build, and an open /map page compares it to tell a rebuild: to the
    second, two quick builds had one name and the page kept the old layout's labels (a
    browser test failed so when the machine was fast)."""
    db = copy_store(map_db, tmp_path / "papers.db")
    names = []
    with SQLiteStore(db) as store:
        for _ in range(3):
            layout.rebuild_layout(store, method="pca", tile_points=16)
            names.append(store_map.state(store).built_at)
    assert len(set(names)) == 3, names
    with client_for(db) as local:
        assert local.get("/api/v1/map").json()["built_at"] == names[-1]


def test_cli_map_rebuild_status_and_place(map_db, tmp_path):
    db = copy_store(map_db, tmp_path / "papers.db")
    runner = CliRunner()
    result = runner.invoke(app, ["map", "rebuild", "--db", str(db), "--method", "pca", "--json"])
    assert result.exit_code == 0, result.output
    built = orjson.loads(result.stdout)
    assert built["method"] == "pca" and built["papers"] > 100
    result = runner.invoke(app, ["map", "status", "--db", str(db), "--json"])
    status = orjson.loads(result.stdout)
    assert status["points"] == built["papers"] and status["unplaced"] == 0
    result = runner.invoke(app, ["map", "place", "--db", str(db), "--json"])
    assert orjson.loads(result.stdout) == {"unplaced": 0, "placed": 0}
    result = runner.invoke(app, ["map", "rebuild", "--db", str(db), "--method", "nope"])
    assert result.exit_code != 0


def test_a_umap_layout_prints_no_warning():
    """`map rebuild --method umap` printed UMAP's UserWarning about n_jobs on stderr."""
    pytest.importorskip("umap")
    import warnings

    from paperscope.index.layout import embed_2d

    points = np.random.default_rng(0).normal(size=(60, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        xy = embed_2d(points, "umap", seed=3)
    assert xy.shape == (60, 2)


def test_map_rebuild_with_umap_not_installed_is_an_error_line(map_db, tmp_path):
    """`--method umap` without umap-learn read every vector, then died in `import umap` with
    a traceback."""
    import importlib.util

    from test_cli import run_cli

    if importlib.util.find_spec("umap") is not None:
        pytest.skip("umap-learn is installed here")
    db = copy_store(map_db, tmp_path / "papers.db")
    done = run_cli("map", "rebuild", "--db", str(db), "--method", "umap", "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: --method umap needs the umap-learn package, which is not installed",
        "hint: pip install umap-learn (or paperscope's bench extra), or --method tsne",
    ]


def test_map_rebuild_before_any_paper_is_embedded_says_to_embed(tmp_path):
    """`map rebuild` on a store without vectors saved an empty map of no model, which the
    papers embedded later never joined (placement goes by the map's model): `map status`
    then said "0 embedded papers without a point" and /map showed 0 papers."""
    from conftest import PAGES
    from paperscope.ingest.pipeline import import_file
    from test_cli import run_cli

    db = tmp_path / "papers.db"
    with SQLiteStore(db) as store:
        import_file(store, PAGES / "author-profile-lin.txt")
    done = run_cli("map", "rebuild", "--db", str(db), "--method", "pca")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no paper has a vector yet" in done.stderr
    assert f"paperscope embed --db {db}" in done.stderr
    status = run_cli("map", "status", "--db", str(db), "--json")
    assert orjson.loads(status.stdout)["built"] is None


def test_a_bad_bbox_hint_gives_the_range_the_api_takes(map_db):
    """The 400's hint said "within 0-1" while boxes from -1 to 2 are taken (and clipped):
    `-0.5,0,1,1` answered 200, `-1.5,0,1,1` was told to stay within 0-1."""
    import json
    from urllib.error import HTTPError
    from urllib.request import urlopen

    from webtools import live_server

    with live_server(map_db) as url:
        past_the_edge = json.loads(urlopen(f"{url}/api/v1/map?bbox=-0.5,-1,2,1.5&zoom=0").read())
        assert past_the_edge["built"] is True and past_the_edge["ids"]
        for bad in ("-1.5,0,1,1", "0,0,1"):
            with pytest.raises(HTTPError) as refused:
                urlopen(f"{url}/api/v1/map?bbox={bad}&zoom=0")
            assert refused.value.code == 400
            hint = json.loads(refused.value.read())["error"]["hint"]
            assert "-1 to 2" in hint and "0-1" not in hint.replace("(the map is 0-1)", "")


def test_a_store_of_three_papers_says_its_map_was_laid_out_by_pca(tmp_path):
    """Below 5 papers t-SNE and UMAP are not run (PCA places the points), yet `map rebuild`
    said "3 by tsne" and `map status` "laid out by tsne"."""
    from conftest import FORMATS
    from test_cli import run_cli

    db = str(tmp_path / "papers.db")
    three = FORMATS / "semantic-scholar" / "cassette-paper-batch-3-full-fields-2023-12.yaml"
    assert run_cli("import", str(three), "--db", db).returncode == 0
    done = run_cli("map", "rebuild", "--db", db, "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("laid out 3 papers (3 by pca,"), done.stdout
    status = orjson.loads(run_cli("map", "status", "--db", db, "--json").stdout)
    assert (status["built"]["method"], status["points"]) == ("pca", 3)


def test_a_batch_of_a_new_field_is_placed_at_import(map_db, tmp_path):
    """Placement through the vector index takes each new paper's 22 nearest papers and keeps
    those already on the map: a batch about a field the map did not hold has only its own,
    still unplaced, papers there, so `import` left most of it off the map (`map status`:
    "N embedded papers without a point"), though docs/map.md says new papers join it."""
    from conftest import FORMATS
    from test_cli import run_cli

    db = copy_store(map_db, tmp_path / "papers.db")
    turing = (
        FORMATS / "semantic-scholar" / "cassette-paper-search-turing-100-full-fields-2023-12.yaml"
    )
    done = run_cli("import", str(turing), "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    status = orjson.loads(run_cli("map", "status", "--db", str(db), "--json").stdout)
    assert status["placed_since"] >= 90
    assert status["unplaced"] == 0
