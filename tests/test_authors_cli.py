"""`paperscope authors show|list|merge|split` as a user runs them, on a real store."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, FORMATS, PAGES
from paperscope.serve.cli import app

runner = CliRunner()
FILES = [*sorted(str(p) for p in PAGES.glob("*.txt")), str(FIXTURES / "authors")]


def cli(*args: str):
    return runner.invoke(app, list(args))


def ok(*args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def show(db: str, who: str) -> dict:
    return json.loads(ok("authors", "show", who, "--db", db, "--json"))


def exit_code_of(*argv: str) -> int:
    """The exit code `paperscope` itself gives (errors become `error:` lines there)."""
    from paperscope.serve.cli import main

    sys.argv = ["paperscope", *argv]
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "papers.db")
    ok("import", *FILES, "--db", path, "--no-embed", "-q")
    return path


def test_show_by_slug_and_by_any_spelling(db):
    data = show(db, "juhua-hu")
    assert data["slug"] == "juhua-hu" and data["name"] == "Juhua Hu"
    assert len(data["papers"]) == 24
    assert {v["name"] for v in data["variants"]} == {"Juhua Hu", "J. Hu", "Hu J"}
    assert data["coauthors"][0]["slug"] == "qi-qian" and data["coauthors"][0]["shared"] >= 14
    assert sum(data["per_year"].values()) == 24
    dates = [p["date"] for p in data["papers"]]
    assert dates == sorted(dates, reverse=True)
    assert show(db, "Hu, Juhua")["slug"] == "juhua-hu"
    lin = show(db, "Rongmei Lin")
    assert len(lin["papers"]) == 12
    text = ok("authors", "show", "rongmei-lin", "--db", db)
    assert "Rongmei Lin (rongmei-lin)" in text and "Weiyang Liu" in text


def test_ambiguous_and_unknown_names_are_errors(db, capsys):
    # "J. Hu" is a spelling of Juhua Hu and of a hep-ph author
    assert exit_code_of("authors", "show", "J. Hu", "--db", db) == 1
    err = capsys.readouterr().err
    assert "juhua-hu" in err and "hint:" in err
    assert exit_code_of("authors", "show", "Nobody Atall", "--db", db) == 1
    assert "no author" in capsys.readouterr().err


def test_rebuild(db):
    data = json.loads(ok("authors", "rebuild", "--db", db, "--json"))
    top = json.loads(ok("authors", "list", "--db", db, "--json", "--limit", "1000"))
    assert data["people"] == len(top) > 50  # fewer than 1000 here


def test_list(db):
    top = json.loads(ok("authors", "list", "--db", db, "--json", "--limit", "3"))
    assert [a["slug"] for a in top] == ["juhua-hu", "qi-qian", "rongmei-lin"]
    hus = json.loads(ok("authors", "list", "--name", "Hu", "--db", db, "--json"))
    assert {"juhua-hu", "jian-hu"} <= {a["slug"] for a in hus}
    assert "juhua-hu" in ok("authors", "list", "--db", db)


def test_merge_then_reimport_stays_merged(db):
    hep = [
        a["slug"]
        for a in json.loads(ok("authors", "list", "--name", "J. Hu", "--db", db, "--json"))
    ]
    hep = [s for s in hep if s not in ("juhua-hu", "jian-hu")]
    assert len(hep) == 1
    assert ok("authors", "merge", "juhua-hu", hep[0], "--db", db).strip() == "juhua-hu"
    assert show(db, hep[0])["slug"] == "juhua-hu"
    ok("import", *FILES, "--db", db, "--no-embed", "-q")
    ok("import", str(FORMATS / "kaggle-snapshot"), "--db", db, "--no-embed", "-q")
    data = show(db, hep[0])
    assert data["slug"] == "juhua-hu" and len(data["papers"]) == 25


def test_split_then_reimport_stays_split(db):
    new = json.loads(ok("authors", "split", "juhua-hu", "--variant", "J. Hu", "--db", db, "--json"))
    slug = new["slug"]
    assert {p["id"] for p in show(db, slug)["papers"]} == {"2509.90002", "2509.90003"}
    by_paper = ok("authors", "split", "juhua-hu", "--paper", "2509.90011", "--db", db).strip()
    ok("import", *FILES, "--db", db, "--no-embed", "-q")
    ok("import", str(FORMATS / "kaggle-snapshot"), "--db", db, "--no-embed", "-q")
    assert {p["id"] for p in show(db, slug)["papers"]} == {"2509.90002", "2509.90003"}
    assert [p["id"] for p in show(db, by_paper)["papers"]] == ["2509.90011"]
    assert len(show(db, "juhua-hu")["papers"]) == 21


def test_split_needs_exactly_one_way(db):
    assert exit_code_of("authors", "split", "juhua-hu", "--db", db) == 1
    assert (
        exit_code_of(
            "authors",
            "split",
            "juhua-hu",
            "--variant",
            "J. Hu",
            "--paper",
            "2509.90002",
            "--db",
            db,
        )
        == 1
    )
    assert exit_code_of("authors", "merge", "juhua-hu", "--db", db) == 1
