"""What every harvester shares: the saved cursor, the page loop and the run summary.

A harvest is a sequence of pages. Each page's papers and deletions are written together with
the cursor that points at the *next* page, in one transaction, so a run that is killed or fails
loses at most the page in flight and a rerun with the same parameters picks up right there.

The cursor lives in the store's ``harvest_state`` table under a key naming the source, the base
URL and every parameter that shapes the result set ("arxiv-oai https://... prefix=arXiv set=cs
from=2024-01-01 until=-"), so two different harvests never share a cursor. Its value is a small
JSON object: ``position`` (source-specific: ``token``, ``start``, ``day``), ``done`` and
``completed_at`` once the last page is in, and the number of pages committed so far.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from paperscope.dates import iso_utc
from paperscope.errors import PaperscopeError
from paperscope.ingest import validate
from paperscope.model import BadRecord, Deletion, Item, Paper
from paperscope.store.sqlite import BatchResult, SQLiteStore


@dataclass(slots=True)
class Page:
    """One response's worth of items and the cursor to save with them."""

    items: list[Item]
    #: Where the next page starts (source-specific keys); saved atomically with the items.
    position: dict[str, Any]
    #: True on the last page: the harvest is complete once this page is committed.
    done: bool = False
    #: For progress output: "page 3", "2026-02-25".
    label: str = ""


@dataclass(slots=True)
class HarvestSummary:
    source: str
    key: str
    pages: int = 0
    added: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0
    requests: int = 0
    rejected: list[BadRecord] = field(default_factory=list)
    #: The saved position this run started from (None: from the beginning).
    resumed_from: dict[str, Any] | None = None
    completed: bool = False
    #: The harvest was already complete and --restart was not given: no request was sent.
    nothing_to_do: bool = False
    completed_at: str | None = None
    last_page: str = ""
    error: str | None = None
    hint: str | None = None

    @property
    def papers(self) -> int:
        return self.added + self.merged + self.unchanged

    def add(self, result: BatchResult) -> None:
        self.added += result.added
        self.merged += result.merged
        self.unchanged += result.unchanged
        self.deleted += result.deleted

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "key": self.key,
            "pages": self.pages,
            "requests": self.requests,
            "added": self.added,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "rejected": len(self.rejected),
            "rejected_records": [{"where": b.where, "message": b.message} for b in self.rejected],
            "resumed_from": self.resumed_from,
            "completed": self.completed,
            "nothing_to_do": self.nothing_to_do,
            "completed_at": self.completed_at,
            "error": self.error,
            "hint": self.hint,
        }


#: Called after every committed page with the summary so far.
HarvestProgress = Callable[[HarvestSummary], None]
#: Yields the pages of a harvest, starting at a saved position (None: the beginning).
PageSource = Callable[[dict[str, Any] | None], Iterator[Page]]


def harvest_key(source: str, base_url: str, params: Mapping[str, object]) -> str:
    """The cursor key: source, base URL and the parameters in a fixed order ('-' when unset)."""
    shown = " ".join(f"{k}={_param(v)}" for k, v in params.items())
    return f"{source} {base_url.rstrip('/')} {shown}".strip()


def _param(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value).replace(" ", "+")


def load_state(store: SQLiteStore, key: str) -> dict[str, Any] | None:
    raw = store.get_cursor(key)
    if not raw:
        return None
    try:
        state = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # not ours or damaged: harvest from the beginning
    return state if isinstance(state, dict) and state else None


def resolve_base_url(explicit: str | None, env_var: str, default: str) -> str:
    """--base-url, else the environment variable, else the public service."""
    return (explicit or os.environ.get(env_var) or default).rstrip("/")


def run_harvest(
    store: SQLiteStore,
    summary: HarvestSummary,
    pages: PageSource,
    *,
    restart: bool = False,
    progress: HarvestProgress | None = None,
    requests: Callable[[], int] = lambda: 0,
) -> HarvestSummary:
    """Drive `pages` from the saved position, committing each page with its cursor.

    Errors a user can act on end the run with `summary.error`/`summary.hint` set; what was
    committed before stays committed.
    """
    key = summary.key
    state = load_state(store, key)
    if state and state.get("done") and not restart:
        summary.nothing_to_do = True
        summary.completed = True
        summary.completed_at = state.get("completed_at")
        return summary
    if restart or not state:
        if state:
            # Forget the old position now, so a restart that fails early does not leave the
            # previous run's "done" (or a stale token) behind.
            store.write_batch([], origin=key, cursor=(key, "{}"))
        state = {}
    position = state.get("position") or None
    summary.resumed_from = position
    pages_before = int(state.get("pages", 0))
    try:
        for page in pages(position):
            _commit(store, summary, page, pages_before)
            summary.requests = requests()
            if progress:
                progress(summary)
    except PaperscopeError as exc:
        summary.error, summary.hint = str(exc), exc.hint
    summary.requests = requests()
    return summary


def _commit(store: SQLiteStore, summary: HarvestSummary, page: Page, pages_before: int) -> None:
    # the same gate as imported files: controls cleaned out, unstorable records rejected
    items = list(validate.checked(page.items))
    papers = [i for i in items if isinstance(i, Paper)]
    deletions = [i.arxiv_id for i in items if isinstance(i, Deletion)]
    # Pages over all runs of this harvest, so a resumed run's progress reads naturally.
    state: dict[str, Any] = {
        "position": page.position,
        "done": page.done,
        "pages": pages_before + summary.pages + 1,
        "updated_at": iso_utc(),
    }
    if page.done:
        state["completed_at"] = state["updated_at"]
    result = store.write_batch(
        papers,
        origin=summary.key,
        deletions=deletions,
        cursor=(summary.key, orjson.dumps(state).decode()),
    )
    summary.add(result)
    summary.rejected.extend(i for i in items if isinstance(i, BadRecord))
    summary.pages += 1
    summary.completed = page.done
    summary.completed_at = state.get("completed_at")
    summary.last_page = page.label
