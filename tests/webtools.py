"""Helpers for the web tests: sample stores, a live server on 127.0.0.1, a real browser."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from fastapi.testclient import TestClient

from paperscope.config import is_db_url
from paperscope.index.embedding import embed_missing
from paperscope.index.paths import index_dir
from paperscope.ingest.pipeline import import_file
from paperscope.rank.search import SearchEngine
from paperscope.serve.web.app import create_app
from paperscope.serve.web.settings import WebSettings
from paperscope.store.sqlite import SQLiteStore

CHROMIUM = "/usr/bin/chromium"
#: As root, without a sandbox, and without the background connections this closed network
#: refuses (chromium would otherwise retry them many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Playwright's defaults (30 s for actions and navigations, 5 s for `expect`, 30 s to launch)
#: are tight on a loaded two-core CI machine; a test that waits for the right thing loses
#: nothing by waiting longer when the machine is slow.
LAUNCH_TIMEOUT_MS = 120_000
ACTION_TIMEOUT_MS = 60_000


def build_store(path: Path, sources: Sequence[Path]) -> Path:
    with SQLiteStore(path) as store:
        for source in sources:
            import_file(store, source)
        with SearchEngine(store) as engine:
            embed_missing(store, engine.embedder)
            engine.vectors  # noqa: B018 - builds the vector index now, not in a test
    return path


def copy_store(source: Path, target: Path) -> Path:
    with SQLiteStore(source) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)
    if index_dir(source).exists():
        shutil.copytree(index_dir(source), index_dir(target))
    return target


def settings_for(db: Path, **overrides) -> WebSettings:
    """Settings for tests: no background threads unless asked, a generous rate limit."""
    values = {"embed_worker": False, "digest_scheduler": False, "api_rate_limit": 0}
    values.update(overrides)
    return WebSettings(db_path=db if is_db_url(db) else Path(db), **values)


@contextlib.contextmanager
def client_for(db: Path, **overrides) -> Iterator[TestClient]:
    """A TestClient on a fresh app (lifespan run) over the store at `db`."""
    app = create_app(settings_for(db, **overrides))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


@contextlib.contextmanager
def live_server(db: Path, **overrides) -> Iterator[str]:
    """`serve` in a thread on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    app = create_app(settings_for(db, **overrides))
    # bound here and handed to uvicorn: a port only looked up as free could be taken by
    # another process before the server binds it
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


@contextlib.contextmanager
def launch_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, **options):
    """A browser context whose actions, navigations and waits allow ACTION_TIMEOUT_MS."""
    context = browser.new_context(**options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return context


@contextlib.contextmanager
def new_page(browser, width: int = 1280, height: int = 900):
    context = new_context(browser, viewport={"width": width, "height": height})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    assert not dialogs, f"a JavaScript dialog opened: {dialogs}"


class HeldRequests:
    """A page route that holds the requests it is given until `release()`: an answer made
    to come late, as on a slow network, so a test can act while it is on its way.
    `only(request)` picks the requests to hold; the others go on at once."""

    def __init__(self, only=None) -> None:
        self.only = only
        self.held: list = []
        self.seen: list[str] = []
        self.released = False

    def __call__(self, route) -> None:
        if self.only is not None and not self.only(route.request):
            route.continue_()
            return
        self.seen.append(route.request.url)
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def wait(self, page, seconds: float = 30) -> None:
        """Until a request is held (the page handles routes while it waits)."""
        deadline = time.monotonic() + seconds
        while not self.held and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert self.held, "no request was sent"

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()
