"""Who is asking: sets ``request.state.user`` for every request, and guards state changes.

Identity, in order:
1. ``Authorization: Bearer ps_...`` — an API token (scripts). Such requests carry no cookie
   the browser could attach on its own, so they are exempt from the CSRF check. A token that
   does not match answers 401.
2. Single-user mode (`settings.single_user`): the local account, created on first use.
3. The session cookie ``ps_session``: a random session id, signed with the store's "session"
   secret (itsdangerous) and kept server-side as a hash with its expiry, so logging out ends it
   for good. HttpOnly, SameSite=Lax, Secure when `settings.https`.

CSRF: every browser gets an HttpOnly random ``ps_csrf`` cookie; the token is an HMAC of it
under the store's "csrf" secret. Forms carry it as the hidden field ``csrf_token``
(`csrf_input()` in templates), scripts as the header ``X-CSRF-Token``. A site elsewhere can
neither read the cookie nor compute the HMAC. The check is per route (`check_csrf` as a
dependency), not a global middleware, so signed links such as the digest's one-click
unsubscribe work from mail clients that have no cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperscope.store.accounts import SESSION_DAYS, Accounts, User
from paperscope.store.secrets import get_or_create_secret

SESSION_COOKIE = "ps_session"
CSRF_COOKIE = "ps_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = SESSION_DAYS * 86400
#: Paths that never need to know the user (served before any store access).
_ANONYMOUS_PREFIXES = ("/static/", "/favicon")


class LoginRequired(Exception):
    """Raised by `current_user` when nobody is logged in: 303 to /login, or 401 under /api/."""


def _keys(request: Request) -> tuple[URLSafeTimedSerializer, bytes]:
    """The session serializer and the CSRF key of this app (read from the store once)."""
    app_state = request.app.state
    cached = getattr(app_state, "auth_keys", None)
    if cached is None:
        store = app_state.site.store
        serializer = URLSafeTimedSerializer(
            get_or_create_secret(store, "session"), salt="paperscope-session"
        )
        cached = (serializer, get_or_create_secret(store, "csrf").encode())
        app_state.auth_keys = cached
    return cached


def _accounts(request: Request) -> Accounts:
    return Accounts(request.app.state.site.store)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _identify(request: Request) -> User | None:
    settings = request.app.state.settings
    token = _bearer(request)
    if token is not None:
        user = _accounts(request).token_user(token)
        request.state.auth = "token" if user else "bad-token"
        return user
    if settings.single_user:
        request.state.auth = "local"
        return _accounts(request).local_user()
    raw = _session_id(request)
    user = _accounts(request).session_user(raw) if raw else None
    request.state.auth = "session" if user else None
    return user


def _session_id(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    serializer, _ = _keys(request)
    try:
        return serializer.loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.https,
        path="/",
    )


class IdentifyMiddleware:
    """Sets ``request.state.user`` (and ``.auth``) before the routes run, and sends the
    cookies they queued in ``request.state.new_cookies``. A plain ASGI middleware, for the
    reason given at app.GuardMiddleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # its state is the scope's: the routes' requests share it
        request.state.user = None
        request.state.auth = None
        request.state.new_cookies = []
        if not scope["path"].startswith(_ANONYMOUS_PREFIXES):
            request.state.user = _identify(request)
            if request.state.auth == "bad-token":
                await _unauthorized(
                    "the API token is not valid",
                    hint="it may have been revoked: create a new one on /account",
                    # RFC 6750 3.1: a token was sent and refused, as opposed to none sent
                    challenge='Bearer error="invalid_token"',
                )(scope, receive, send)
                return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and request.state.new_cookies:
                carrier = Response()
                for name, value, max_age in request.state.new_cookies:
                    if value is None:
                        carrier.delete_cookie(name, path="/")
                    else:
                        _set_cookie(request, carrier, name, value, max_age)
                headers = MutableHeaders(scope=message)
                for key, value in carrier.raw_headers:
                    if key == b"set-cookie":
                        headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def install(app: FastAPI, site) -> None:
    app.add_middleware(IdentifyMiddleware)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return _unauthorized(
                "log in or send an API token (Authorization: Bearer ...)",
                hint="create a token on /account (it is shown once); send the session cookie "
                "or 'Authorization: Bearer ps_...'",
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)

    site.templates.env.globals["csrf_input"] = _csrf_input
    from paperscope.serve.web import library  # imports this module

    library.register_globals(site)


def _unauthorized(message: str, *, hint: str, challenge: str = "Bearer") -> JSONResponse:
    from paperscope.serve.web.app import SECURITY_HEADERS  # app imports this module

    body = {"error": {"status": 401, "message": message, "hint": hint}}
    response = JSONResponse(body, status_code=401)
    response.headers["WWW-Authenticate"] = challenge
    response.headers.update(SECURITY_HEADERS)
    return response


# ---------------------------------------------------------------------- users


def current_user(request: Request) -> User:
    """The logged-in user (a dependency); nobody → LoginRequired (redirect to /login or 401)."""
    user = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


#: Handler parameter type for "the logged-in user": ``user: CurrentUser``.
CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(request: Request) -> User:
    user = current_user(request)
    if not user.is_admin:
        raise HTTPException(403, "only an administrator may do this")
    return user


def log_in(request: Request, user: User) -> None:
    """Start a session for `user`: the cookie goes out with the response; CSRF seed renewed."""
    raw = _accounts(request).create_session(user.id)
    serializer, _ = _keys(request)
    request.state.new_cookies.append((SESSION_COOKIE, serializer.dumps(raw), SESSION_SECONDS))
    _new_csrf_seed(request)
    request.state.user = user


def log_out(request: Request) -> None:
    raw = _session_id(request)
    if raw:
        _accounts(request).end_session(raw)
    request.state.new_cookies.append((SESSION_COOKIE, None, 0))
    _new_csrf_seed(request)
    request.state.user = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------------- CSRF


def _new_csrf_seed(request: Request) -> str:
    seed = secrets.token_urlsafe(24)
    request.state.csrf_seed = seed
    request.state.new_cookies.append((CSRF_COOKIE, seed, SESSION_SECONDS))
    return seed


def _csrf_seed(request: Request) -> str:
    seed = getattr(request.state, "csrf_seed", None) or request.cookies.get(CSRF_COOKIE)
    if not seed:
        seed = _new_csrf_seed(request)
    request.state.csrf_seed = seed
    return seed


def _sign(request: Request, seed: str) -> str:
    _, key = _keys(request)
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()


def text_signature(request: Request, text: str) -> str:
    """The site's HMAC of `text`, for words a redirect carries to the next page's status line:
    shown only when this site wrote them (a crafted link could put any words there)."""
    return _sign(request, "status-line:" + text)


def signed_text(request: Request, text: str, signature: str) -> bool:
    return bool(signature) and hmac.compare_digest(signature, text_signature(request, text))


def csrf_token(request: Request) -> str:
    """The token for this browser's forms (sets the ps_csrf cookie if it has none yet)."""
    return _sign(request, _csrf_seed(request))


@jinja2.pass_context
def _csrf_input(context) -> Markup:
    token = csrf_token(context["request"])
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


async def check_csrf(request: Request) -> None:
    """403 unless the form field csrf_token or the X-CSRF-Token header matches this browser's
    cookie; requests authenticated by an API token are exempt (a dependency)."""
    if getattr(request.state, "auth", None) == "token":
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    seed = request.cookies.get(CSRF_COOKIE)
    if not given or not seed or not hmac.compare_digest(given, _sign(request, seed)):
        # "reload the page" read as this answer's page, whose reload sends the same form again
        raise HTTPException(
            403,
            "the form has expired or did not come from this site (missing CSRF token); "
            "go back, reload the page the form is on and try again",
        )


# ---------------------------------------------------------------------- redirects


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site, else `default`: never an open redirect."""
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def redirect_back(request: Request, next_url: str | None, default: str = "/") -> RedirectResponse:
    """303 to a safe local `next` (form field), else the same-site Referer path, else default."""
    target = safe_next(next_url, "")
    if not target:
        referer = request.headers.get("referer", "")
        parts = urlsplit(referer)
        if parts.netloc and parts.netloc == request.url.netloc:
            target = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), "")
    return RedirectResponse(target or default, status_code=303)
