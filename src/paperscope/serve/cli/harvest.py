"""`paperscope harvest arxiv|arxiv-oai|arxiv-api|hf`: live, resumable harvests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.errors import InputError
from paperscope.ingest.harvesters import arxiv_api, arxiv_oai, hf_daily
from paperscope.ingest.harvesters.http import RetryPolicy, make_client
from paperscope.ingest.harvesters.state import HarvestSummary
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import DbOption, JsonOption, open_store
from paperscope.serve.cli.output import console, styled

harvest_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    name="harvest",
    help="Fetch papers from arXiv or Hugging Face into the store; interrupted runs resume.",
    no_args_is_help=True,
)
app.add_typer(harvest_app, name="harvest")

#: Rejected records listed before "... and N more" (all of them with --json).
SHOWN_REJECTS = 10

# -------------------------------------------------------------------- shared options

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No per-page progress.")]
RestartOption = Annotated[
    bool,
    typer.Option(
        "--restart", help="Forget the saved position (and completion) and start from the top."
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Service URL (default: the public service, or the PAPERSCOPE_*_URL variable).",
        show_default=False,
    ),
]
#: The longest wait a harvest option takes (an hour): `inf` overflowed the clock.
MAX_SECONDS = 3600.0
IntervalOption = Annotated[
    float | None,
    typer.Option(
        "--interval",
        min=0.0,
        max=MAX_SECONDS,
        help="Seconds between requests (default: 3 for arXiv, 1 for Hugging Face).",
        show_default=False,
    ),
]
RetriesOption = Annotated[
    int, typer.Option("--retries", min=0, help="Retries on 429, 5xx and connection errors.")
]
BackoffOption = Annotated[
    float,
    typer.Option(
        "--backoff",
        min=0.0,
        max=MAX_SECONDS,
        help="First retry delay in seconds; doubles each retry.",
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, max=MAX_SECONDS, help="Seconds per request.")
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="First day, YYYY-MM-DD.", show_default=False)
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Last day, YYYY-MM-DD.", show_default=False)
]
SetOption = Annotated[
    str | None,
    typer.Option("--set", help="OAI set, e.g. cs, math, physics:hep-ex.", show_default=False),
]
PrefixOption = Annotated[
    str, typer.Option("--prefix", help="OAI metadata format: arXiv, arXivRaw or oai_dc.")
]
QueryOption = Annotated[
    str | None,
    typer.Option(
        "--query", help='arXiv search_query, e.g. "cat:cs.LG AND ti:diffusion".', show_default=False
    ),
]
IdListOption = Annotated[
    list[str] | None,
    typer.Option("--id-list", help="arXiv ids, comma-separated or repeated.", show_default=False),
]
MaxOption = Annotated[int, typer.Option("--max", min=1, help="Stop after this many papers.")]
PageSizeOption = Annotated[int, typer.Option("--page-size", min=1, help="Papers per request.")]
SortOption = Annotated[
    str, typer.Option("--sort", help="submittedDate, lastUpdatedDate or relevance (--query).")
]


class _Run:
    """What every harvest command does around the library call: store, client, output."""

    def __init__(
        self, *, db: Path | None, as_json: bool, quiet: bool, retries: int, backoff: float
    ) -> None:
        self.db = db
        self.as_json = as_json
        self.err = console(stderr=True, highlight=False, soft_wrap=True)
        self.chatty = not (quiet or as_json)
        self.policy = RetryPolicy(retries=retries, backoff=backoff)

    def progress(self, summary: HarvestSummary) -> None:
        if self.chatty:
            self.err.print(
                f"{summary.source} {summary.last_page}: {summary.papers} papers so far "
                f"({summary.added} added, {summary.merged} merged, {summary.deleted} deleted)"
            )

    def on_retry(self, problem: str, delay: float, attempt: int, attempts: int) -> None:
        if self.chatty:
            self.err.print(
                styled(
                    ("retry", "yellow"),
                    f" {problem}; waiting {delay:.1f} s (attempt {attempt + 1} of {attempts})",
                )
            )

    def __call__(self, harvest: Callable[..., HarvestSummary], timeout: float) -> None:
        with open_store(self.db) as store, make_client(timeout) as client:
            try:
                summary = harvest(
                    store,
                    client,
                    policy=self.policy,
                    progress=self.progress,
                    on_retry=self.on_retry,
                )
            except KeyboardInterrupt:
                self.err.print(
                    "interrupted: the pages committed so far are kept; "
                    "run the same command again to resume"
                )
                raise typer.Exit(130) from None
        self.render(summary)
        if summary.error:
            raise typer.Exit(1)

    def render(self, s: HarvestSummary) -> None:
        if self.as_json:
            typer.echo(orjson.dumps(s.as_dict(), option=orjson.OPT_INDENT_2))
        elif s.nothing_to_do:
            self.err.print(
                f"{s.source}: already complete (at {s.completed_at}); nothing to do. "
                "--restart harvests again"
                + (", --from a later day fetches what changed since" if "oai" in s.source else "")
            )
        elif s.pages or not s.error:
            table = Table("source", "pages", "added", "merged", "unchanged", "deleted", box=None)
            table.add_column("rejected")
            table.add_column("status")
            table.add_row(
                s.source,
                *(str(v) for v in (s.pages, s.added, s.merged, s.unchanged, s.deleted)),
                str(len(s.rejected)),
                _status(s),
            )
            console().print(table)
        if not self.as_json:
            self._print_problems(s)
        elif s.error:
            # the JSON carries it too, but a script that checks only the exit code and a
            # person reading a log see why on stderr, as with every other command's --json
            self._print_error(s)

    def _print_problems(self, s: HarvestSummary) -> None:
        for bad in s.rejected[:SHOWN_REJECTS]:
            self.err.print(styled(("rejected", "yellow"), f" {bad.where}: {bad.message}"))
        if len(s.rejected) > SHOWN_REJECTS:
            more = len(s.rejected) - SHOWN_REJECTS
            self.err.print(
                styled(("rejected", "yellow"), f" ... and {more} more (--json lists all)")
            )
        if s.error:
            self._print_error(s)

    def _print_error(self, s: HarvestSummary) -> None:
        self.err.print(styled(("error:", "red"), f" {s.error}"))
        if s.hint:
            self.err.print(f"hint: {s.hint}")


def _status(s: HarvestSummary) -> str:
    if s.completed:
        return "complete"
    if s.error:
        return "stopped; rerun to resume" if s.pages else "failed"
    return "up to date (today is not final)"


# -------------------------------------------------------------------- commands


@harvest_app.command("arxiv")
def arxiv(
    db: DbOption = None,
    set_: SetOption = None,
    from_date: FromOption = None,
    until: UntilOption = None,
    prefix: PrefixOption = "arXiv",
    api: Annotated[
        bool, typer.Option("--api", help="Use the search API instead of OAI-PMH.")
    ] = False,
    query: QueryOption = None,
    id_list: IdListOption = None,
    max_papers: MaxOption = arxiv_api.DEFAULT_MAX,
    page_size: PageSizeOption = arxiv_api.DEFAULT_PAGE_SIZE,
    sort: SortOption = "submittedDate",
    restart: RestartOption = False,
    base_url: BaseUrlOption = None,
    interval: IntervalOption = None,
    retries: RetriesOption = 5,
    backoff: BackoffOption = 2.0,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Harvest arXiv: OAI-PMH by default, or the search API with --api, --query or --id-list.

    OAI-PMH takes --set/--from/--until/--prefix; the search API --query and/or --id-list
    (either alone implies --api).

    Each page is committed with its cursor; run the same command again to resume an
    interrupted harvest. A completed one is not repeated unless --restart is given.

    Examples:

    - `paperscope harvest arxiv --set cs --from 2026-02-01 --until 2026-02-07`
    - `paperscope harvest arxiv --query 'cat:cs.LG AND ti:diffusion' --max 200`
    - `paperscope harvest arxiv --id-list 2602.16872,2509.90001`
    """
    run = _Run(db=db, as_json=as_json, quiet=quiet, retries=retries, backoff=backoff)
    # given but empty (`--query "$Q"` with Q unset) still means the API, which says there is
    # nothing to ask; read as absent it started a harvest of all of arXiv over OAI-PMH
    if api or query is not None or id_list is not None:
        if set_ or from_date or until or prefix != "arXiv":
            raise InputError(
                "--set, --from, --until and --prefix are OAI-PMH options",
                hint="express dates and categories in --query, e.g. "
                '"cat:cs.LG AND submittedDate:[202401010000 TO 202401312359]"',
            )
        _run_api(
            run, query, id_list, max_papers, page_size, sort, restart, base_url, interval, timeout
        )
    else:
        _run_oai(run, set_, from_date, until, prefix, restart, base_url, interval, timeout)


@harvest_app.command("arxiv-oai")
def arxiv_oai_command(
    db: DbOption = None,
    set_: SetOption = None,
    from_date: FromOption = None,
    until: UntilOption = None,
    prefix: PrefixOption = "arXiv",
    restart: RestartOption = False,
    base_url: BaseUrlOption = None,
    interval: IntervalOption = None,
    retries: RetriesOption = 5,
    backoff: BackoffOption = 2.0,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Harvest arXiv metadata over OAI-PMH (ListRecords), resumable by resumptionToken."""
    run = _Run(db=db, as_json=as_json, quiet=quiet, retries=retries, backoff=backoff)
    _run_oai(run, set_, from_date, until, prefix, restart, base_url, interval, timeout)


@harvest_app.command("arxiv-api")
def arxiv_api_command(
    db: DbOption = None,
    query: QueryOption = None,
    id_list: IdListOption = None,
    max_papers: MaxOption = arxiv_api.DEFAULT_MAX,
    page_size: PageSizeOption = arxiv_api.DEFAULT_PAGE_SIZE,
    sort: SortOption = "submittedDate",
    restart: RestartOption = False,
    base_url: BaseUrlOption = None,
    interval: IntervalOption = None,
    retries: RetriesOption = 5,
    backoff: BackoffOption = 2.0,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Harvest the results of an arXiv API query (--query) or id list (--id-list)."""
    run = _Run(db=db, as_json=as_json, quiet=quiet, retries=retries, backoff=backoff)
    _run_api(run, query, id_list, max_papers, page_size, sort, restart, base_url, interval, timeout)


@harvest_app.command("hf")
def hf(
    db: DbOption = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="One day, YYYY-MM-DD (default: today, UTC).", show_default=False
        ),
    ] = None,
    from_date: FromOption = None,
    until: UntilOption = None,
    restart: RestartOption = False,
    base_url: BaseUrlOption = None,
    interval: IntervalOption = None,
    retries: RetriesOption = 5,
    backoff: BackoffOption = 2.0,
    timeout: TimeoutOption = 60.0,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Harvest Hugging Face daily papers for --date, or each day from --from to --until.

    One request per day; the cursor is the last completed day, so a rerun continues from the
    next one. Today is fetched but not final, so a rerun fetches it again.
    """
    if day is not None:
        hf_daily.parse_day("--date", day)  # checked here to be named: it is passed as --from
    if day and (from_date or until):
        raise InputError("--date is one day; use either --date or --from/--until")
    params = hf_daily.HfParams(from_day=day or from_date, until=day or until)
    run = _Run(db=db, as_json=as_json, quiet=quiet, retries=retries, backoff=backoff)
    _harvest(
        run,
        hf_daily.harvest_hf_daily,
        params,
        hf_daily.DEFAULT_INTERVAL,
        base_url=base_url,
        interval=interval,
        restart=restart,
        timeout=timeout,
    )


def _run_oai(
    run: _Run,
    set_: str | None,
    from_date: str | None,
    until: str | None,
    prefix: str,
    restart: bool,
    base_url: str | None,
    interval: float | None,
    timeout: float,
) -> None:
    params = arxiv_oai.OaiParams(prefix=prefix, set=set_, from_date=from_date, until=until)
    _harvest(
        run,
        arxiv_oai.harvest_arxiv_oai,
        params,
        arxiv_oai.DEFAULT_INTERVAL,
        base_url=base_url,
        interval=interval,
        restart=restart,
        timeout=timeout,
    )


def _run_api(
    run: _Run,
    query: str | None,
    id_list: list[str] | None,
    max_papers: int,
    page_size: int,
    sort: str,
    restart: bool,
    base_url: str | None,
    interval: float | None,
    timeout: float,
) -> None:
    params = arxiv_api.ApiParams(
        # blanks alone ask nothing, as an empty query: they were sent to the API as they were
        query=query.strip() if query is not None else None,
        id_list=arxiv_api.split_id_list(id_list or []),
        max_papers=max_papers,
        page_size=page_size,
        sort=sort,
    )
    _harvest(
        run,
        arxiv_api.harvest_arxiv_api,
        params,
        arxiv_api.DEFAULT_INTERVAL,
        base_url=base_url,
        interval=interval,
        restart=restart,
        timeout=timeout,
    )


def _harvest(
    run: _Run,
    harvest: Callable[..., object],
    params: object,
    default_interval: float,
    *,
    base_url: str | None,
    interval: float | None,
    restart: bool,
    timeout: float,
) -> None:
    """Run one source's harvest function with the options every source shares."""
    run(
        lambda store, client, **kw: harvest(
            store,
            client,
            params,
            base_url=base_url,
            interval=default_interval if interval is None else interval,
            restart=restart,
            **kw,
        ),
        timeout,
    )
