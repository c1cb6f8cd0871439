"""`paperscope users add|password|list|disable|enable|delete`: the accounts of a multi-user
install."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated

import orjson
import typer
from rich.table import Table

from paperscope.errors import InputError
from paperscope.serve.cli import HELP_MARKUP, app
from paperscope.serve.cli.options import (
    DbOption,
    JsonOption,
    library_errors,
    open_existing_store,
    open_store,
)
from paperscope.serve.cli.output import console
from paperscope.store.accounts import Accounts

users_app = typer.Typer(
    rich_markup_mode=HELP_MARKUP,
    help="Accounts of a multi-user server (`serve` with PAPERSCOPE_SINGLE_USER=0).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

EmailArg = Annotated[str, typer.Argument(help="The account's email address.")]


@contextmanager
def _accounts(db, *, create: bool = False) -> Iterator[Accounts]:
    """Accounts of the store; library errors become `error:`/`hint:` and their exit code.
    Only `users add` creates a missing store: the others find no user in a mistyped one."""
    with library_errors(), (open_store if create else open_existing_store)(db) as store:
        yield Accounts(store)


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        # one line: `printf '%s\n' "$PASSWORD" | paperscope users add ...`
        if sys.stdin is None:
            raise InputError("no standard input to read the password from")
        password = sys.stdin.readline().rstrip("\r\n")
        try:
            password.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 arrive as lone surrogates
            raise InputError("the password on standard input is not valid UTF-8") from None
        return password
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return None


PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


@users_app.command("add")
def add(
    email: EmailArg,
    db: DbOption = None,
    password_stdin: PasswordStdinOption = False,
    admin: Annotated[bool, typer.Option("--admin", help="May moderate submissions.")] = False,
    name: Annotated[str, typer.Option("--name", help="Display name shown to others.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an account.

    Without a password (not on a terminal, no --password-stdin) it can only log in after a
    password reset by email."""
    password = _read_password(password_stdin)
    with _accounts(db, create=True) as accounts:
        if password_stdin and not password:
            raise InputError("no password on standard input")
        user = accounts.add(email, password, display_name=name, is_admin=admin)
    if as_json:
        typer.echo(orjson.dumps(asdict(user)).decode())
    else:
        role = "administrator" if user.is_admin else "user"
        suffix = (
            ""
            if password
            else " (no password yet: the reset link on /reset, or `paperscope users password`)"
        )
        typer.echo(f"added {role} {user.email} (id {user.id}){suffix}")


@users_app.command("password")
def password(
    email: EmailArg,
    db: DbOption = None,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Set an account's password (a server without mail cannot send reset links); its
    sessions end."""
    new = _read_password(password_stdin)
    with _accounts(db) as accounts:
        user = accounts.by_email(email)
        if not new:
            raise InputError(
                "no password given",
                hint="type it on a terminal, or pipe it in with --password-stdin",
            )
        accounts.set_password(user.id, new)
        accounts.end_sessions(user.id)
    typer.echo(f"password of {user.email} set; its sessions are ended")


@users_app.command("list")
def list_users(db: DbOption = None, as_json: JsonOption = False) -> None:
    """All accounts."""
    with _accounts(db) as accounts:
        users = accounts.list()
    if as_json:
        typer.echo(orjson.dumps([asdict(u) for u in users]).decode())
        return
    # no box, as every other table: rows are whole lines a pipe can grep or cut
    table = Table("id", "email", "name", "admin", "status", "digest", "created", box=None)
    for u in users:
        table.add_row(
            str(u.id),
            u.email,
            u.display_name,
            "yes" if u.is_admin else "",
            "disabled" if u.disabled else "active",
            u.digest,
            u.created_at[:10],
        )
    console().print(table)
    typer.echo(f"{len(users)} user{'' if len(users) == 1 else 's'}")


@users_app.command("disable")
def disable(email: EmailArg, db: DbOption = None) -> None:
    """Stop an account from logging in (sessions and API tokens stop working at once)."""
    with _accounts(db) as accounts:
        user = accounts.by_email(email)
        accounts.set_disabled(user.id, True)
        accounts.end_sessions(user.id)
    typer.echo(f"disabled {user.email}")


@users_app.command("enable")
def enable(email: EmailArg, db: DbOption = None) -> None:
    """Let a disabled account log in again."""
    with _accounts(db) as accounts:
        user = accounts.by_email(email)
        accounts.set_disabled(user.id, False)
    typer.echo(f"enabled {user.email}")


def _confirmed(question: str) -> bool:
    """The answer to a yes/no question asked on stderr, so stdout holds only results (click's
    confirm writes part of its prompt there). No answer (end of input, as in a script or
    cron) is no, not click's bare "Aborted."."""
    typer.echo(f"{question} [y/N]: ", err=True, nl=False)
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    if not answer.endswith("\n") or not sys.stdin.isatty():  # the line was not echoed
        typer.echo(err=True)
    return answer.strip().lower() in ("y", "yes")


@users_app.command("delete")
def delete(
    email: EmailArg,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an account with its library, ratings, follows and digests."""
    with _accounts(db) as accounts:
        user = accounts.by_email(email)
        if not yes and not _confirmed(f"Delete {user.email} and all their data for good?"):
            raise InputError(
                f"{user.email} was not deleted: not confirmed",
                hint="--yes deletes without asking (for scripts, where no one can answer)",
            )
        accounts.delete(user.id)
    typer.echo(f"deleted {user.email} and their data")
