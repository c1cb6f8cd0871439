"""Alerts pages: /alerts (what the signed-in user follows, and how often they get a digest)
and the digest's one-click unsubscribe link, which works without logging in.

GET /unsubscribe/{token} shows a confirmation page with a button; POST /unsubscribe/{token}
unsubscribes: the RFC 8058 one-click request mail clients send (body
``List-Unsubscribe=One-Click``), or the button. The signed token is the authority there: no
session and no CSRF token are needed (a forged or damaged token is refused with a 400).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from paperscope.errors import InputError, NotFoundError, QueryError
from paperscope.serve.email import digest as digests
from paperscope.serve.web.api import author_directory
from paperscope.serve.web.auth import (
    CurrentUser,
    check_csrf,
    redirect_back,
    safe_next,
    signed_text,
    text_signature,
)
from paperscope.serve.web.feedviews import category_listing
from paperscope.serve.web.format import author_url, category_url, paper_title, paper_url, search_url
from paperscope.serve.web.site import Site, site_of
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import KINDS, Alerts, Follow, check_follow

router = APIRouter()

KIND_LABELS = {
    "author": "Author",
    "query": "Saved search",
    "category": "Category",
    "paper": "Paper (a seed for recommendations)",
}
DONE = {
    "added": "Now following {what}.",
    "removed": "No longer following {what}.",
    "digest": "Digest setting saved.",
}
KIND_WORDS = {"author": "the author", "query": "the search", "category": "the category"}


def _page(request: Request, template: str, status_code: int = 200, **context) -> Response:
    return site_of(request).render(request, f"alerts/{template}", context, status_code)


def _what(kind: str, value: str) -> str:
    return f"{KIND_WORDS.get(kind, 'the paper')} {value}"


def _alerts_page(
    request: Request, user_id: int, status_code: int = 200, **context: object
) -> Response:
    site = site_of(request)
    account = Accounts(site.store).get(user_id)  # the digest setting may have changed since login
    follows = Alerts(site.store).follows(user_id)
    return _page(
        request,
        "alerts.html",
        status_code,
        follows=follows,
        shown=_shown(site, follows),
        account=account,
        kinds=[(kind, KIND_LABELS[kind]) for kind in KINDS],
        **context,
    )


def _shown(site: Site, follows: list[Follow]) -> dict[int, tuple[str, str]]:
    """(link, text) of each follow in the table: a followed paper by its title (its id alone
    said nothing to a reader), an author by their page when one person has that spelling
    (a search for the name otherwise), a search and a category as they are."""
    directory = author_directory(site)
    rowids = {f.id: site.store.resolve(f.value) for f in follows if f.kind == "paper"}
    papers = site.store.load_rowids([r for r in rowids.values() if r is not None])
    shown = {}
    for f in follows:
        if f.kind == "query":
            shown[f.id] = (search_url(f.value), f.value)
        elif f.kind == "category":
            shown[f.id] = (category_url(f.value), f.value)
        elif f.kind == "paper":
            paper = papers.get(rowids[f.id])
            shown[f.id] = (paper_url(f.value), paper_title(paper) if paper else f.value)
        else:
            people = directory.exact(f.value)
            if len(people) == 1:
                shown[f.id] = (author_url(people[0].slug), f.value)
            else:
                shown[f.id] = (search_url(f'au:"{f.value}"', sort="newest"), f.value)
    return shown


@router.get("/alerts", include_in_schema=False)
async def alerts_page(
    request: Request, user: CurrentUser, done: str = "", what: str = "", sig: str = ""
) -> Response:
    message = DONE.get(done)
    if message and "{what}" in message:
        # `what` comes from the URL: a link made elsewhere must not put words on this page
        shown = what[:200] if signed_text(request, what, sig) else ""
        message = message.format(what=shown or "it")
    return _alerts_page(request, user.id, done=message)


def check_followable(site: Site, kind: str, value: str) -> str:
    """The value as stored, when there is something to follow: an author some paper has, a
    category with papers, a paper of the store, a query that parses. InputError,
    NotFoundError or QueryError (with the reason) otherwise."""
    value = check_follow(kind, value)
    if kind == "author" and not author_directory(site).find(value, limit=1):
        raise NotFoundError(
            f"no paper in the store has an author named {value!r}",
            hint="check the spelling, or follow a saved search instead",
        )
    if kind == "category":
        category_listing(site, value, limit=1)  # NotFoundError when it has no papers
    return value


@router.post("/alerts", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def add_follow(
    request: Request,
    user: CurrentUser,
    kind: str = Form(...),
    value: str = Form(""),  # empty: the alerts page says what is missing, not a bare 422
    next: str = Form(""),
) -> Response:
    site = site_of(request)
    try:
        value = check_followable(site, kind, value)
        digests.follow(site.store, user.id, kind, value)
    except (InputError, NotFoundError, QueryError) as exc:
        # the form again with the reason beside it and what was typed kept
        status = 404 if isinstance(exc, NotFoundError) else 400
        return _alerts_page(
            request, user.id, status, error=str(exc), hint=exc.hint, kind=kind, value=value
        )
    if safe_next(next, ""):  # a Follow button on an author, category or search page
        return redirect_back(request, next)
    return RedirectResponse(_done_url(request, "added", _what(kind, value)), status_code=303)


@router.post(
    "/alerts/{follow_id}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)]
)
async def remove_follow(
    request: Request, user: CurrentUser, follow_id: int, next: str = Form("")
) -> Response:
    alerts = Alerts(site_of(request).store)
    gone = find_follow(alerts.follows(user.id), follow_id)
    alerts.unfollow(user.id, follow_id)
    if safe_next(next, ""):
        return redirect_back(request, next)
    what = _what(gone.kind, gone.value) if gone else ""
    return RedirectResponse(_done_url(request, "removed", what), status_code=303)


def _done_url(request: Request, done: str, what: str) -> str:
    """The alerts page with its status line; the words are signed (see `alerts_page`)."""
    if not what:
        return f"/alerts?done={done}"
    sig = text_signature(request, what)
    return "/alerts?" + urlencode({"done": done, "what": what, "sig": sig})


def find_follow(follows: list[Follow], follow_id: int) -> Follow | None:
    return next((f for f in follows if f.id == follow_id), None)


def following(site: Site, user_id: int, kind: str, value: str) -> Follow | None:
    """The user's follow of this thing, if any (value compared as stored)."""
    try:
        value = check_follow(kind, value)
    except InputError:
        return None
    return next((f for f in Alerts(site.store).follows(user_id, kind) if f.value == value), None)


@router.post("/alerts/digest", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def set_digest(request: Request, user: CurrentUser, digest: str = Form(...)) -> Response:
    Accounts(site_of(request).store).set_digest(user.id, digest)
    return RedirectResponse("/alerts?done=digest", status_code=303)


@router.get("/unsubscribe/{token}", include_in_schema=False)
async def unsubscribe_confirm(request: Request, token: str) -> Response:
    target = digests.user_for_token(site_of(request).store, token)
    return _page(request, "unsubscribe.html", token=token, email=target.email, done=False)


@router.post("/unsubscribe/{token}", include_in_schema=False)
async def unsubscribe(request: Request, token: str) -> Response:
    target = digests.unsubscribe(site_of(request).store, token)
    return _page(request, "unsubscribe.html", token=token, email=target.email, done=True)
