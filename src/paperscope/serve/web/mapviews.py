"""The map of the field: the `/map` page and its JSON (`/api/v1/map...`), docs/map.md.

Bad parameters are QueryErrors: a 400 with a JSON body, like a malformed search.

Points are served by viewport: `/api/v1/map?bbox=x0,y0,x1,y1&zoom=Z` returns the points of
zoom Z's tiles inside the box, at most `tile_points` per tile (a fixed sample where the map is
dense, everything once Z reaches the deepest level), so the page never loads a million points.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from paperscope.errors import QueryError
from paperscope.serve.web.api import ERRORS, Answer
from paperscope.serve.web.pages import render
from paperscope.serve.web.site import site_of
from paperscope.store import map as store_map
from paperscope.store import topics as topic_store
from paperscope.store.browse import Browse
from paperscope.store.library import Library

router = APIRouter()

#: Most tiles of the requested zoom a box may cover (the page asks for ~10 x 10).
MAX_TILES = 1024
#: Deepest zoom a request may name (tiles of the deepest level in use answer deeper ones).
MAX_ZOOM = 24
#: Papers a highlight set (ids, library, today's feed) returns at most.
MAX_HIGHLIGHT = 500
#: Ids one request may name (a search page's worth: the page asks for 100 results).
MAX_IDS = 100
#: Digits kept of a coordinate: 1e-5 of the map is far below a pixel at any useful zoom.
DIGITS = 5


#: The map is the unit square; a box may reach past it (a viewport beside the map) and is
#: clipped to it.
BBOX_HINT = "bbox=x0,y0,x1,y1: four numbers from -1 to 2 (the map is 0-1)"


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`x0,y0,x1,y1` with x0 <= x1 and y0 <= y1, each in -1..2 (a viewport past the map's
    edges), clipped to the unit square; or QueryError."""
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise QueryError(f"bad bbox {text!r}", hint=BBOX_HINT) from None
    values = (x0, y0, x1, y1)
    if not all(math.isfinite(v) and -1 <= v <= 2 for v in values) or x0 > x1 or y0 > y1:
        raise QueryError(f"bad bbox {text!r}", hint=BBOX_HINT + "; x0 <= x1 and y0 <= y1")
    return (max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1))


# ------------------------------------------------------------------ response models
# The schema at /openapi.json described these answers as "anything" (no response model);
# models make it say what docs/api.md says, and every key required (Answer).


class MapPoints(Answer):
    """Points in columns: the i-th paper is ids[i] at (x[i], y[i]) in topic[i]."""

    ids: list[str]
    x: list[float]
    y: list[float]
    topic: list[int | None] = Field(description="Top-level topic id of each paper, or null")


class MapAnswer(Answer):
    built: bool = Field(description="False before `paperscope map rebuild`: no points")
    built_at: str | None = Field(description="When the layout was made (null before)")
    topics_built_at: str | None = Field(description="When the topics were built (null before)")
    zoom: int
    complete: bool = Field(description="True when every point in the box was returned")
    tile_points: int = Field(description="Most points a tile of the zoom holds")
    ids: list[str]
    x: list[float]
    y: list[float]
    topic: list[int | None]


class MapLabel(Answer):
    id: int
    label: str
    size: int
    x: float
    y: float


class MapLabels(Answer):
    built_at: str | None
    topics_built_at: str | None
    topics: list[MapLabel]


def _builds(store, built: store_map.MapState | None) -> dict:
    """Which map and topics builds an answer is of (null before them): a page open across a
    rebuild compares them, in the points and in the labels, to start again."""
    topics = topic_store.build_info(store)
    return {
        "built_at": built.built_at if built else None,
        "topics_built_at": topics.built_at if topics else None,
    }


def _tiles(lo: float, hi: float, side: int) -> range:
    return range(min(int(lo * side), side - 1), min(int(hi * side), side - 1) + 1)


def cells_for(bbox: tuple[float, float, float, float], zoom: int) -> list[int]:
    """The cells of every level 0..zoom that overlap `bbox`."""
    x0, y0, x1, y1 = bbox
    cells: list[int] = []
    for level in range(zoom + 1):
        side = 1 << level
        for ty in _tiles(y0, y1, side):
            cells.extend(store_map.cell_key(level, tx, ty) for tx in _tiles(x0, x1, side))
    return cells


def _topics_of(store, rowids: list[int]) -> list[int | None]:
    """Each paper's top-level topic (None without one)."""
    tree = store_map.topic_tree(store)
    if not tree:
        return [None] * len(rowids)
    roots = store_map.roots_of(tree)
    finest = store_map.paper_topics(store, rowids)
    return [roots.get(finest[r]) if r in finest else None for r in rowids]


def _points_json(store, points: list[store_map.Point]) -> dict:
    topics = _topics_of(store, [p.rowid for p in points])
    return {
        "ids": [p.id for p in points],
        "x": [round(p.x, DIGITS) for p in points],
        "y": [round(p.y, DIGITS) for p in points],
        "topic": topics,
    }


@router.get(
    "/api/v1/map",
    tags=["map"],
    response_model=MapAnswer,
    responses=ERRORS,
    summary="The map's points inside a box, at most tile_points per tile of the zoom",
    description=(
        "`bbox=x0,y0,x1,y1` in map units (the map is the unit square, y down), `zoom` the "
        "tile level: tiles of zoom Z are 1/2^Z of the map wide. Each tile of the zoom gives "
        "at most `tile_points` points (a fixed sample where the map is dense); `complete` is "
        "true when every point in the box was returned. Columns: `ids` (paper ids), `x`, `y`, "
        "`topic` (the paper's top-level topic id, or null)."
    ),
)
async def map_points(
    request: Request,
    bbox: Annotated[str, Query(max_length=200)] = "0,0,1,1",
    zoom: Annotated[int, Query(ge=0, le=MAX_ZOOM)] = 0,
) -> dict:
    store = site_of(request).store
    box = parse_bbox(bbox)
    built = store_map.state(store)
    if built is None:
        # the same keys as a built map's (docs/api.md: `built_at`, `topics_built_at` null
        # before the builds), so a client reads one shape
        return {"built": False, **_builds(store, built),
                "zoom": zoom, "complete": True, "tile_points": 0,
                "ids": [], "x": [], "y": [], "topic": []}  # fmt: skip
    # zooms past the deepest level in use hold nothing more: count the tiles read
    level = min(zoom, built.deepest)
    side = 1 << level
    tiles = len(_tiles(box[0], box[2], side)) * len(_tiles(box[1], box[3], side))
    if tiles > MAX_TILES:
        raise QueryError(
            f"the box covers {tiles} tiles of zoom {level}, more than {MAX_TILES}",
            hint="ask for a smaller box or a lower zoom",
        )
    points = store_map.points_in_cells(store, cells_for(box, level), box)
    return {
        "built": True,
        # which builds the points and their colours are of (`topics rebuild --no-map` changes
        # the topics under the same layout)
        **_builds(store, built),
        "zoom": zoom,
        "complete": zoom >= built.deepest,
        "tile_points": built.tile_points,
        **_points_json(store, points),
    }


@router.get(
    "/api/v1/map/labels",
    tags=["map"],
    response_model=MapLabels,
    responses=ERRORS,
    summary="Top-level topics with their label, size and place on the map",
    description=(
        "Empty until topics are built (`paperscope topics rebuild`). `built_at` and "
        "`topics_built_at` name the map and topics builds the labels are of, as in "
        "`/api/v1/map`."
    ),
)
async def map_labels(request: Request) -> dict:
    store = site_of(request).store
    tree = store_map.topic_tree(store)
    roots = store_map.roots_of(tree)
    sums: dict[int, list[float]] = {}
    for topic, sx, sy, n in store_map.topic_sums(store):
        root = roots.get(topic)
        if root is None:
            continue
        acc = sums.setdefault(root, [0.0, 0.0, 0])
        acc[0] += sx
        acc[1] += sy
        acc[2] += n
    labels = [
        {
            "id": root,
            "label": tree[root].label,
            "size": tree[root].size,
            "x": round(sx / n, DIGITS),
            "y": round(sy / n, DIGITS),
        }
        for root, (sx, sy, n) in sums.items()
        if n
    ]
    labels.sort(key=lambda t: (-t["size"], t["id"]))
    # the builds the labels are of, as in /api/v1/map: a page that fetched its labels before
    # a rebuild can tell they are stale from its next points
    return {**_builds(store, store_map.state(store)), "topics": labels}


@router.get(
    "/api/v1/map/points",
    tags=["map"],
    response_model=MapPoints,
    responses=ERRORS,
    summary="The map points of chosen papers: by id, the reader's library or today's feed",
    description=(
        "`ids`: comma-separated paper ids (arXiv ids, DOIs or paper ids, at most 100, "
        "1,900 characters; a search page of long DOIs needs two requests); "
        "`set=library` (the signed-in reader's saved papers) or `set=today` (the newest day's "
        "feed). Papers without a point are left out."
    ),
)
async def map_highlight(
    request: Request,
    # bounded so the request line stays within the HTTP server's 16 KiB limit even when every
    # character is percent-encoded (schemathesis found 20,000 characters reset the connection)
    ids: Annotated[str | None, Query(max_length=1_900)] = None,
    set: Annotated[str | None, Query(pattern="^(library|today)$")] = None,
) -> dict:
    site = site_of(request)
    store = site.store
    if (ids is None) == (set is None):
        raise QueryError("give either ids or set", hint="ids=ID,ID,... or set=library|today")
    rowids: list[int] = []
    if ids is not None:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > MAX_IDS:
            raise QueryError(f"at most {MAX_IDS} ids", hint="ask in several requests")
        for ident in wanted:
            rowid = store.resolve(ident)
            if rowid is not None:
                rowids.append(rowid)
    elif set == "library":
        user = getattr(request.state, "user", None)
        if user is not None:
            rowids = Library(store).saved_rowids(user.id)[:MAX_HIGHLIGHT]
    else:
        browse = Browse(store)
        day = browse.latest_day()
        if day is not None:
            papers, _ = browse.papers_between(day, day, sort="newest", limit=100)
            rowids = [r for r, _ in papers]
    return _points_json(store, store_map.points_of(store, rowids))


@router.get("/map", include_in_schema=False, response_class=HTMLResponse)
async def map_page(request: Request) -> HTMLResponse:
    store = site_of(request).store
    built = store_map.state(store)
    points, _ = store_map.count_points(store)
    return render(request, "map.html", {"built": built, "points": points})
