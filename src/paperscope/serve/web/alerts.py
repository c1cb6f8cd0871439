"""Alerts pages: /alerts (what the signed-in user follows, and how often they get a digest)
and the digest's one-click unsubscribe link, which works without logging in.

GET /unsubscribe/{token} shows a confirmation page with a button; POST /unsubscribe/{token}
unsubscribes: the RFC 8058 one-click request mail clients send (body
``List-Unsubscribe=One-Click``), or the button. The signed token is the authority there: no
session and no CSRF token are needed (a forged or damaged token is refused with a 400).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from paperscope.serve.email import digest as digests
from paperscope.serve.web.auth import CurrentUser, check_csrf
from paperscope.serve.web.site import site_of
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import KINDS, Alerts

router = APIRouter()

KIND_LABELS = {
    "author": "Author",
    "query": "Saved search",
    "category": "Category",
    "paper": "Paper (a seed for recommendations)",
}
DONE = {
    "added": "Now following it: new matches come in your digest.",
    "removed": "No longer following it.",
    "digest": "Digest setting saved.",
}


def _page(request: Request, template: str, status_code: int = 200, **context) -> Response:
    return site_of(request).render(request, f"alerts/{template}", context, status_code)


@router.get("/alerts", include_in_schema=False)
async def alerts_page(request: Request, user: CurrentUser, done: str = "") -> Response:
    store = site_of(request).store
    user = Accounts(store).get(user.id)  # the digest setting may have changed since login
    return _page(
        request,
        "alerts.html",
        follows=Alerts(store).follows(user.id),
        account=user,
        kinds=[(kind, KIND_LABELS[kind]) for kind in KINDS],
        done=DONE.get(done),
    )


@router.post("/alerts", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def add_follow(
    request: Request, user: CurrentUser, kind: str = Form(...), value: str = Form(...)
) -> Response:
    digests.follow(site_of(request).store, user.id, kind, value)
    return RedirectResponse("/alerts?done=added", status_code=303)


@router.post(
    "/alerts/{follow_id}/delete", include_in_schema=False, dependencies=[Depends(check_csrf)]
)
async def remove_follow(request: Request, user: CurrentUser, follow_id: int) -> Response:
    Alerts(site_of(request).store).unfollow(user.id, follow_id)
    return RedirectResponse("/alerts?done=removed", status_code=303)


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
