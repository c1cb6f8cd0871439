"""Topics on the web: GET /api/v1/topics (the list `paperscope topics --json` prints),
/api/v1/topics/{id}, the pages /topics and /topic/{id}, and /topic/{id}/feed.atom.

/topics is also the no-JavaScript fallback of the map page: a plain list of the hierarchy.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from paperscope.errors import InputError, NotFoundError
from paperscope.rank import topics as topics_rank
from paperscope.serve.topic_records import detail_json
from paperscope.serve.web.api import ERRORS, PaperSummary, absolute, author_directory
from paperscope.serve.web.exports import _atom
from paperscope.serve.web.format import paper_url
from paperscope.serve.web.pages import render
from paperscope.serve.web.site import site_of
from paperscope.store import topics as topic_store

router = APIRouter()
#: Papers in a topic's Atom feed, newest first.
FEED_SIZE = 50


class TopicOut(BaseModel):
    id: int
    label: str
    size: int
    parent: int | None
    aspect: str | None = None


class NeighbourOut(TopicOut):
    similarity: float


class MonthOut(BaseModel):
    month: str
    papers: int


class AuthorCount(BaseModel):
    name: str
    papers: int


class TopicDetailOut(TopicOut):
    aspect: str
    level: int
    subtopics: list[TopicOut]
    neighbours: list[NeighbourOut]
    months: list[MonthOut]
    authors: list[AuthorCount]
    central: list[PaperSummary]


AspectQuery = Annotated[
    str, Query(description="topic (the main hierarchy, default), task or method")
]


def _aspect(aspect: str) -> str:
    if aspect not in topics_rank.ALL_ASPECTS:
        raise InputError(
            f"aspect: unknown aspect {aspect!r}",
            hint="one of: " + ", ".join(topics_rank.ALL_ASPECTS),
        )
    return aspect


def _detail(request: Request, topic_id: int) -> topics_rank.TopicDetail:
    store = site_of(request).store
    found = topics_rank.detail(store, topic_id)
    if found is None and not topic_store.aspects(store):
        raise NotFoundError(
            f"no topic {topic_id}: no topics yet",
            hint="the server's operator builds them: paperscope topics rebuild clusters the "
            "embedded papers",
        )
    if found is None:
        raise NotFoundError(f"no topic {topic_id}", hint="/topics lists them")
    return found


@router.get(
    "/api/v1/topics",
    response_model=list[TopicOut],
    response_model_exclude_unset=True,
    tags=["topics"],
    summary="Every topic: each top topic, then its sub-topics",
    responses=ERRORS,
)
async def api_topics(request: Request, aspect: AspectQuery = topic_store.MAIN_ASPECT) -> list:
    return topics_rank.summaries(site_of(request).store, _aspect(aspect))


@router.get(
    "/api/v1/topics/{topic_id}",
    response_model=TopicDetailOut,
    response_model_exclude_unset=True,
    tags=["topics"],
    summary="One topic: sub-topics, neighbours, papers per month, authors, central papers",
    responses=ERRORS,
)
async def api_topic(request: Request, topic_id: int) -> dict:
    found = _detail(request, topic_id)
    data = detail_json(found)
    for item, paper in zip(data["central"], found.central, strict=True):
        item["url"] = absolute(request, paper_url(paper))
    return data


@router.get("/topics", response_class=HTMLResponse, include_in_schema=False)
async def topics_page(request: Request, aspect: AspectQuery = topic_store.MAIN_ASPECT) -> Response:
    store = site_of(request).store
    aspect = _aspect(aspect)
    listed = topic_store.list_topics(store, aspect)
    tops = [t for t in listed if t.level == 1]
    subs: dict[int, list] = {}
    for t in listed:
        if t.level == 2:
            subs.setdefault(t.parent, []).append(t)
    context = {
        "aspect": aspect,
        "aspects": topics_rank.ALL_ASPECTS,
        "tops": tops,
        "subs": subs,
        "drift": topics_rank.drift(store, aspect),
    }
    return render(request, "topics.html", context)


@router.get("/topic/{topic_id}", response_class=HTMLResponse, include_in_schema=False)
async def topic_page(request: Request, topic_id: int) -> Response:
    try:
        found = _detail(request, topic_id)
    except NotFoundError as missing:
        if not topic_store.aspects(site_of(request).store):
            raise  # no topics at all: the hint says how they are built
        # a rebuild numbers the topics anew, so a saved link may name one that is gone; the
        # API's hint ("/topics lists them") is a path, not a link, on a page
        context = {
            "status": 404,
            "message": str(missing),
            "hint": "topics are numbered anew when they are rebuilt: an older link may name "
            "one that is gone",
            "link": ("/topics", "Browse the topics"),
        }
        return render(request, "error.html", context, status=404)
    directory = author_directory(site_of(request))
    context = {
        "d": found,
        "t": found.topic,
        # a name links to its author page when one person has that spelling (a name two
        # people share stays plain text rather than pick one of them)
        "authors": [(name, n, _only_slug(directory.exact(name))) for name, n in found.authors],
        "months": found.months,
        "month_max": max((n for _, n in found.months), default=0),
    }
    return render(request, "topic.html", context)


def _only_slug(people: list) -> str | None:
    return people[0].slug if len(people) == 1 else None


@router.get("/topic/{topic_id}/feed.atom", include_in_schema=False)
async def topic_feed(request: Request, topic_id: int) -> Response:
    found = _detail(request, topic_id)
    store = site_of(request).store
    papers = list(store.load_rowids(found.rowids).values())
    papers.sort(key=lambda p: (p.published or "", p.id), reverse=True)
    title = f"paperscope topic: {found.topic.label}"
    return _atom(request, title, f"/topic/{topic_id}", papers[:FEED_SIZE])
