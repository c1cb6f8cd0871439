"""The `paperscope` command: a Typer app whose commands are thin shells over the library.

Each command parses its options, makes one library call and renders the result; errors from
the library (`PaperscopeError`) become ``error: ...`` / ``hint: ...`` and an exit code here.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import click
import typer
import typer.rich_utils

from paperscope.errors import InputError, PaperscopeError, QueryError, StoreError
from paperscope.serve.cli.options import report_error

#: Help texts are read as Markdown: a docstring's paragraphs are rewrapped to the terminal
#: (Typer's default keeps each source line break, so help broke mid-sentence at 80 columns).
HELP_MARKUP = "markdown"

app = typer.Typer(
    name="paperscope",
    rich_markup_mode=HELP_MARKUP,
    help="Self-hosted research-paper discovery: import, harvest, search and browse papers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _usage_error(exc: click.ClickException) -> None:
    """A usage error (a missing argument, a bad option value) as the command's own errors are
    shown: `error:` and `hint:` lines. Typer draws it in a box 80 columns wide, whose frame
    and folded message a log or a narrower terminal breaks up."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help was the answer
        return
    ctx: click.Context | None = getattr(exc, "ctx", None)
    report_error(InputError(exc.format_message()))
    if ctx is not None:
        usage = ctx.get_usage().removeprefix("Usage: ")
        typer.echo(f"hint: usage: {usage} (`{ctx.command_path} -h` for help)", err=True)


# Typer looks this up when a usage error reaches it (typer.core._main), under CliRunner too.
typer.rich_utils.rich_format_error = _usage_error


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("paperscope")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "unknown (not installed)"
    typer.echo(f"paperscope {release}")
    raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        expose_value=True,
        callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    pass


def _register() -> None:
    from paperscope.serve.cli import (  # noqa: F401
        authors,
        db,
        digest,
        harvest,
        index,
        ingest,
        jobs,
        map,
        ops,
        papers,
        topics,
        users,
        web,
    )


#: SQLite's words for a file whose pages are damaged, as opposed to a mistake in a query
_DAMAGE = ("malformed", "not a database", "disk I/O error")


def check_arguments(args: list[str]) -> None:
    """Every argument must be UTF-8 text, but for the name of a file that exists.

    Python hands on bytes that are not UTF-8 as lone surrogates, which fail later, deep in
    the tokenizer or SQLite, with a traceback. A file's name may hold such bytes on Linux, so
    an argument naming an existing file passes (the importer records it readably)."""
    for number, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if os.path.lexists(arg) or os.path.lexists(arg.partition("=")[2]):
                continue
            raise InputError(
                f"argument {number} is not valid UTF-8: {os.fsencode(arg)!r}",
                hint="paperscope reads its arguments as UTF-8 text; only the name of an "
                "existing file may hold other bytes",
            ) from None


def check_search_dashes(args: list[str]) -> None:
    """A query that starts with '-' (`search '-alphafold protein folding'`) is read as options
    and stopped with "No such option: -a", which names no query and no way out. Such an
    argument (a single '-' then a letter, a quote or a parenthesis, not one of the command's
    short options, or holding a space) is answered with where the query goes instead."""
    if not args or args[0] != "search":
        return
    command = typer.main.get_command(app).commands["search"]  # type: ignore[attr-defined]
    short = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o[1] != "-"}
    short |= {"-h"}
    for arg in args[1:]:
        if arg == "--":
            return
        if len(arg) < 2 or arg[0] != "-" or not (arg[1].isalpha() or arg[1] in "\"'("):
            continue
        if arg[:2] in short and " " not in arg:
            continue
        raise QueryError(  # bad usage: exit 2, as click's own "No such option" was
            f"{arg!r} was read as options, since it starts with '-'",
            hint="a query that starts with '-' goes last, after '--': paperscope search"
            f" [OPTIONS] -- {arg!r}",
        )


def main() -> None:
    try:
        check_arguments(sys.argv[1:])
        check_search_dashes(sys.argv[1:])
        # `python -m paperscope` too: usage lines and hints name the command users type
        app(prog_name="paperscope")
    except SystemExit as exc:
        # typer turns Ctrl-C into exit code 130 without a word; a command that said what
        # it kept (`resumable`) raised its own exit, whose cause is not the KeyboardInterrupt
        if exc.code == 130 and isinstance(
            getattr(exc.__context__, "__cause__", None), KeyboardInterrupt
        ):
            typer.echo("interrupted", err=True)
        raise
    except PaperscopeError as exc:
        report_error(exc)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except sqlite3.DatabaseError as exc:
        if "readonly database" in str(exc):  # opened, but this user may not write it
            report_error(
                StoreError(
                    f"cannot write the store: {exc}",
                    hint="check the owner and permissions of the store file and its folder",
                )
            )
            raise SystemExit(1) from None
        if not any(sign in str(exc) for sign in _DAMAGE):
            raise  # a bug, not the file: keep the traceback
        report_error(
            StoreError(
                f"the store could not be read: {exc}",
                hint="`paperscope doctor` checks it; `paperscope restore BACKUP` replaces it "
                "with a backup",
            )
        )
        raise SystemExit(1) from None
    except PermissionError as exc:  # a file or folder this user may not use: not a bug
        report_error(
            InputError(
                f"permission denied: {exc.filename or exc}",
                hint="check the owner and permissions of that path and its folders",
            )
        )
        raise SystemExit(1) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None


_register()
