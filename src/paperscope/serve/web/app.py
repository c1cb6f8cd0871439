"""The FastAPI application: security headers, rate limit, error pages, and the routers.

    uvicorn.run(create_app(WebSettings(db_path=...)))

`create_app_from_env` is the factory uvicorn's worker processes call (`serve --workers N`).
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperscope.errors import InputError, NotFoundError, PaperscopeError, QueryError
from paperscope.serve.web import auth, workers
from paperscope.serve.web.ratelimit import RateLimiter
from paperscope.serve.web.settings import WebSettings
from paperscope.serve.web.site import HERE, Site

log = logging.getLogger("paperscope.web")

#: Router modules of paperscope.serve.web, each exposing `router`; order = match order.
ROUTERS = (
    "api",
    "exports",
    "apidocs",
    "account",
    "library",
    "alerts",
    "topics",
    "mapviews",
    "pages",
)

#: No inline script or style, nothing from another origin, no framing, no plugins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def api_error(status: int, message: str, hint: str | None = None, **extra) -> JSONResponse:
    body = {"error": {"status": status, "message": message, **extra}}
    if hint:
        body["error"]["hint"] = hint
    return JSONResponse(body, status_code=status)


def _status_of(exc: PaperscopeError, api: bool) -> int:
    if isinstance(exc, QueryError):
        return 400
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InputError):
        return 422 if api else 400
    return exc.http_status


def error_response(
    request: Request, status: int, message: str, hint: str | None = None, **extra
) -> Response:
    if is_api(request):
        return api_error(status, message, hint, **extra)
    site: Site = request.app.state.site
    return site.render(
        request,
        "error.html",
        {"status": status, "message": message, "hint": hint, **extra},
        status_code=status,
    )


def library_error(request: Request, exc: PaperscopeError) -> Response:
    status = _status_of(exc, is_api(request))
    extra = {}
    if isinstance(exc, QueryError) and exc.position is not None:
        extra["position"] = exc.position
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return error_response(request, status, str(exc), exc.hint, **extra)


class LibraryErrorsMiddleware:
    """A library error raised in a middleware (the session or the rate limit read from a
    store that became unreachable) answered as a route's is: its status, message and hint,
    not 500 "internal error" and a traceback in the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except PaperscopeError as exc:
            if started:
                raise
            await library_error(Request(scope), exc)(scope, receive, send)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(PaperscopeError)
    async def paperscope_error(request: Request, exc: PaperscopeError) -> Response:
        return library_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {_problem(e)}"
            for e in exc.errors()
        ]
        return error_response(request, 422, "bad parameter: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page"
        hint = None
        allowed = ""
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            message = f"{request.method} is not allowed on {request.url.path}"
            hint = f"this URL answers {allowed}"
        response = error_response(request, exc.status_code, message, hint)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        if allowed:
            response.headers["Allow"] = allowed
        return response

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> Response:
        # an integer parameter beyond SQLite's 64 bits (?tag=10**26, found by schemathesis):
        # a bad parameter, like any other out-of-range value
        return error_response(request, 422, "bad parameter: a number is out of range")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(request, 500, "internal error; the server log has the details")


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path. Starlette's 405 names only the methods of
    the first route whose path matched (FastAPI makes one route per method, so `GET` where the
    URL takes POST too), and not HEAD, which HeadMiddleware answers wherever GET works."""
    # asked of each route as the router asks (`matches`): FastAPI nests included routers
    methods = {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    }
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _problem(error: dict) -> str:
    """Pydantic's message, but for dates one that says what to type: it reads `2020` and
    `20200101` as Unix timestamps and answers "Datetimes provided to dates should have zero
    time"."""
    if error["type"].startswith("date_"):
        return f"expected a date as YYYY-MM-DD, got {str(error.get('input'))[:40]!r}"
    return error["msg"]


class GuardMiddleware:
    """The API rate limit and every answer's security headers.

    A plain ASGI middleware: Starlette's `@app.middleware("http")` (BaseHTTPMiddleware) runs
    each request through a task group and a memory stream, which cost about a tenth of a cached
    paper page's CPU per layer.
    """

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        # the buckets live in the store: every worker process of `serve` shares them
        self.limiter = RateLimiter(settings.api_rate_limit, settings.db_path)
        self.headers = dict(SECURITY_HEADERS)
        if settings.https:
            self.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in self.headers.items():
                    if key not in headers:  # a route's own value wins
                        headers[key] = value
            await send(message)

        if scope["path"].startswith("/api/"):
            client = scope.get("client")
            wait = self.limiter.check(client[0] if client else "unknown")
            if wait:
                retry = RateLimiter.retry_after(wait)
                response = api_error(429, "too many requests", f"retry in {retry} s")
                response.headers["Retry-After"] = retry
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


class HeadMiddleware:
    """HEAD answered as GET without the body, on every route (HTTP requires it wherever GET
    works; feed readers and link checkers send it). FastAPI's routes list GET only, so HEAD
    was 405 everywhere but /static."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}  # Content-Length stays: the GET's length
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def create_app(settings: WebSettings, site: Site | None = None) -> FastAPI:
    site = site or Site(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = workers.start(site)
        app.state.workers = started
        try:
            yield
        finally:
            for worker in started:
                worker.stop()
            site.close()

    app = FastAPI(
        title="paperscope",
        summary="Search and browse the papers of a paperscope store.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # /docs is our own page (apidocs.py): Swagger UI would load a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.site = site
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _install_errors(app)
    # the last added runs first: who is asking, then the rate limit and headers
    app.add_middleware(GuardMiddleware, settings=settings)
    auth.install(app, site)
    app.add_middleware(LibraryErrorsMiddleware)
    app.add_middleware(HeadMiddleware)  # added last, so it runs first: all below see a GET
    for name in ROUTERS:
        module = importlib.import_module(f"paperscope.serve.web.{name}")
        app.include_router(module.router)
    return app


def create_app_from_env() -> FastAPI:
    return create_app(WebSettings.from_env())
