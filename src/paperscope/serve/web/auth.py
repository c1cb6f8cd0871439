"""Who is asking: sets ``request.state.user`` for every request (being written)."""

from __future__ import annotations

from fastapi import FastAPI, Request


def install(app: FastAPI, site) -> None:
    @app.middleware("http")
    async def identify(request: Request, call_next):
        request.state.user = None
        return await call_next(request)
