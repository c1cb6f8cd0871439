"""`paperscope serve`: the web pages and JSON API on uvicorn."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from paperscope.config import resolve_db_path
from paperscope.errors import InputError, PaperscopeError
from paperscope.serve.cli import app
from paperscope.serve.cli.options import DbOption, path_argument
from paperscope.store.backends import shown

#: The levels uvicorn knows (uvicorn.config.LOG_LEVELS), without importing it for --help.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    db: DbOption = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each holds the indexes in memory).")
    ] = 1,
    # Each setting below: the flag when given, else its PAPERSCOPE_* variable, else the
    # default (the variables were overridden by the flags' defaults: PAPERSCOPE_SINGLE_USER=0
    # or PAPERSCOPE_DIGEST_SCHEDULER=1 before `serve` changed nothing).
    multi_user: Annotated[
        bool | None,
        typer.Option(
            "--multi-user/--single-user",
            help="Accounts with log-in (multi-user) or one local user and no log-in "
            "(single-user, the default for a personal install). Env: PAPERSCOPE_SINGLE_USER.",
            show_default=False,
        ),
    ] = None,
    api_rate_limit: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="API requests per client per minute, counted across every worker and "
            "node on the store; 0 = unlimited. Default 120. Env: PAPERSCOPE_API_RATE_LIMIT.",
            show_default=False,
        ),
    ] = None,
    embed_worker: Annotated[
        bool | None,
        typer.Option(
            "--embed-worker/--no-embed-worker",
            help="Embed papers without vectors in the background while serving (the "
            "default). Env: PAPERSCOPE_EMBED_WORKER.",
            show_default=False,
        ),
    ] = None,
    digests: Annotated[
        bool | None,
        typer.Option(
            "--digests/--no-digests",
            help="Send email digests on the schedule of the config (PAPERSCOPE_DIGEST_*); "
            "off by default. Env: PAPERSCOPE_DIGEST_SCHEDULER.",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Public URL of the site, for links in emails and feeds. Env: PAPERSCOPE_BASE_URL.",
            show_default=False,
        ),
    ] = None,
    https: Annotated[
        bool | None,
        typer.Option(
            help="Served behind HTTPS: secure cookies and HSTS. Env: PAPERSCOPE_HTTPS.",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: " + ", ".join(LOG_LEVELS) + ".")
    ] = "info",
    index_dir: Annotated[
        Path | None,
        typer.Option(
            "--index-dir",
            parser=path_argument,
            help="This node's folder of index caches (lexical, vectors), rebuilt and kept in "
            "sync from the store. Default: $PAPERSCOPE_INDEX_DIR, else beside a SQLite file, "
            "else under the data folder for PostgreSQL.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the feed, search, paper, author and category pages and the JSON API.

    Open http://HOST:PORT/ in a browser; the API is documented at /docs.
    """
    import uvicorn

    from paperscope.serve.web.nodelay import PROTOCOL
    from paperscope.serve.web.settings import WebSettings, check_base_url

    if log_level.lower() not in LOG_LEVELS:  # uvicorn took it, then failed with a KeyError
        raise InputError(
            f"unknown log level {log_level!r}", hint="one of: " + ", ".join(LOG_LEVELS)
        )
    if index_dir is not None:
        # read through config.resolve_index_dir here and in uvicorn's worker processes
        os.environ["PAPERSCOPE_INDEX_DIR"] = str(index_dir.expanduser().resolve())
    try:
        env = WebSettings.from_env()
    except ValueError as exc:  # PAPERSCOPE_API_RATE_LIMIT=lots
        raise InputError(f"a PAPERSCOPE_* setting is not a number: {exc}") from None
    settings = replace(
        env,
        db_path=resolve_db_path(db),
        single_user=env.single_user if multi_user is None else not multi_user,
        api_rate_limit=env.api_rate_limit if api_rate_limit is None else api_rate_limit,
        embed_worker=env.embed_worker if embed_worker is None else embed_worker,
        digest_scheduler=env.digest_scheduler if digests is None else digests,
        base_url=env.base_url if base_url is None else base_url.rstrip("/"),
        https=env.https if https is None else https,
    )
    check_base_url(settings.base_url)
    _check_address(host, port)
    # open the store (and build missing indexes) once here, so that errors show before the
    # server starts and worker processes find the indexes ready
    from paperscope.rank.search import SearchEngine
    from paperscope.serve.cli.options import index_progress

    with index_progress() as progress, SearchEngine.open(settings.db_path, progress=progress):
        pass
    os.environ.update(settings.to_env())
    typer.echo(f"paperscope: serving {shown(settings.db_path)} on http://{host}:{port}/", err=True)
    try:
        uvicorn.run(
            "paperscope.serve.web.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=settings.https,
            http=PROTOCOL,
        )
    except SystemExit as exc:
        # uvicorn logs why (an ERROR line: the address is in use, the host cannot be bound)
        # and exits 3 (STARTUP_FAILURE); say so as every command does, with exit code 1
        if exc.code != 3:
            raise
        raise PaperscopeError(
            f"the server could not start on {host}:{port} (uvicorn's ERROR line above says why)",
            hint=PORT_HINT,
        ) from None


PORT_HINT = "is another server on that port? `--port N` picks another"


def _check_address(host: str, port: int) -> None:
    """Fail before the index build (minutes on a large store) and the "serving" line when
    the address cannot be listened on. uvicorn binds it again later; this is a first look,
    and uvicorn's own failure stays handled for a port taken in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # as uvicorn binds: a port left in TIME_WAIT is free, one that listens is not
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PaperscopeError(
            f"the server could not start on {host}:{port}: {reason[:1].lower()}{reason[1:]}",
            hint=PORT_HINT,
        ) from None
