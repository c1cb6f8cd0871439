"""The 2-D map of the field: every paper's whole-text vector laid out in the unit square.

    state = rebuild_layout(store)                    # `paperscope map rebuild`
    place_papers(store, new_rowids, model, index)    # at import, from the nearest neighbours

A build projects the whole-text vectors to `PCA_DIMS` with PCA, lays out a sample of up to
`SAMPLE` papers with openTSNE (chosen over UMAP by bench/map_layout.py, docs/map.md), and
places every other paper at the weighted mean of its `K` nearest sampled papers' positions.
New papers are placed the same way later, among all the placed papers (the vector index's
graph finds their neighbours), so the map stays put until the next full rebuild.

Each point also gets the coarsest zoom level at which it is drawn (`assign_tiles`): a tile of
zoom z shows at most `TILE_POINTS` points of level <= z, a deterministic sample (by a hash of
the rowid) where the map is dense, so a viewport never asks for a million points.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from paperscope.store import map as store_map
from paperscope.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from paperscope.index.vectors import VectorIndex

#: The whole-text vector's passage number (index/embedding.py DOC_PASSAGE; not imported to
#: keep this module free of the embedder).
DOC_PASSAGE = -1
PCA_DIMS = 50
#: Papers laid out by the method itself; the rest are placed by their neighbours among them.
SAMPLE = 50_000
#: Neighbours whose positions place a paper.
K = 10
#: Most points a tile shows at its own zoom: a whole-map view at zoom 4 is <= 256 x 256.
TILE_POINTS = 256
#: The finest zoom level a point can be given.
MAX_LEVEL = 24
METHODS = ("tsne", "umap", "pca")
DEFAULT_METHOD = "tsne"
#: Fewer papers than this are laid out by PCA whatever the method (t-SNE and UMAP need
#: neighbours to work with).
MIN_NEIGHBOUR_LAYOUT = 5

#: progress(stage, done, total): stages "vectors", "layout", "placing", "saving".
LayoutProgress = Callable[[str, int, int], None]


# ------------------------------------------------------------------------------ the layout


def project(vectors: np.ndarray, dims: int = PCA_DIMS, seed: int = 0) -> np.ndarray:
    """PCA to `dims` components, fitted on up to 20,000 rows and applied in chunks (float32)."""
    from sklearn.decomposition import PCA

    n, d = vectors.shape
    dims = min(dims, d, max(n - 1, 1))
    if n <= 2:
        return np.zeros((n, 2), dtype=np.float32)
    rng = np.random.default_rng(seed)
    fit_rows = vectors if n <= 20_000 else vectors[np.sort(rng.choice(n, 20_000, replace=False))]
    pca = PCA(n_components=dims, svd_solver="randomized", random_state=seed).fit(fit_rows)
    out = np.empty((n, dims), dtype=np.float32)
    for s in range(0, n, 65_536):
        out[s : s + 65_536] = pca.transform(vectors[s : s + 65_536])
    return out


def embed_2d(points: np.ndarray, method: str = DEFAULT_METHOD, seed: int = 0) -> np.ndarray:
    """A 2-D layout of `points` (rows of the PCA space) by `method`."""
    n = len(points)
    if method not in METHODS:
        raise ValueError(f"unknown layout method {method!r}; one of {', '.join(METHODS)}")
    if n < MIN_NEIGHBOUR_LAYOUT or method == "pca":
        xy = np.zeros((n, 2), dtype=np.float64)
        xy[:, : min(2, points.shape[1])] = points[:, :2]
        return xy
    if method == "tsne":
        from openTSNE import TSNE

        perplexity = float(min(30, max(2, (n - 1) // 3)))
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity,
            initialization="pca",
            # exact neighbours are cheap below a few thousand points; Annoy past that
            neighbors="exact" if n < 2_000 else "annoy",
            negative_gradient_method="bh" if n < 10_000 else "fft",
            n_jobs=2,
            random_state=seed,
            verbose=False,
        )
        return np.asarray(tsne.fit(points.astype(np.float64)), dtype=np.float64)
    import umap

    model = umap.UMAP(
        n_components=2,
        n_neighbors=min(15, n - 1),
        min_dist=0.1,
        random_state=seed,
        n_jobs=1,  # what a seed implies anyway; left at -1, UMAP warns on stderr that it is
        init="spectral" if n > 50 else "random",
    )
    return np.asarray(model.fit_transform(points), dtype=np.float64)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)


def neighbour_positions(
    base: np.ndarray, base_xy: np.ndarray, queries: np.ndarray, k: int = K
) -> np.ndarray:
    """Positions for `queries`: the similarity-weighted mean of the positions of their `k`
    most cosine-similar rows of `base` (a usearch graph past 20,000 rows, exact below)."""
    k = min(k, len(base))
    if not len(queries):
        return np.zeros((0, 2))
    if len(base) <= 20_000:
        # 2,048 queries at a time: a whole batch against the base would be queries x base
        # floats (8 GB for 100k x 20k)
        unit_base = _unit(base).T
        idx = np.empty((len(queries), k), dtype=np.int64)
        sims = np.empty((len(queries), k))
        for s in range(0, len(queries), 2048):
            part = _unit(queries[s : s + 2048]) @ unit_base
            top = np.argpartition(-part, k - 1, axis=1)[:, :k]
            idx[s : s + 2048] = top
            sims[s : s + 2048] = np.take_along_axis(part, top, axis=1)
    else:
        from usearch.index import Index

        graph = Index(ndim=base.shape[1], metric="cos", dtype="f32", connectivity=16)
        graph.add(np.arange(len(base)), np.ascontiguousarray(base, dtype=np.float32), threads=2)
        found = graph.search(np.ascontiguousarray(queries, dtype=np.float32), k, threads=2)
        idx = found.keys.astype(np.int64)
        sims = 1.0 - found.distances.astype(np.float64)
        missing = idx >= len(base)  # fewer than k found: weight zero
        idx[missing] = 0
        sims[missing] = -np.inf
    return weighted_mean(base_xy[idx], sims)


def weighted_mean(xy: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Mean of `xy` (queries x k x 2) weighted by a softmax of the similarities: the nearest
    count most, and a paper between two clusters lands between them."""
    sims = np.asarray(sims, dtype=np.float64)
    weights = np.exp((sims - sims.max(axis=1, keepdims=True)) / 0.05)
    weights[~np.isfinite(weights)] = 0
    total = weights.sum(axis=1, keepdims=True)
    total[total == 0] = 1
    return (xy * weights[:, :, None]).sum(axis=1) / total


def normalise(xy: np.ndarray, margin: float = 0.02) -> np.ndarray:
    """Scale into the unit square (one scale for both axes, centred), `margin` each side."""
    if not len(xy):
        return xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float((high - low).max()) or 1.0
    scale = (1 - 2 * margin) / span
    centre = (low + high) / 2
    return np.clip((xy - centre) * scale + 0.5, 0.0, 1.0)


def priority(rowids: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random order of papers (a hash of the rowid): which ones a crowded tile
    shows is the same on every build and every request."""
    with np.errstate(over="ignore"):
        return (rowids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)


def tile_of(xy: np.ndarray, level: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    side = np.left_shift(np.int64(1), np.asarray(level, dtype=np.int64))
    tx = np.minimum((xy[:, 0] * side).astype(np.int64), side - 1)
    ty = np.minimum((xy[:, 1] * side).astype(np.int64), side - 1)
    return tx, ty


def cells_of(xy: np.ndarray, levels: np.ndarray) -> np.ndarray:
    tx, ty = tile_of(xy, levels)
    levels = levels.astype(np.int64)
    return ((np.int64(4) ** levels - 1) // 3) + ty * (np.int64(1) << levels) + tx


def assign_tiles(
    xy: np.ndarray, rowids: np.ndarray, tile_points: int = TILE_POINTS
) -> tuple[np.ndarray, np.ndarray, int]:
    """(level, cell) of each point and the deepest level used: at each zoom z, every tile
    holds at most `tile_points` points of level <= z, filled in `priority` order."""
    n = len(xy)
    levels = np.full(n, -1, dtype=np.int64)
    prio = priority(rowids)
    for level in range(MAX_LEVEL + 1):
        open_ = levels < 0
        if not open_.any():
            break
        if level == MAX_LEVEL:
            levels[open_] = level
            break
        tx, ty = tile_of(xy, level)
        tiles = ty * (np.int64(1) << level) + tx
        taken, counts = np.unique(tiles[~open_], return_counts=True)
        idx = np.flatnonzero(open_)
        idx = idx[np.lexsort((prio[idx], tiles[idx]))]
        t = tiles[idx]
        starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        rank = np.arange(len(t)) - np.repeat(starts, np.diff(np.r_[starts, len(t)]))
        used = np.zeros(len(t), dtype=np.int64)
        if len(taken):
            at = np.clip(np.searchsorted(taken, t), 0, len(taken) - 1)
            used = np.where(taken[at] == t, counts[at], 0)
        levels[idx[rank < tile_points - used]] = level
    deepest = int(levels.max()) if n else 0
    return levels, cells_of(xy, levels), deepest


def _read_vectors(
    store: SQLiteStore, model: str, progress: LayoutProgress | None
) -> tuple[np.ndarray, np.ndarray]:
    total = store.count_embedded(model)
    ids: list[np.ndarray] = []
    parts: list[np.ndarray] = []
    done = 0
    for rowids, blobs in store_map.iter_doc_vectors(store, model, DOC_PASSAGE):
        width = len(blobs[0]) if blobs else 0
        keep = [i for i, b in enumerate(blobs) if len(b) == width and width]
        matrix = np.frombuffer(b"".join(blobs[i] for i in keep), dtype=np.float32)
        matrix = matrix.reshape(len(keep), -1)
        alive = np.any(matrix, axis=1)  # a paper without text has a zero vector: no place
        ids.append(rowids[keep][alive])
        parts.append(matrix[alive])
        done += len(rowids)
        if progress is not None:
            progress("vectors", done, total)
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(ids), np.concatenate(parts)


def layout_vectors(
    vectors: np.ndarray,
    *,
    method: str = DEFAULT_METHOD,
    sample: int = SAMPLE,
    seed: int = 0,
    progress: LayoutProgress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the unit square for `vectors` and the indices of the sampled rows."""
    n = len(vectors)
    reduced = project(vectors, seed=seed)
    rng = np.random.default_rng(seed)
    chosen = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    if progress is not None:
        progress("layout", 0, len(chosen))
    xy = np.zeros((n, 2), dtype=np.float64)
    xy[chosen] = embed_2d(reduced[chosen], method, seed)
    if progress is not None:
        progress("layout", len(chosen), len(chosen))
    if len(chosen) < n:
        rest = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
        step = 100_000
        for s in range(0, len(rest), step):
            part = rest[s : s + step]
            xy[part] = neighbour_positions(reduced[chosen], xy[chosen], reduced[part])
            if progress is not None:
                progress("placing", min(s + step, len(rest)), len(rest))
    return normalise(xy), chosen


def rebuild_layout(
    store: SQLiteStore,
    model: str | None = None,
    *,
    method: str = DEFAULT_METHOD,
    sample: int = SAMPLE,
    seed: int = 0,
    tile_points: int = TILE_POINTS,
    progress: LayoutProgress | None = None,
) -> store_map.MapState:
    """Lay out every paper with a whole-text vector of `model` (default: the model most
    papers are embedded with) and replace the map with it."""
    started = time.perf_counter()
    model = model or main_model(store)
    if model is None:
        rowids, xy = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
        sampled = 0
    else:
        rowids, vectors = _read_vectors(store, model, progress)
        if len(rowids):
            xy, chosen = layout_vectors(
                vectors, method=method, sample=sample, seed=seed, progress=progress
            )
            sampled = len(chosen)
        else:
            xy, sampled = np.zeros((0, 2)), 0
        del vectors
    levels, cells, deepest = assign_tiles(xy, rowids, tile_points)
    built = store_map.MapState(
        model=model or "",
        method=method if sampled >= MIN_NEIGHBOUR_LAYOUT else "pca",
        papers=len(rowids),
        sample=sampled,
        deepest=deepest,
        tile_points=tile_points,
        seconds=round(time.perf_counter() - started, 3),
        # to the microsecond: it names the build, and an open /map page compares it to tell a
        # rebuild (two builds in one second had one name, and the page kept the old layout)
        built_at=datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
    )
    if progress is not None:
        progress("saving", 0, len(rowids))
    store_map.replace_points(store, rowids, xy, levels, cells, built)
    if progress is not None:
        progress("saving", len(rowids), len(rowids))
    return built


def main_model(store: SQLiteStore) -> str | None:
    """The model most papers' whole-text vectors are of (None: no paper has one)."""
    row = store.conn.execute(
        "SELECT model, count(*) AS n FROM paper_vectors WHERE passage = ? GROUP BY model "
        "ORDER BY n DESC, model LIMIT 1",
        (DOC_PASSAGE,),
    ).fetchone()
    return None if row is None else row[0]


# ------------------------------------------------------------------- incremental placement


def place_papers(
    store: SQLiteStore,
    rowids: Sequence[int],
    model: str,
    index: VectorIndex | None = None,
    *,
    k: int = K,
) -> int:
    """Give the papers among `rowids` that have a whole-text vector a position from their
    `k` nearest placed papers; returns how many were placed. Nothing happens before a map was
    built (`rebuild_layout`) or for another model's map.

    With `index` (a VectorIndex of `model`), neighbours come from its graph over every paper;
    without, from an exact search over the map's coarsest points (a deterministic sample of
    up to ~TILE_POINTS x 4^3 papers spread over the whole map).
    """
    built = store_map.state(store)
    if built is None or built.model != model or not rowids:
        return 0
    found = store.passage_vectors(model, DOC_PASSAGE, list(rowids))
    ids = [r for r in rowids if r in found]
    if not ids:
        return 0
    queries = np.frombuffer(b"".join(found[r] for r in ids), dtype=np.float32)
    queries = queries.reshape(len(ids), -1)
    keep = np.any(queries, axis=1)
    ids = [r for r, ok in zip(ids, keep, strict=True) if ok]
    queries = queries[keep]
    if not ids:
        return 0
    if index is not None and index.dim == queries.shape[1] and len(index):
        xy = _place_by_graph(store, index, ids, queries, k)
        # a paper whose nearest are all new (a batch of a field the map did not hold) has no
        # placed neighbour among them: it joins by the map's coarsest points instead
        lost = [i for i, p in enumerate(xy) if p is None]
        if lost:
            for i, p in zip(lost, _place_by_landmarks(store, model, queries[lost], k), strict=True):
                xy[i] = p
    else:
        xy = _place_by_landmarks(store, model, queries, k)
    placed = [(r, float(p[0]), float(p[1])) for r, p in zip(ids, xy, strict=True) if p is not None]
    if not placed:
        return 0
    levels = np.full(len(placed), built.deepest, dtype=np.int64)
    coords = np.array([[x, y] for _, x, y in placed])
    cells = cells_of(coords, levels)
    store_map.add_points(
        store,
        [(r, x, y, built.deepest, int(c)) for (r, x, y), c in zip(placed, cells, strict=True)],
    )
    return len(placed)


def _place_by_graph(
    store: SQLiteStore, index: VectorIndex, ids: list[int], queries: np.ndarray, k: int
) -> list[np.ndarray | None]:
    # more than k: the papers themselves and unplaced neighbours (new in the same batch) drop
    keys, sims = index.nearest_papers(queries, k * 2 + 2)
    where = store_map.positions(store, {int(v) for v in keys.ravel() if v >= 0})
    out: list[np.ndarray | None] = []
    for i, rowid in enumerate(ids):
        rows = [
            (where[int(key)], float(sim))
            for key, sim in zip(keys[i], sims[i], strict=True)
            if key >= 0 and int(key) != rowid and int(key) in where
        ][:k]
        if not rows:
            out.append(None)
            continue
        xy = np.array([[p for p in pos] for pos, _ in rows])[None]
        out.append(weighted_mean(xy, np.array([[s for _, s in rows]]))[0])
    return out


def _place_by_landmarks(
    store: SQLiteStore, model: str, queries: np.ndarray, k: int
) -> list[np.ndarray | None]:
    landmarks = store_map.landmarks(store, max_level=3)
    if not landmarks:
        return [None] * len(queries)
    found = store.passage_vectors(model, DOC_PASSAGE, [r for r, _, _ in landmarks])
    rows = [(found[r], (x, y)) for r, x, y in landmarks if r in found]
    rows = [(v, p) for v, p in rows if len(v) == 4 * queries.shape[1]]
    if not rows:
        return [None] * len(queries)
    base = np.frombuffer(b"".join(v for v, _ in rows), dtype=np.float32).reshape(len(rows), -1)
    base_xy = np.array([p for _, p in rows])
    return list(neighbour_positions(base, base_xy, queries, k))
