"""What every request handler shares in one server process: settings, the search engine over
the store, and the templates.

Handlers are ``async def`` and call the (synchronous) library directly, so the one SQLite
connection and the indexes of a process are used by one request at a time without locks;
`serve --workers N` runs N processes for parallelism. Never hold a transaction across an
``await``. Background threads (embedding, digests) open stores of their own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from paperscope.rank.search import SearchEngine
from paperscope.serve.web import format as fmt
from paperscope.serve.web import modes
from paperscope.serve.web.settings import WebSettings

HERE = Path(__file__).parent
#: How often (seconds) a request checks whether another process changed the store.
REFRESH_EVERY = 2.0


class Site:
    def __init__(self, settings: WebSettings, engine: SearchEngine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._generation: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,  # every template, whatever its file name
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)
        env.globals.update(fmt.template_globals())
        env.filters.update(fmt.template_filters())
        env.globals["settings"] = settings
        env.globals.update(modes.template_globals())

    @property
    def engine(self) -> SearchEngine:
        """The process's engine; caught up with other writers at most every REFRESH_EVERY s."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = SearchEngine.open(self.settings.db_path)
                    self._generation = self._engine.store.generation()
                    self._checked = time.monotonic()
        now = time.monotonic()
        if now - self._checked > REFRESH_EVERY:
            self._checked = now
            self.refresh()
        return self._engine

    @property
    def store(self):
        return self.engine.store

    def refresh(self, force: bool = False) -> None:
        """Bring the indexes up to date when the store's generation moved."""
        engine = self._engine
        if engine is None:
            return
        generation = engine.store.generation()
        if force or generation != self._generation:
            engine.lexical.ensure()
            self._generation = generation
        if engine._vectors is not None:
            # embedding (the background worker, `paperscope embed`) adds vectors without
            # moving the generation; ensure() compares the embedded count too
            engine._vectors.ensure()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def render(
        self, request: Request, template: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        context = {"request": request, "user": getattr(request.state, "user", None), **context}
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)


def site_of(request: Request) -> Site:
    return request.app.state.site
