"""Square brackets in data, file names and queries are printed as written: the terminal
library's markup (`[bold]`, `[/x]`, `[link=...]`) is never read from them. Before, a title or
file name holding `[/x]` crashed the command with a traceback and `[a b]` vanished."""

from __future__ import annotations

import json

import pytest
from rich.text import Text
from typer.testing import CliRunner

from paperscope.model import Author, Paper
from paperscope.serve.cli import app
from paperscope.serve.cli.harvest import _Run
from paperscope.serve.cli.output import console
from paperscope.store.sqlite import SQLiteStore

TITLE = "Learning [mask] tokens with [/x] closing tags and [link=http://example.com]links[/link]"
JOURNAL = "Journal of [bold]Odd[/bold] Titles"
BIB = f"""@article{{mask2020,
  title = {{{TITLE}}},
  author = {{Doe, Jane and Roe, Richard}},
  journal = {{{JOURNAL}}},
  year = {{2020}},
  abstract = {{We study [a b] brackets in [/] titles and [mask] tokens in zzbracketword text.}}
}}
"""

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def store(tmp_path):
    (tmp_path / "[").mkdir()  # so that the path holds "[/x]"
    source = tmp_path / "[" / "x] odd [name].bib"
    source.write_text(BIB)
    db = str(tmp_path / "p.db")
    done = cli("import", str(source), "--db", db, "--no-embed")
    assert done.exit_code == 0, done.output
    assert "[/x] odd [name].bib" in done.output
    return db


def test_import_prints_a_file_name_with_brackets(store):
    assert json.loads(cli("stats", "--db", store, "--json").stdout)["papers"] == 1


def test_search_prints_titles_and_queries_with_brackets_as_written(store):
    found = cli("search", "zzbracketword", "--db", store, "--mode", "lexical")
    assert found.exit_code == 0
    assert TITLE in found.stdout
    missed = cli("search", "qqqnothing [a b] [/x]", "--db", store, "--mode", "lexical")
    assert missed.exit_code == 0
    assert "no papers match 'qqqnothing [a b] [/x]'" in missed.output


def test_show_prints_the_title_and_journal_as_written(store):
    hit = json.loads(cli("search", "zzbracketword", "--db", store, "--json").stdout)[0]
    shown = cli("show", hit["id"], "--db", store)
    assert shown.exit_code == 0
    assert TITLE in shown.stdout
    assert JOURNAL in shown.stdout


def test_harvest_messages_keep_their_brackets(capsys):
    run = _Run(db=None, as_json=False, quiet=False, retries=0, backoff=0)
    run.on_retry("HTTP 503 from [/x] mirror", 1.0, 0, 3)
    assert "retry HTTP 503 from [/x] mirror; waiting 1.0 s" in capsys.readouterr().err


def test_the_console_reads_no_markup_unless_asked(capsys):
    console().print("a [/x] b [bold]c[/bold]")
    console().print(Text("d [e]", style="bold"))
    assert capsys.readouterr().out.splitlines() == ["a [/x] b [bold]c[/bold]", "d [e]"]


def test_text_stored_with_terminal_controls_reaches_no_terminal(tmp_path):
    """A store written before importers cleaned controls out still prints clean text."""
    db = tmp_path / "old.db"
    with SQLiteStore(db) as store:
        paper = Paper(
            title="Old \x1b[2Jtitle \u202eevil",
            abstract="zzcontrolword \x1b]0;owned\x07 text",
            authors=[Author("Eve \x1b[31mRed")],
            arxiv_id="2401.00010",
        )
        store.write_batch([paper], origin="old-import")
    shown = cli("show", "2401.00010", "--db", str(db))
    found = cli("search", "zzcontrolword", "--db", str(db), "--mode", "lexical")
    for output in (shown.stdout, found.stdout):
        assert "\x1b" not in output and "\u202e" not in output and "\x07" not in output
    assert "Old title evil" in shown.stdout and "Eve Red" in shown.stdout
