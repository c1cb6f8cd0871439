"""Web server settings: from `paperscope serve` options, else PAPERSCOPE_* environment variables.

Uvicorn's worker processes rebuild the app from the environment, so `serve` writes its options
there before it starts them; `WebSettings.from_env()` reads them back.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from paperscope.config import resolve_db_path
from paperscope.errors import InputError


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(slots=True)
class WebSettings:
    #: a SQLite file, or a PostgreSQL URL (config.resolve_db_path)
    db_path: Path | str
    #: Personal install: no login, every page acts as the one local user. Off = accounts.
    single_user: bool = True
    #: API requests per client per minute (0 = unlimited); 429 with Retry-After beyond it.
    api_rate_limit: int = 120
    #: Longest query text accepted (characters); longer queries get a 400.
    max_query_length: int = 500
    #: Largest page of results any page or API call returns.
    max_page_size: int = 100
    #: Results per page unless asked otherwise.
    page_size: int = 20
    #: Set when served behind HTTPS (cookies get the Secure flag, links use https).
    https: bool = False
    #: Public base URL for links in emails and feeds; defaults to the request's own URL.
    base_url: str = ""
    #: Embed papers that lack vectors in a background thread while serving.
    embed_worker: bool = True
    #: Send email digests from a background scheduler while serving.
    digest_scheduler: bool = False

    @classmethod
    def from_env(cls) -> WebSettings:
        env = os.environ.get
        return cls(
            db_path=resolve_db_path(None),
            single_user=_env_bool("PAPERSCOPE_SINGLE_USER", True),
            api_rate_limit=int(env("PAPERSCOPE_API_RATE_LIMIT", "120")),
            max_query_length=int(env("PAPERSCOPE_MAX_QUERY_LENGTH", "500")),
            max_page_size=int(env("PAPERSCOPE_MAX_PAGE_SIZE", "100")),
            page_size=int(env("PAPERSCOPE_PAGE_SIZE", "20")),
            https=_env_bool("PAPERSCOPE_HTTPS", False),
            base_url=env("PAPERSCOPE_BASE_URL", "").rstrip("/"),
            embed_worker=_env_bool("PAPERSCOPE_EMBED_WORKER", True),
            digest_scheduler=_env_bool("PAPERSCOPE_DIGEST_SCHEDULER", False),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env()` return these settings."""
        names = {
            "db_path": "PAPERSCOPE_DB",
            "single_user": "PAPERSCOPE_SINGLE_USER",
            "api_rate_limit": "PAPERSCOPE_API_RATE_LIMIT",
            "max_query_length": "PAPERSCOPE_MAX_QUERY_LENGTH",
            "max_page_size": "PAPERSCOPE_MAX_PAGE_SIZE",
            "page_size": "PAPERSCOPE_PAGE_SIZE",
            "https": "PAPERSCOPE_HTTPS",
            "base_url": "PAPERSCOPE_BASE_URL",
            "embed_worker": "PAPERSCOPE_EMBED_WORKER",
            "digest_scheduler": "PAPERSCOPE_DIGEST_SCHEDULER",
        }
        assert set(names) == {f.name for f in fields(self)}
        out = {}
        for key, value in asdict(self).items():
            out[names[key]] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


def check_base_url(url: str) -> None:
    """InputError unless `url` is empty or an absolute http(s) URL: the links of pages, feeds
    and digests are made from it, and "notaurl" made every one of them broken."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"the base URL {url!r} is not an http:// or https:// address",
            hint="--base-url (or PAPERSCOPE_BASE_URL) is the public address readers open, "
            "such as https://papers.example.org",
        )
