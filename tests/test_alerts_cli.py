"""`paperscope follow|unfollow|follows` and `paperscope digest send|preview`, end to end
through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from digesttools import FIRST, add_papers, paper
from mailtools import smtp_server
from paperscope.serve.cli import app
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store

runner = CliRunner()


@pytest.fixture
def db(store_any):
    add_papers(store_any, FIRST)
    with open_store(store_any) as store:
        Accounts(store).add("ada@example.org")
    return store_any


def cli(db, *args, env=None):
    return runner.invoke(app, [*args, "--db", str(db)], env=env)


def test_follow_list_and_unfollow(db):
    result = cli(db, "follow", "--user", "ada@example.org", "--author", "Grace  Hopper")
    assert result.exit_code == 0, result.output
    assert "follows author 'Grace Hopper'" in result.output
    assert cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph").exit_code == 0
    assert cli(db, "follow", "--user", "ada@example.org", "--query", "ti:cats").exit_code == 0
    listed = json.loads(cli(db, "follows", "--user", "ada@example.org", "--json").stdout)
    assert listed["user"] == "ada@example.org" and listed["digest"] == "daily"
    kinds = {(f["kind"], f["value"]) for f in listed["follows"]}
    assert kinds == {("author", "Grace Hopper"), ("category", "quant-ph"), ("query", "ti:cats")}
    table = cli(db, "follows", "--user", "ada@example.org")
    assert "Grace Hopper" in table.stdout and "quant-ph" in table.stdout
    author_id = next(f["id"] for f in listed["follows"] if f["kind"] == "author")
    assert cli(db, "unfollow", "--user", "ada@example.org", str(author_id)).exit_code == 0
    again = json.loads(cli(db, "follows", "--user", "ada@example.org", "--json").stdout)
    assert len(again["follows"]) == 2
    missing = cli(db, "unfollow", "--user", "ada@example.org", str(author_id))
    assert missing.exit_code == 1 and "no follow" in missing.output


def test_following_the_same_category_or_author_in_another_case_is_one_follow(db):
    """A category "CS.cv" matches cs.CV's papers (case-insensitively) but was a second follow."""
    for args in (("--category", "quant-ph"), ("--category", "Quant-PH"),
                 ("--author", "Grace Hopper"), ("--author", "grace hopper")):  # fmt: skip
        result = cli(db, "follow", "--user", "ada@example.org", *args)
        assert result.exit_code == 0, result.output
    assert "follows author 'Grace Hopper'" in result.output
    listed = json.loads(cli(db, "follows", "--user", "ada@example.org", "--json").stdout)
    kinds = sorted((f["kind"], f["value"]) for f in listed["follows"])
    assert kinds == [("author", "Grace Hopper"), ("category", "quant-ph")]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "exactly one of"),
        (("--author", "A B", "--category", "cs.LG"), "exactly one of"),
        (("--query", "ti:(unclosed"), "error:"),
        (("--category", "not a code"), "not a category code"),
        (("--paper", "2612.99999"), "no paper"),
    ],
)
def test_follow_refuses_bad_input(db, args, words):
    result = cli(db, "follow", "--user", "ada@example.org", *args)
    assert result.exit_code != 0 and words in result.output


def test_unknown_user(db):
    result = cli(db, "follow", "--user", "nobody@example.org", "--author", "X Y")
    assert result.exit_code == 1 and "no user nobody@example.org" in result.output


def test_digest_send_prints_per_user_and_a_second_run_sends_nothing(db):
    cli(db, "follow", "--user", "ada@example.org", "--author", "Grace Hopper")
    with open_store(db) as store:
        Accounts(store).add("idle@example.org")
    with smtp_server() as server:
        env = {"PAPERSCOPE_SMTP_URL": server.url, "PAPERSCOPE_MAIL_FROM": "d@example.org",
               "PAPERSCOPE_BASE_URL": "http://papers.test:8000"}  # fmt: skip
        dry = cli(db, "digest", "send", "--dry-run", env=env)
        assert dry.exit_code == 0, dry.output
        assert "ada@example.org: would send 2 papers (dry run)" in dry.stdout
        assert "idle@example.org: would send 0 papers (nothing new)" in dry.stdout
        assert "Compilers for everyone" in dry.stdout and server.messages == []
        first = cli(db, "digest", "send", env=env)
        assert first.exit_code == 0, first.output
        assert "ada@example.org: sent 2 papers" in first.stdout
        assert "idle@example.org: sent 0 papers (nothing new)" in first.stdout
        assert len(server.messages) == 1
        assert "http://papers.test:8000/unsubscribe/" in server.messages[0]["List-Unsubscribe"]
        second = cli(db, "digest", "send", "--json", env=env)
        assert second.exit_code == 0
        assert {r["email"]: r["papers"] for r in json.loads(second.stdout)} == {
            "ada@example.org": 0,
            "idle@example.org": 0,
        }
        assert len(server.messages) == 1
        add_papers(db, [paper(9, "Hopper again", ["Grace Hopper"], ["cs.PL"], "2026-12-02")])
        third = cli(db, "digest", "send", "--user", "ada@example.org", env=env)
        assert third.stdout.strip() == "ada@example.org: sent 1 paper"
    assert len(server.messages) == 2


def test_digest_send_reports_a_failure_and_the_next_run_delivers(db):
    cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph")
    with smtp_server(["554 5.7.1 not now"] * 3) as server:
        env = {"PAPERSCOPE_SMTP_URL": server.url}
        failed = cli(db, "digest", "send", "--retry-delay", "0", env=env)
        assert failed.exit_code == 1
        assert "not delivered (will retry)" in failed.output and "554" in failed.output
        assert server.messages == [] and server.attempts == 3  # tried three times in the run
    with open_store(db) as store:  # make the backoff over now rather than wait for it
        store.conn.execute("UPDATE digests SET next_attempt_at = NULL")
    with smtp_server() as server:
        ok = cli(db, "digest", "send", env={"PAPERSCOPE_SMTP_URL": server.url})
    assert ok.exit_code == 0 and "ada@example.org: sent 2 papers" in ok.stdout
    assert len(server.messages) == 1


def test_a_waiting_digest_says_when_and_why_and_a_given_up_one_can_be_queued_again(db):
    """After fixing the mail settings the admin saw "(waiting)", with no time nor reason, and a
    digest given up on could only be queued again from Python (Alerts.retry_failed)."""
    cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph")
    with smtp_server(["451 4.3.0 mailbox busy"] * 3) as server:
        env = {"PAPERSCOPE_SMTP_URL": server.url}
        assert cli(db, "digest", "send", "--retry-delay", "0", env=env).exit_code == 1
        waiting = cli(db, "digest", "send", env=env)
        assert waiting.exit_code == 0 and server.messages == []
        line = waiting.stdout.strip()
        assert line.startswith("ada@example.org: sent 0 papers (waiting: retried after 20")
        assert "UTC; last attempt: " in line and "451 4.3.0 mailbox busy" in line
        [report] = json.loads(cli(db, "digest", "send", "--json", env=env).stdout)
        assert report["status"] == "waiting" and report["next_attempt_at"].endswith("Z")
    with open_store(db) as store:  # as after 8 failed attempts
        store.conn.execute("UPDATE digests SET status = 'failed', next_attempt_at = NULL")
    with smtp_server() as server:
        env = {"PAPERSCOPE_SMTP_URL": server.url}
        retried = cli(db, "digest", "send", "--retry-failed", env=env)
        assert retried.exit_code == 0 and "ada@example.org: sent 2 papers" in retried.stdout
        assert len(server.messages) == 1


def test_a_failed_delivery_says_what_to_check(db):
    """The mail error's hint (which setting to check) was dropped: only the error was shown."""
    cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph")
    with socket.socket() as closed:  # a port nothing listens on: the mail server is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {"PAPERSCOPE_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    failed = cli(db, "digest", "send", "--retry-delay", "0", env=env)
    assert failed.exit_code == 1
    assert f"cannot send through SMTP server 127.0.0.1:{port}" in failed.output
    assert "hint: is the server running, and PAPERSCOPE_SMTP_URL right?" in failed.output


def test_a_failed_delivery_with_json_says_so_on_stderr_too(db):
    """With --json a failed send was only inside the JSON: exit code 1 and no word on stderr
    saying which user's digest failed, nor what to check."""
    from test_cli import run_cli

    cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph")
    with socket.socket() as closed:  # a port nothing listens on: the mail server is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    failed = run_cli(
        "digest", "send", "--retry-delay", "0", "--json", "--db", str(db),
        PAPERSCOPE_SMTP_URL=f"smtp://127.0.0.1:{port}",
    )  # fmt: skip
    assert failed.returncode == 1
    [report] = json.loads(failed.stdout)
    assert report["status"] == "pending"
    assert (
        f"ada@example.org: sent 0 papers, not delivered (will retry): {report['error']}"
        in failed.stderr.splitlines()
    )
    assert "hint: is the server running, and PAPERSCOPE_SMTP_URL right?" in failed.stderr


def test_the_single_user_account_is_not_mailed(db):
    """local@localhost (single-user mode's account, "never gets mail") was sent digests: a real
    relay refuses it, so every run failed and retried, exit code 1."""
    with open_store(db) as store:
        Accounts(store).local_user()
    cli(db, "follow", "--user", "local@localhost", "--category", "quant-ph")
    cli(db, "follow", "--user", "ada@example.org", "--category", "quant-ph")
    with smtp_server() as server:
        sent = cli(db, "digest", "send", env={"PAPERSCOPE_SMTP_URL": server.url})
    assert sent.exit_code == 0, sent.output
    assert "local@localhost: sent 0 papers (no address" in sent.stdout
    assert [rcpts for _, rcpts in server.envelopes] == [["ada@example.org"]]


def test_digest_send_without_smtp_settings(db):
    result = cli(db, "digest", "send", env={"PAPERSCOPE_SMTP_URL": ""})
    assert result.exit_code == 1
    assert "no SMTP server configured" in result.output and "PAPERSCOPE_SMTP_URL" in result.output


def test_digest_preview(db):
    cli(db, "follow", "--user", "ada@example.org", "--author", "Grace Hopper")
    result = cli(db, "digest", "preview", "--user", "ada@example.org")
    assert result.exit_code == 0
    assert "Subject: paperscope: 2 new papers for you" in result.stdout
    assert "By Grace Hopper" in result.stdout
    html = cli(db, "digest", "preview", "--user", "ada@example.org", "--html")
    assert "<h2>By Grace Hopper</h2>" in html.stdout


def test_digest_send_on_a_store_without_accounts_says_so(store_any):
    """With no account at all, `digest send` printed nothing and exited 0: no way to tell a
    store without readers from a run that sent nothing new."""
    add_papers(store_any, FIRST)
    with smtp_server() as server:
        env = {"PAPERSCOPE_SMTP_URL": server.url, "PAPERSCOPE_MAIL_FROM": "d@example.org"}
        done = cli(store_any, "digest", "send", env=env)
        assert done.exit_code == 0 and done.stdout == "" and server.messages == []
        assert done.stderr.startswith("no accounts: nobody to send a digest to")
        assert "paperscope users add EMAIL" in done.stderr
        assert json.loads(cli(store_any, "digest", "send", "--json", env=env).stdout) == []
