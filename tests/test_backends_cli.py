"""The commands a user runs, on each backend: import, search, show and stats give the same
answers on a SQLite file and on a PostgreSQL database (`--db postgresql://...`), and a
subprocess finds PostgreSQL through $PAPERSCOPE_DB (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import PAGES
from paperscope.serve.cli import app

runner = CliRunner()
postgres_only = pytest.mark.skipif(
    "postgres" not in __import__("backends").wanted(), reason="PAPERSCOPE_TEST_BACKENDS"
)


def cli(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_import_search_show_stats(db_target):
    pages = sorted(str(p) for p in PAGES.glob("*.txt"))
    cli("import", *pages, "--db", db_target, "--no-embed", "-q")
    found = json.loads(
        cli(
            "search", "hyperspherical energy", "--mode", "lexical", "--db", db_target, "--json"
        ).stdout
    )
    assert found and "Hyperspherical" in found[0]["title"]
    shown = json.loads(cli("show", found[0]["id"], "--db", db_target, "--json").stdout)
    assert shown["title"] == found[0]["title"]
    stats = json.loads(cli("stats", "--db", db_target, "--json").stdout)
    assert stats["papers"] >= len(found) and stats["db_bytes"] > 0
    # importing the same pages again changes nothing
    again = json.loads(cli("import", *pages, "--db", db_target, "--no-embed", "--json").stdout)
    assert sum(f["added"] for f in again) == 0


def test_paperscope_db_selects_the_backend_in_a_subprocess(db_target, tmp_path):
    env = {
        **os.environ,
        "PAPERSCOPE_DB": str(db_target),
        "PAPERSCOPE_INDEX_DIR": str(tmp_path / "ix"),
    }
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PAGES.parent.parent / "src"), env.get("PYTHONPATH", "")) if p
    )
    page = str(sorted(PAGES.glob("*.txt"))[0])
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "paperscope", *a],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    imported = run("import", page, "--no-embed", "--json")
    assert imported.returncode == 0, imported.stderr
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["papers"] == sum(f["added"] for f in json.loads(imported.stdout)) > 0
    assert (tmp_path / "ix" / "lexical").exists()


@postgres_only
def test_a_password_in_the_url_is_never_printed(pg_server, tmp_path, monkeypatch):
    """`stats` printed `db_path` as given and `serve` logged `serving postgresql://user:
    PASSWORD@...`; `doctor`'s `run:` lines pasted it too."""
    from servetools import serving

    url = pg_server.fresh().replace("postgres:@", "postgres:hunter2@")
    assert "hunter2" in url  # pgserver trusts local connections: any password logs in
    monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "ix"))
    page = str(sorted(PAGES.glob("*.txt"))[0])
    cli("import", page, "--db", url, "--no-embed", "-q")
    for args in (["stats"], ["stats", "--json"], ["doctor", "--quick"]):
        result = runner.invoke(app, [*args, "--db", url])
        assert "postgres:***@" in result.output, result.output
        assert "hunter2" not in result.output
    with serving(url) as node:
        pass
    said = node.proc.stderr.read().decode()
    assert "paperscope: serving postgresql://postgres:***@" in said and "hunter2" not in said
    pg_server.drop(url)


@postgres_only
def test_a_user_who_may_not_create_the_extension_is_told_what_to_run(pg_server):
    """docs/postgres.md: pgvector is not a trusted extension, so a store user who is not a
    superuser cannot create it. The first command said only `migration 0018_pgvector failed:
    permission denied to create extension "vector"`."""
    import psycopg

    url = pg_server.fresh(migrated=False)
    name = pg_server.database_name(url)
    role = f"{name}_user"
    with pg_server.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"ALTER DATABASE {name} OWNER TO {role}")
    as_user = url.replace("postgres:@", f"{role}@")
    page = str(sorted(PAGES.glob("*.txt"))[0])
    refused = subprocess.run(
        [sys.executable, "-m", "paperscope", "import", page, "--db", as_user, "--no-embed"],
        env={**os.environ, "PYTHONPATH": str(PAGES.parent.parent / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert 'permission denied to create extension "vector"' in refused.stderr
    assert f"hint: a superuser runs `CREATE EXTENSION vector;` in the database {name}" in (
        refused.stderr
    )
    # as the hint says (the session's server is a superuser's), then the same command works
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    cli("import", page, "--db", as_user, "--no-embed", "-q")
    pg_server.drop(url)


def test_ops_commands_take_the_nodes_index_dir(db_target, tmp_path, monkeypatch):
    """docs/scale.md: `doctor` on a node checks its index folder, the one given to `serve
    --index-dir`; doctor, reindex, restore, embed and neighbours had no --index-dir, so they
    checked or rebuilt the default folder instead."""
    monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "default"))  # restored after
    node, fresh = tmp_path / "node", tmp_path / "fresh"
    page = str(sorted(PAGES.glob("*.txt"))[0])
    cli("import", page, "--db", db_target, "--no-embed", "-q")
    cli("reindex", "--db", db_target, "--index-dir", node, "--json")
    assert (node / "lexical").is_dir() and (node / "vectors").is_dir()

    def lexical(folder):
        result = runner.invoke(
            app, ["doctor", "--quick", "--json", "--db", db_target, "--index-dir", str(folder)]
        )
        return next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "lexical index")

    assert lexical(node)["status"] == "ok"
    missing = lexical(fresh)
    assert missing["status"] == "warn" and f"--index-dir {fresh}" in missing["fix"]
