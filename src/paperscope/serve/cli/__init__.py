"""The `paperscope` command: a Typer app whose commands are thin shells over the library.

Each command parses its options, makes one library call and renders the result; errors from
the library (`PaperscopeError`) become ``error: ...`` / ``hint: ...`` and an exit code here.
"""

from __future__ import annotations

import sys

import typer

from paperscope.errors import PaperscopeError
from paperscope.serve.cli.options import report_error

app = typer.Typer(
    name="paperscope",
    help="Self-hosted research-paper discovery: import, harvest, search and browse papers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


def main() -> None:
    try:
        app()
    except PaperscopeError as exc:
        report_error(exc)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None


_register()
