"""`paperscope follow|unfollow|follows` (alerts) and `paperscope digest send|preview`."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.errors import InputError
from paperscope.rank.search import SearchEngine
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import (
    MAX_ID,
    DbOption,
    JsonOption,
    index_progress,
    library_errors,
    open_existing_store,
)
from paperscope.serve.cli.output import console
from paperscope.serve.email import digest as digests
from paperscope.serve.email.config import mail_config_from_env
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import Alerts

digest_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="Email digests: new papers from each user's alerts and recommendations.",
    no_args_is_help=True,
)
app.add_typer(digest_app, name="digest")

UserOption = Annotated[str, typer.Option("--user", "-u", help="The user's email address.")]


@app.command()
def follow(
    user: UserOption,
    author: Annotated[str | None, typer.Option(help="An author's name.")] = None,
    query: Annotated[
        str | None, typer.Option(help="A saved search (the query language of `search`).")
    ] = None,
    category: Annotated[str | None, typer.Option(help="A category code, as in cs.LG.")] = None,
    paper: Annotated[
        str | None, typer.Option(help="A paper id: a seed for recommendations.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Follow an author, a search, a category or a paper: new matches come in the digest.

    Give exactly one of --author, --query, --category and --paper.

    Examples:

    - `paperscope follow --user ada@example.org --author "Juhua Hu"`
    - `paperscope follow -u ada@example.org --query 'ti:diffusion AND cat:cs.CV'`
    - `paperscope follow -u ada@example.org --category cs.LG`
    """
    given = [(k, v) for k, v in (("author", author), ("query", query), ("category", category),
                                 ("paper", paper)) if v is not None]  # fmt: skip
    with library_errors(), open_existing_store(db) as store:
        if len(given) != 1:
            raise InputError(
                "give exactly one of --author, --query, --category, --paper",
                hint='paperscope follow --user you@example.org --author "Ada Lovelace"',
            )
        kind, value = given[0]
        account = Accounts(store).by_email(user)
        follow_id = digests.follow(store, account.id, kind, value)
        [made] = [f for f in Alerts(store).follows(account.id) if f.id == follow_id]
        typer.echo(f"{account.email} follows {made.kind} {made.value!r} (id {made.id})")


@app.command()
def unfollow(
    user: UserOption,
    follow_id: Annotated[
        int, typer.Argument(min=1, max=MAX_ID, help="The id `paperscope follows` shows.")
    ],
    db: DbOption = None,
) -> None:
    """Stop following something."""
    with library_errors(), open_existing_store(db) as store:
        account = Accounts(store).by_email(user)
        Alerts(store).unfollow(account.id, follow_id)
        typer.echo(f"{account.email} no longer follows {follow_id}")


@app.command()
def follows(user: UserOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """What a user follows, and how often they get a digest."""
    with library_errors(), open_existing_store(db) as store:
        account = Accounts(store).by_email(user)
        rows = Alerts(store).follows(account.id)
    if as_json:
        data = [{"id": f.id, "kind": f.kind, "value": f.value, "created_at": f.created_at}
                for f in rows]  # fmt: skip
        typer.echo(orjson.dumps({"user": account.email, "digest": account.digest,
                                 "follows": data}))  # fmt: skip
        return
    if not rows:
        console(stderr=True).print(f"{account.email} follows nothing yet", highlight=False)
        return
    table = Table(  # no box, as every other table: rows are whole lines a pipe can grep
        "id",
        "kind",
        "value",
        "since",
        title=f"{account.email} (digest: {account.digest})",
        box=None,
    )
    for f in rows:
        table.add_row(str(f.id), f.kind, f.value, f.created_at[:10])
    console().print(table, highlight=False)


def _users(store, email: str | None):
    return [Accounts(store).by_email(email)] if email else None


@digest_app.command("send")
def send(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and print; send and record nothing.")
    ] = False,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user.")] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due", help="Apply each user's frequency (daily/weekly), as the scheduler does."
        ),
    ] = False,
    retry_delay: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds before the first in-run retry of a failed send (doubling)."
        ),
    ] = digests.RETRY_DELAY,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="First put digests given up on (after 8 failed attempts) back in the queue: "
            "after fixing the mail settings.",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send each subscribed user the papers that are new for them (none: no email).

    Prints per user how many papers were sent. Needs PAPERSCOPE_SMTP_URL (and
    PAPERSCOPE_MAIL_FROM); links use PAPERSCOPE_BASE_URL. Exit code 1 if a send failed (it is
    retried with backoff by the next run).
    """
    with library_errors(), open_existing_store(db) as store:
        config = None if dry_run else mail_config_from_env()
        chosen = _users(store, user)
        if retry_failed and not dry_run:
            alerts = Alerts(store)
            for account in chosen or [None]:
                alerts.retry_failed(account.id if account else None)
        with index_progress(as_json) as progress:
            engine = SearchEngine(store, progress=progress)
        reports = digests.run(
            engine,
            config=config,
            users=chosen,
            dry_run=dry_run,
            due_only=due,
            retry_delay=retry_delay,
        )
    if as_json:
        typer.echo(orjson.dumps([r.as_json() for r in reports]))
        # in the JSON too, but stderr says why the exit code is 1, as every --json does
        for report in reports:
            if report.status in ("pending", "failed"):
                _print_report(report, dry_run)
    else:
        for report in reports:
            _print_report(report, dry_run)
        if not reports:  # a store without accounts: it printed nothing at all
            typer.echo(
                "no accounts: nobody to send a digest to "
                "(`paperscope users add EMAIL` creates one; docs/digests.md)",
                err=True,
            )
    if any(r.status in ("pending", "failed") for r in reports):
        raise typer.Exit(1)


def _print_report(report: digests.UserReport, dry_run: bool = False) -> None:
    plural = "s" if report.papers != 1 else ""
    if report.status == "sent":
        typer.echo(f"{report.email}: sent {report.papers} paper{plural}")
    elif report.status == "dry run":
        typer.echo(f"{report.email}: would send {report.papers} paper{plural} (dry run)")
        for reason, items in report.composed.groups:
            typer.echo(f"  {reason}")
            for item in items:
                typer.echo(f"    - {item.paper.title} [{item.paper.id}]")
    elif report.status in ("pending", "failed"):
        what = "will retry" if report.status == "pending" else "gave up"
        typer.secho(f"{report.email}: sent 0 papers, not delivered ({what}): {report.error}",
                    err=True, fg="red")  # fmt: skip
        if report.hint:
            typer.echo(f"hint: {report.hint}", err=True)
        if report.status == "failed":
            typer.echo("hint: fix the mail settings, then run `paperscope digest send "
                       "--retry-failed`", err=True)  # fmt: skip
    elif report.status == "no address":
        typer.echo(f"{report.email}: sent 0 papers (no address: the account of single-user mode "
                   "gets no email)")  # fmt: skip
    elif report.status == "waiting" and report.next_attempt_at:
        # an earlier digest failed (or another run is sending it): say when it is tried again
        when = report.next_attempt_at.replace("T", " ").removesuffix("Z")
        why = f"; last attempt: {report.error}" if report.error else ""
        typer.echo(f"{report.email}: sent 0 papers (waiting: retried after {when} UTC{why})")
    else:  # a dry run sends nothing, so it does not say "sent"
        verb = "would send" if dry_run else "sent"
        typer.echo(f"{report.email}: {verb} 0 papers ({report.status})")


@digest_app.command("preview")
def preview(
    user: UserOption,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
    db: DbOption = None,
) -> None:
    """Print the digest a user would get now (plain text), without sending or recording it."""
    with library_errors(), open_existing_store(db) as store:
        account = Accounts(store).by_email(user)
        engine = SearchEngine(store)
        composed = digests.compose(
            engine, account, base=digests.base_url(), mail_from=digests.mail_from_env()
        )
        if composed is None:
            console(stderr=True).print(f"nothing new for {account.email}", highlight=False)
            return
        part = composed.message.get_body(("html",) if html else ("plain",))
        typer.echo(f"Subject: {composed.message['Subject']}\n")
        typer.echo(part.get_content())
