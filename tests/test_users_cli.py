"""`paperscope users add|list|disable|enable|delete` on a real store file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paperscope
from paperscope.serve.cli import app
from paperscope.store.accounts import Accounts
from paperscope.store.sqlite import SQLiteStore

runner = CliRunner()


def cli(db, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["users", *args, "--db", str(db)], input=stdin)


def test_add_list_disable_enable_delete(tmp_path):
    db = tmp_path / "p.db"
    added = cli(db, "add", "ada@example.org", "--password-stdin", "--admin", stdin="s3cret-pass\n")
    assert added.exit_code == 0, added.output
    assert "added administrator ada@example.org" in added.output
    assert (
        cli(db, "add", "bob@example.org", "--password-stdin", stdin="bobs-password\n").exit_code
        == 0
    )
    listed = json.loads(cli(db, "list", "--json").output)
    assert [(u["email"], u["is_admin"], u["disabled"]) for u in listed] == [
        ("ada@example.org", True, False),
        ("bob@example.org", False, False),
    ]
    assert "2 users" in cli(db, "list").output
    with SQLiteStore(db) as store:
        assert Accounts(store).verify("bob@example.org", "bobs-password") is not None
        session = Accounts(store).create_session(Accounts(store).by_email("bob@example.org").id)
    assert cli(db, "disable", "bob@example.org").exit_code == 0
    with SQLiteStore(db) as store:
        accounts = Accounts(store)
        assert accounts.verify("bob@example.org", "bobs-password") is None
        assert accounts.session_user(session) is None  # logged out everywhere
    assert cli(db, "enable", "bob@example.org").exit_code == 0
    with SQLiteStore(db) as store:
        assert Accounts(store).verify("bob@example.org", "bobs-password") is not None
    refused = cli(db, "delete", "bob@example.org", stdin="n\n")
    assert refused.exit_code == 1
    assert cli(db, "delete", "bob@example.org", "--yes").exit_code == 0
    assert [u["email"] for u in json.loads(cli(db, "list", "--json").output)] == ["ada@example.org"]


def test_errors_are_clear(tmp_path):
    db = tmp_path / "p.db"
    bad = cli(db, "add", "not-an-email", "--password-stdin", stdin="s3cret-pass\n")
    assert bad.exit_code == 1 and "not an email address" in bad.output
    # mail to "a@b.org<x>" goes to a@b.org: not an address an account may have
    angled = cli(db, "add", "a@b.org<x>", "--password-stdin", stdin="s3cret-pass\n")
    assert angled.exit_code == 1 and "not an email address" in angled.output
    short = cli(db, "add", "ada@example.org", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    empty = cli(db, "add", "ada@example.org", "--password-stdin", stdin="\n")
    assert empty.exit_code == 1 and "no password" in empty.output
    assert (
        cli(db, "add", "ada@example.org", "--password-stdin", stdin="s3cret-pass\n").exit_code == 0
    )
    dup = cli(db, "add", "ADA@example.org", "--password-stdin", stdin="s3cret-pass\n")
    assert dup.exit_code == 1 and "already exists" in dup.output
    missing = cli(db, "disable", "nobody@example.org")
    assert missing.exit_code == 1 and "no user nobody@example.org" in missing.output


def test_an_account_without_password_gets_one_from_the_admin(tmp_path):
    """Without mail nobody can use the reset link, and the reset page says to ask the person
    running the server, who had no command to set a password."""
    db = tmp_path / "p.db"
    added = cli(db, "add", "ada@example.org", stdin="")
    assert added.exit_code == 0 and "`paperscope users password`" in added.output
    with SQLiteStore(db) as store:
        accounts = Accounts(store)
        session = accounts.create_session(accounts.by_email("ada@example.org").id)
    empty = cli(db, "password", "ada@example.org", "--password-stdin", stdin="\n")
    assert empty.exit_code == 1 and "no password given" in empty.output
    short = cli(db, "password", "ada@example.org", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    done = cli(db, "password", "ADA@example.org", "--password-stdin", stdin="s3cret-pass\n")
    assert done.exit_code == 0, done.output
    with SQLiteStore(db) as store:
        accounts = Accounts(store)
        assert accounts.verify("ada@example.org", "s3cret-pass") is not None
        assert accounts.session_user(session) is None
    missing = cli(db, "password", "bob@example.org", "--password-stdin", stdin="s3cret-pass\n")
    assert missing.exit_code == 1 and "no user bob@example.org" in missing.output


@pytest.mark.parametrize("answer", [None, "n\n", "nope\n"])
def test_delete_not_confirmed_is_an_error_line_and_stdout_stays_empty(tmp_path, answer):
    """Without --yes and no one to answer (a script, cron: end of input), click printed its
    prompt on stdout and a bare "Aborted." on stderr; a "n" exited 1 without a word."""
    db = tmp_path / "p.db"
    added = cli(db, "add", "bob@example.org", "--password-stdin", stdin="bobs-password\n")
    assert added.exit_code == 0
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "users", "delete", "bob@example.org", "--db", str(db)],
        input=answer or "",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(paperscope.__file__).parents[1])},
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[1:] == [
        "error: bob@example.org was not deleted: not confirmed",
        "hint: --yes deletes without asking (for scripts, where no one can answer)",
    ]
    assert [u["email"] for u in json.loads(cli(db, "list", "--json").output)] == ["bob@example.org"]


def test_users_list_and_follows_print_whole_lines_without_box_drawing(tmp_path):
    """They drew Rich's boxes (┃ ┡ │) even into a pipe, unlike every other table: a row was
    not a line `grep` or `cut` could use."""
    db = tmp_path / "p.db"
    added = cli(db, "add", "bob@example.org", "--password-stdin", stdin="bobs-password\n")
    assert added.exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(Path(paperscope.__file__).parents[1])}
    for args in (
        ["users", "list"],
        ["follow", "--user", "bob@example.org", "--category", "cs.LG"],
        ["follows", "--user", "bob@example.org"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "paperscope", *args, "--db", str(db)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert not set(done.stdout) & set("┃┡│━─┏┗└┘"), done.stdout
    listed = done.stdout.splitlines()
    assert listed[-1].split() == ["1", "category", "cs.LG", listed[-1].split()[-1]]
