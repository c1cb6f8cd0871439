"""The personal pages: library (tags, notes, read marks, ratings), the per-paper action forms,
upvotes, library import/export, community submissions, recommendations; and their JSON API.

Every action is a plain POST form with a CSRF token that answers 303 back to a safe local
`next` URL, so it works without JavaScript. Each handler acts as `request.state.user` only:
ids in URLs or forms (tags, papers) are looked up within that user's rows.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import jinja2
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import Field

from paperscope.errors import InputError, NotFoundError, PaperscopeError
from paperscope.model import Paper
from paperscope.normalize import find_arxiv_id, normalize_arxiv_id
from paperscope.rank.topics import ALL_ASPECTS, diversify, group_rowids
from paperscope.serve.library_io import export_bibtex, export_json, import_library
from paperscope.serve.records import paper_summary
from paperscope.serve.web.api import PERSONAL_ERRORS, Answer, ApiError, PaperSummary, summaries
from paperscope.serve.web.auth import (
    CurrentUser,
    admin_user,
    check_csrf,
    current_user,
    redirect_back,
)
from paperscope.serve.web.site import Site, site_of
from paperscope.store.accounts import User
from paperscope.store.library import Library, PaperState

log = logging.getLogger("paperscope.web.library")
router = APIRouter()
CSRF = [Depends(check_csrf)]
AdminUser = Annotated[User, Depends(admin_user)]

# ---------------------------------------------------------------------- helpers


def _library(request: Request) -> Library:
    return Library(site_of(request).store)


def _rowid(request: Request, ident: str) -> int:
    if not ident.strip():
        raise InputError("which paper? (the form sent no paper id)")
    return _library(request).paper_rowid(ident)


def _page_args(request: Request, page: int) -> tuple[int, int]:
    size = site_of(request).settings.page_size
    page = max(1, page)
    return size, (page - 1) * size


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> Response:
    return site_of(request).render(request, f"library/{template}", ctx, status_code)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@jinja2.pass_context
def library_state(context, paper: Paper) -> dict[str, Any]:
    """What the action forms of `library/_actions.html` need for one paper."""
    request: Request = context["request"]
    user: User | None = getattr(request.state, "user", None)
    library = _library(request)
    # the paper page hands its paper's rowid along (one statement fewer a page)
    rowid = context.get("paper_rowid") if context.get("paper") is paper else None
    if rowid is None and paper.id:
        rowid = library.store.resolve(paper.id)
    state = library.state(user.id, rowid) if user and rowid is not None else PaperState()
    return {
        "user": user,
        "rowid": rowid,
        "state": state,
        "upvotes": library.upvote_counts([rowid]).get(rowid, 0) if rowid is not None else 0,
        "next": _here(request),
        "tags": library.tags(user.id) if user else [],
    }


def register_globals(site: Site) -> None:
    """Template globals for the action snippet (called by auth.install for every app)."""
    site.templates.env.globals["library_state"] = library_state


# ---------------------------------------------------------------------- actions (forms)


@router.post("/library/save", dependencies=CSRF)
async def save(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    tag: str = Form(""),
    next: str = Form(""),
) -> Response:
    _library(request).save(user.id, _rowid(request, paper), tag.strip() or None)
    return redirect_back(request, next, "/library")


@router.post("/library/unsave", dependencies=CSRF)
async def unsave(
    request: Request, user: CurrentUser, paper: str = Form(""), next: str = Form("")
) -> Response:
    _library(request).unsave(user.id, _rowid(request, paper))
    return redirect_back(request, next, "/library")


@router.post("/library/rate", dependencies=CSRF)
async def rate(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    rating: int = Form(0),
    next: str = Form(""),
) -> Response:
    _library(request).rate(user.id, _rowid(request, paper), rating)
    _invalidate(request, user.id)
    return redirect_back(request, next, "/library")


@router.post("/library/read", dependencies=CSRF)
async def mark_read(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    read: int = Form(1),
    next: str = Form(""),
) -> Response:
    _library(request).mark_read(user.id, _rowid(request, paper), bool(read))
    return redirect_back(request, next, "/library")


@router.post("/library/note", dependencies=CSRF)
async def note(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    note: str = Form(""),
    next: str = Form(""),
) -> Response:
    _library(request).set_note(user.id, _rowid(request, paper), note)
    return redirect_back(request, next, "/library")


@router.post("/library/upvote", dependencies=CSRF)
async def upvote(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    on: int = Form(1),
    next: str = Form(""),
) -> Response:
    _library(request).upvote(user.id, _rowid(request, paper), bool(on))
    _invalidate(request, user.id)
    return redirect_back(request, next, "/")


@router.post("/library/untag", dependencies=CSRF)
async def untag(
    request: Request,
    user: CurrentUser,
    paper: str = Form(""),
    tag_id: int = Form(0),
    next: str = Form(""),
) -> Response:
    _library(request).untag(user.id, _rowid(request, paper), tag_id)
    return redirect_back(request, next, "/library")


@router.post("/library/tags/{tag_id}/rename", dependencies=CSRF)
async def rename_tag(
    request: Request, user: CurrentUser, tag_id: int, name: str = Form("")
) -> Response:
    _library(request).rename_tag(user.id, tag_id, name)
    return RedirectResponse(f"/library?tag={tag_id}", status_code=303)


@router.post("/library/tags/{tag_id}/delete", dependencies=CSRF)
async def delete_tag(request: Request, user: CurrentUser, tag_id: int) -> Response:
    _library(request).delete_tag(user.id, tag_id)
    return RedirectResponse("/library", status_code=303)


# ---------------------------------------------------------------------- library page


@router.get("/library")
async def library_page(
    request: Request,
    user: CurrentUser,
    tag: int | None = None,
    unread: bool = False,
    page: int = 1,
    group: str = "",
) -> Response:
    if group and group not in ALL_ASPECTS:
        raise InputError(f"unknown grouping {group!r}", hint="group: " + ", ".join(ALL_ASPECTS))
    library = _library(request)
    size, offset = _page_args(request, page)
    items, total = library.items(user.id, tag_id=tag, unread=unread, limit=size, offset=offset)
    tags = library.tags(user.id)
    current = next((t for t in tags if t.id == tag), None)
    upvotes = library.upvote_counts(i.rowid for i in items)
    # an empty unread list of a library that has papers says "all read", not "nothing here"
    library_total = library.items(user.id, limit=1)[1] if unread and not items else total
    return _render(
        request,
        "library.html",
        library_total=library_total,
        items=items,
        total=total,
        tags=tags,
        current_tag=current,
        unread=unread,
        page=max(1, page),
        pages=max(1, -(-total // size)),
        upvotes=upvotes,
        here=_here(request),
        group=group,
        aspects=ALL_ASPECTS,
        grouped=_grouped(request, items, group),
    )


def _grouped(request: Request, items: list, aspect: str) -> list[tuple[Any, list]]:
    """The page's items regrouped by their top topic of `aspect`, or one unnamed group."""
    if not aspect:
        return [(None, items)]
    by_rowid = {i.rowid: i for i in items}
    store = site_of(request).store
    return [
        (t, [by_rowid[r] for r in rowids])
        for t, rowids in group_rowids(store, list(by_rowid), aspect)
    ]


@router.get("/library/import")
async def import_page(request: Request, user: CurrentUser) -> Response:
    return _render(request, "import.html", tags=_library(request).tags(user.id))


@router.post("/library/import", dependencies=CSRF)
async def import_upload(
    request: Request,
    user: CurrentUser,
    file: Annotated[UploadFile | None, File()] = None,
    ids: str = Form(""),
    tag: str = Form(""),
) -> Response:
    data, filename = b"", ""
    if file is not None and file.filename:
        data, filename = await file.read(), file.filename
    elif ids.strip():
        data, filename = ids.encode(), "ids.txt"
    if not data.strip():
        raise InputError("choose a file or paste arXiv ids / DOIs to import")
    result = import_library(
        site_of(request).store, user.id, data, filename=filename, tag=tag.strip() or None
    )
    site_of(request).refresh()
    _invalidate(request, user.id)
    return _render(request, "import.html", result=result, tags=_library(request).tags(user.id))


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/library/export.bib")
async def library_bibtex(request: Request, user: CurrentUser, tag: int | None = None) -> Response:
    body = export_bibtex(site_of(request).store, user.id, tag)
    return _download(body, "application/x-bibtex; charset=utf-8", "library.bib")


@router.get("/library/export.json")
async def library_json(request: Request, user: CurrentUser, tag: int | None = None) -> Response:
    records = export_json(site_of(request).store, user.id, tag)
    body = json.dumps(records, ensure_ascii=False, indent=2)
    return _download(body, "application/json", "library.json")


# ---------------------------------------------------------------------- submissions


def parse_submission(text: str) -> str:
    """The bare arXiv id in an id or URL (InputError with an example otherwise)."""
    text = text.strip()
    ident = normalize_arxiv_id(text) or find_arxiv_id(text)
    if not ident:
        raise InputError(
            f"{text[:100]!r} is not an arXiv id or arXiv URL",
            hint="e.g. 2401.12345 or https://arxiv.org/abs/2401.12345",
        )
    return ident


def fetch_arxiv(site: Site, arxiv_id: str) -> int:
    """The paper's rowid: from the store, else harvested from the arXiv API now."""
    from paperscope.ingest.harvesters.arxiv_api import ApiParams, harvest_arxiv_api
    from paperscope.ingest.harvesters.http import RetryPolicy

    store = site.store
    rowid = store.resolve(arxiv_id)
    if rowid is not None:
        return rowid
    error = None
    try:
        with httpx.Client(timeout=20, headers={"User-Agent": "paperscope"}) as client:
            summary = harvest_arxiv_api(
                store,
                client,
                ApiParams(id_list=[arxiv_id], max_papers=1, page_size=1),
                interval=0,
                policy=RetryPolicy(retries=1),
                restart=True,
            )
        error = summary.error
    except httpx.HTTPError as exc:
        error = str(exc)
    if error:
        # the details (and any command-line hint) are for the server's log, not the reader
        log.warning("submit: arXiv did not give %s: %s", arxiv_id, error)
        raise InputError(
            f"{arxiv_id} is not in this store yet and arXiv could not be reached to fetch it. "
            "Please try again later."
        )
    rowid = store.resolve(arxiv_id)
    if rowid is None:
        raise NotFoundError(f"arXiv has no paper {arxiv_id}", hint="check the id (e.g. 2401.12345)")
    site.refresh()
    return rowid


@router.get("/submit")
async def submit_page(request: Request, user: CurrentUser) -> Response:
    mine = _library(request).submissions(user_id=user.id, include_hidden=True, limit=20)
    return _render(request, "submit.html", mine=_with_papers(request, mine))


@router.post("/submit", dependencies=CSRF)
async def submit(request: Request, user: CurrentUser, paper: str = Form("")) -> Response:
    library = _library(request)
    try:
        rowid = fetch_arxiv(site_of(request), parse_submission(paper))
        submission = library.submit(user.id, rowid, _today())
    except (InputError, NotFoundError) as exc:
        mine = library.submissions(user_id=user.id, include_hidden=True, limit=20)
        return _render(
            request,
            "submit.html",
            status_code=400 if isinstance(exc, InputError) else 404,
            error=str(exc),
            hint=exc.hint,
            value=paper,
            mine=_with_papers(request, mine),
        )
    papers = library.store.load_rowids([submission.rowid])
    return _render(
        request,
        "submit.html",
        submitted=papers.get(submission.rowid),
        mine=_with_papers(
            request, library.submissions(user_id=user.id, include_hidden=True, limit=20)
        ),
    )


def _with_papers(request: Request, subs: list) -> list[tuple[Any, Paper]]:
    papers = site_of(request).store.load_rowids([s.rowid for s in subs])
    return [(s, papers[s.rowid]) for s in subs if s.rowid in papers]


@router.get("/submissions")
async def submissions_page(request: Request, day: str | None = None, page: int = 1) -> Response:
    user: User | None = request.state.user
    admin = bool(user and user.is_admin)
    size, offset = _page_args(request, page)
    subs = _library(request).submissions(
        day=day, include_hidden=admin, limit=size + 1, offset=offset
    )
    return _render(
        request,
        "submissions.html",
        subs=_with_papers(request, subs[:size]),
        more=len(subs) > size,
        page=max(1, page),
        day=day,
        admin=admin,
    )


@router.post("/submissions/{submission_id}/hide", dependencies=CSRF)
async def hide_submission(
    request: Request, user: AdminUser, submission_id: int, hidden: int = Form(1)
) -> Response:
    _library(request).set_hidden(submission_id, bool(hidden))
    return RedirectResponse("/submissions", status_code=303)


# ---------------------------------------------------------------------- recommendations

_recommenders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def recommender(site: Site):
    """One Recommender per site (it caches the users' trained models)."""
    from paperscope.rank.recs import Recommender  # helper "recs"

    rec = _recommenders.get(site)
    if rec is None or rec_engine(rec) is not site.engine:
        rec = Recommender(site.engine)
        _recommenders[site] = rec
    return rec


def rec_engine(rec) -> Any:
    return getattr(rec, "engine", None)


def _invalidate(request: Request, user_id: int) -> None:
    """Tell the cached model of this process that the user's ratings changed (optional)."""
    rec = _recommenders.get(site_of(request))
    if rec is not None:
        rec.invalidate(user_id)


#: `spread=topics`: the best paper of every topic before a second of any (greedy coverage).
SpreadQ = Annotated[
    str | None,
    Query(
        pattern="^topics$",
        description="`topics`: spread the list across topics (the best paper of every topic "
        "before a second of any); unchanged while the store has no topics",
    ),
]


def _spread(site: Site, recs: list, spread: str | None) -> list:
    if spread != "topics" or not recs:
        return recs
    by_rowid = {r.rowid: r for r in recs}
    return [by_rowid[r] for r in diversify(site.store, list(by_rowid))]


@router.get("/recommendations")
async def recommendations_page(
    request: Request, user: CurrentUser, tag: str | None = None, spread: SpreadQ = None
) -> Response:
    site = site_of(request)
    library = _library(request)
    tags = library.tags(user.id)
    if tag and library.tag_named(user.id, tag) is None:
        raise NotFoundError(f"you have no tag {tag!r}")
    recs = recommender(site).recommend(user.id, limit=site.settings.page_size, tag=tag or None)
    recs = _spread(site, recs, spread)
    upvotes = library.upvote_counts(r.rowid for r in recs)
    return _render(
        request,
        "recommendations.html",
        recs=recs,
        tags=tags,
        tag=tag,
        upvotes=upvotes,
        spread=spread,
    )


# ---------------------------------------------------------------------- JSON API


class PaperStateOut(Answer):
    """The reader's state of one paper (the schema said nothing of it before)."""

    saved: bool
    saved_at: str | None = Field(description="ISO 8601 UTC, null when not saved")
    rating: int = Field(description="-1, 0 or 1")
    note: str
    read_at: str | None = Field(description="ISO 8601 UTC, null when not marked read")
    tags: list[str] = Field(description="Names of the reader's tags on the paper")
    upvoted: bool
    upvotes: int = Field(description="Upvotes on this server")


class LibraryTagOut(Answer):
    id: int
    name: str
    papers: int = Field(description="Papers of the reader's library with this tag")


class LibraryPaperOut(PaperSummary):
    library: PaperStateOut = Field(description="The reader's state of the paper")


class LibraryOut(Answer):
    """One page of the reader's library (the schema said nothing of it before)."""

    total: int = Field(description="Papers in the library (with `tag`: with that tag)")
    page: int
    tags: list[LibraryTagOut] = Field(description="Every tag of the reader")
    papers: list[LibraryPaperOut] = Field(description="Newest saved first")


class RecommendationOut(Answer):
    id: str
    title: str
    authors: list[str]
    date: str | None
    categories: list[str]
    score: float = Field(description="Higher is closer to the reader's library")
    reason: str = Field(description="One line saying why")
    kind: str = Field(description="similar, author, category, query or seed")


class RecommendationsOut(Answer):
    recommendations: list[RecommendationOut]


def _state_json(state: PaperState, upvotes: int) -> dict[str, Any]:
    return {
        "saved": state.saved,
        "saved_at": state.saved_at,
        "rating": state.rating,
        "note": state.note,
        "read_at": state.read_at,
        "tags": [t.name for t in state.tags],
        "upvoted": state.upvoted,
        "upvotes": upvotes,
    }


@router.get("/api/v1/library", response_model=LibraryOut, responses=PERSONAL_ERRORS)
async def api_library(
    request: Request,
    user: CurrentUser,
    tag: int | None = None,
    # pages count from 1 (docs/api.md); 0 or below was answered as page 1, so a client with
    # an off-by-one read the first page again without a word
    page: Annotated[int, Query(ge=1)] = 1,
) -> dict:
    library = _library(request)
    size, offset = _page_args(request, page)
    items, total = library.items(user.id, tag_id=tag, limit=size, offset=offset)
    counts = library.upvote_counts(i.rowid for i in items)
    # the summary every other list gives (url, upvotes, citations), through the model
    rows = summaries(request, [(i.rowid, i.paper, None) for i in items])
    return {
        "total": total,
        "page": page,
        "tags": [{"id": t.id, "name": t.name, "papers": t.papers} for t in library.tags(user.id)],
        "papers": [
            {**row, "library": _state_json(i.state, counts.get(i.rowid, 0))}
            for row, i in zip(rows, items, strict=True)
        ],
    }


@router.get(
    "/api/v1/library/papers/{ident:path}",
    response_model=PaperStateOut,
    responses=PERSONAL_ERRORS,
)
async def api_paper_state(request: Request, user: CurrentUser, ident: str) -> JSONResponse:
    library = _library(request)
    rowid = _rowid(request, ident)
    state = library.state(user.id, rowid)
    return JSONResponse(_state_json(state, library.upvote_counts([rowid]).get(rowid, 0)))


#: Who first, then the CSRF check: an anonymous POST is 401 "log in or send a token"
#: (docs/api.md), not 403 "missing CSRF token", which would send a client after the wrong fix.
#: FastAPI runs the route's `dependencies` before its parameters' and caches current_user, so
#: the `user` parameter costs nothing more.
API_WRITE = [Depends(current_user), *CSRF]


class UnsupportedBody(PaperscopeError):
    """A body in another media type than the route reads (415)."""

    http_status = 415


#: The body as the schema showed it when FastAPI read it (`Body()`): the route now reads it
#: itself, after the login and CSRF checks and with messages that say what to send.
_CHANGES_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True, "title": "Changes"}
            }
        },
    }
}
_BODY_HINT = 'send a JSON object with Content-Type: application/json, e.g. {"saved": true}'


async def _json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object. FastAPI's own reading answered a form body 422
    "body: Input should be a valid dictionary" and broken JSON "1: JSON decode error", and
    decoded the body before checking who sent it."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedBody(f"the body must be JSON, not {media or 'untyped'}", hint=_BODY_HINT)
    raw = await request.body()
    if not raw.strip():
        raise InputError("the body is empty", hint=_BODY_HINT)
    try:
        changes = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"the body is not valid JSON{where}", hint=_BODY_HINT) from None
    if not isinstance(changes, dict):
        raise InputError(
            f"the body must be a JSON object, not {type(changes).__name__}", hint=_BODY_HINT
        )
    return changes


@router.post(
    "/api/v1/library/papers/{ident:path}",
    dependencies=API_WRITE,
    response_model=PaperStateOut,
    responses={
        **PERSONAL_ERRORS,
        415: {"model": ApiError, "description": "The body is not JSON (Content-Type)"},
    },
    openapi_extra=_CHANGES_BODY,
)
async def api_update_paper(request: Request, user: CurrentUser, ident: str) -> JSONResponse:
    """Change any of saved (bool), tag (str, saves too), rating (-1/0/1), note (str),
    read (bool), upvote (bool) in one call."""
    changes = await _json_object(request)
    library = _library(request)
    rowid = _rowid(request, ident)
    unknown = set(changes) - {"saved", "tag", "rating", "note", "read", "upvote"}
    if unknown:
        raise InputError(f"unknown fields: {', '.join(sorted(unknown))}")
    # every value checked before any is applied: "false" is not false, ["a"] is not a tag
    saved = _bool(changes["saved"], "saved") if "saved" in changes else None
    tag = _text(changes.get("tag"), "tag", multiline=False)
    rating = _int(changes["rating"], "rating") if "rating" in changes else None
    note = _text(changes["note"], "note", multiline=True) if "note" in changes else None
    read = _bool(changes["read"], "read") if "read" in changes else None
    upvote = _bool(changes["upvote"], "upvote") if "upvote" in changes else None
    if saved is False:
        library.unsave(user.id, rowid)
    elif saved or tag:
        library.save(user.id, rowid, tag or None)
    if rating is not None:
        library.rate(user.id, rowid, rating)
    if note is not None:
        library.set_note(user.id, rowid, note)
    if read is not None:
        library.mark_read(user.id, rowid, read)
    if upvote is not None:
        library.upvote(user.id, rowid, upvote)
    _invalidate(request, user.id)
    state = library.state(user.id, rowid)
    return JSONResponse(_state_json(state, library.upvote_counts([rowid]).get(rowid, 0)))


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false")
    return value


#: What no tag or note may hold: controls (a note keeps its line breaks and tabs).
_LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_NOTE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: Any, name: str, *, multiline: bool) -> str:
    """A string field of the API: None is "", anything but text an error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") that JSON let through
        raise InputError(f"{name} is not valid text: it holds a lone surrogate") from None
    if (_NOTE_CONTROLS if multiline else _LINE_CONTROLS).search(value):
        raise InputError(f"{name} holds a control character")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer")
    return value


@router.get("/api/v1/recommendations", response_model=RecommendationsOut, responses=PERSONAL_ERRORS)
async def api_recommendations(
    request: Request,
    user: CurrentUser,
    tag: str | None = None,
    limit: int = 20,
    spread: SpreadQ = None,
) -> JSONResponse:
    site = site_of(request)
    if not 1 <= limit <= site.settings.max_page_size:
        raise InputError(f"limit must be between 1 and {site.settings.max_page_size}")
    recs = _spread(site, recommender(site).recommend(user.id, limit=limit, tag=tag or None), spread)
    return JSONResponse(
        {
            "recommendations": [
                {**paper_summary(r.paper, r.score), "reason": r.reason, "kind": r.kind}
                for r in recs
            ]
        }
    )
