"""`paperscope authors show|list|merge|split` as a user runs them, on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paperscope
from conftest import FIXTURES, FORMATS, PAGES
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore

runner = CliRunner()
FILES = [*sorted(str(p) for p in PAGES.glob("*.txt")), str(FIXTURES / "authors")]


def run(*args: str) -> subprocess.CompletedProcess:
    """The real `paperscope` process (CliRunner mixes stderr into what it gives back)."""
    src = str(Path(paperscope.__file__).parents[1])
    return subprocess.run(
        [sys.executable, "-m", "paperscope", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src},
        timeout=300,
    )


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


def test_a_list_with_nobody_in_it_says_so_instead_of_printing_a_bare_header(db, tmp_path):
    """`authors list --name zzz` printed the table's header and nothing else, as if the
    listing had failed; `--offset` past the end did too, above its note."""
    nobody = run("authors", "list", "--db", db, "--name", "Zyxwv")
    assert nobody.returncode == 0
    assert nobody.stdout == ""
    assert nobody.stderr == "no author's name fits 'Zyxwv'\n"
    assert run("authors", "list", "--db", db, "--name", "Zyxwv", "--json").stdout == "[]\n"
    past = run("authors", "list", "--db", db, "--offset", "100000")
    assert past.stdout == "" and past.stderr.startswith("note: --offset 100,000 is past the last")
    empty = tmp_path / "empty.db"
    SQLiteStore(empty).close()
    none_yet = run("authors", "list", "--db", str(empty))
    assert none_yet.returncode == 0 and none_yet.stdout == ""
    assert none_yet.stderr.startswith("no authors yet: they come with imported papers")


def test_list_pages_through_everyone_and_says_when_there_is_more(db):
    """`authors list` stopped at --limit (1,000 at most) as if that were everyone: nothing
    reached the people past it and nothing said there were any."""
    everyone = json.loads(ok("authors", "list", "--db", db, "--json", "--limit", "1000"))
    assert 4 < len(everyone) < 1000
    walked, offset = [], 0
    while True:
        page = json.loads(
            ok("authors", "list", "--db", db, "--json", "-n", "7", "--offset", str(offset))
        )
        if not page:
            break
        walked += page
        offset += len(page)
    assert walked == everyone  # the same order, nobody twice or left out
    first = run("authors", "list", "--db", db, "-n", "2")
    assert first.returncode == 0 and "juhua-hu" in first.stdout
    assert first.stderr == (
        f"note: 1-2 of {len(everyone):,} authors; `--offset 2` shows the next\n"
    )
    last = run("authors", "list", "--db", db, "-n", "2", "--offset", str(len(everyone) - 1))
    assert last.returncode == 0 and last.stderr == ""
    past = run("authors", "list", "--db", db, "--offset", str(len(everyone)))
    assert (
        past.stderr
        == f"note: --offset {len(everyone):,} is past the last of {len(everyone):,} authors\n"
    )
    hus = run("authors", "list", "--db", db, "--name", "Hu", "-n", "1")
    assert hus.stderr == (
        "note: 1-1 of the authors whose name fits 'Hu'; `--offset 1` shows the next\n"
    )
    assert run("authors", "list", "--db", db, "--offset", "-1").returncode == 2


@pytest.mark.parametrize(
    "argv",
    [("show", ""), ("show", "   "), ("merge", "", "juhua-hu"), ("split", " ", "--variant", "x")],
)
def test_an_empty_author_is_a_clear_error(db, argv):
    """It said "no author ''", as if someone could be called that."""
    result = run("authors", *argv, "--db", db)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the author is empty: give a slug or a name\n")
    assert "Traceback" not in result.stderr


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


@pytest.mark.parametrize("how", ["show", "list"])
def test_a_name_past_the_longest_stored_one_is_a_clear_error(db, capsys, how):
    """SQLite refuses LIKE patterns over 50,000 bytes: a look-up takes at most as many
    characters as a stored author name may have (1,000), and says so."""

    def run(name: str) -> int:
        args = ("show", name) if how == "show" else ("list", "--name", name)
        return exit_code_of("authors", *args, "--db", db)

    assert run("x" * 100_000) == 1
    err = capsys.readouterr().err
    assert "error: an author name has at most 1,000 characters (this one has 100,000)" in err
    assert "hint:" in err and "Traceback" not in err
    if how == "list":  # the longest name allowed is an ordinary look-up that finds nobody
        assert json.loads(ok("authors", "list", "--name", "x" * 1000, "--db", db, "--json")) == []
    else:
        assert run("x" * 1000) == 1
        assert "no author" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["%", "_", ",", "\\", "%_%", " - "])
def test_a_name_without_letters_or_digits_is_a_clear_error(db, capsys, text):
    for args in (("show", text), ("list", "--name", text)):
        assert exit_code_of("authors", *args, "--db", db) == 1, args
        err = capsys.readouterr().err
        assert "has no letters or digits" in err and "names" not in err, (args, err)


def test_like_wildcards_in_a_name_match_only_themselves(db):
    """`%` and `_` in a name are characters, not wildcards ("a%n" used to be read as "an")."""
    assert json.loads(ok("authors", "list", "--name", "a%n", "--db", db, "--json")) == []
    assert json.loads(ok("authors", "list", "--name", "Qi_Qian", "--db", db, "--json")) == []
    found = json.loads(ok("authors", "list", "--name", "an", "--db", db, "--json"))
    assert len(found) > 10


def test_an_ambiguous_name_gives_the_real_count(db, capsys):
    assert exit_code_of("authors", "show", "J. Hu", "--db", db) == 1
    assert "'J. Hu' names 2 authors: " in capsys.readouterr().err
    # more than the ten it lists: it does not claim ten
    assert exit_code_of("authors", "show", "an", "--db", db) == 1
    err = capsys.readouterr().err
    assert "'an' names more than 10 authors, among them: " in err
    assert "names 10 authors" not in err


def test_split_errors_say_what_is_wrong(db, capsys):
    hers = {p["id"] for p in show(db, "juhua-hu")["papers"]}
    other = next(p["id"] for p in show(db, "rongmei-lin")["papers"] if p["id"] not in hers)
    assert exit_code_of("authors", "split", "juhua-hu", "--paper", other, "--db", db) == 1
    assert f"error: juhua-hu has no paper {other}\n" in capsys.readouterr().err
    mine = sorted(hers)[0]
    argv = ["authors", "split", "juhua-hu", "--paper", mine, "--paper", other, "--db", db]
    assert exit_code_of(*argv) == 1  # one of them is not hers: nothing is split
    assert f"error: juhua-hu has no paper {other}\n" in capsys.readouterr().err
    assert len(show(db, "juhua-hu")["papers"]) == len(hers)
    assert exit_code_of("authors", "split", "qi-qian", "--db", db) == 1
    err = capsys.readouterr().err
    assert "error: say what to split off: --variant NAME or --paper ID" in err
    assert "not both" not in err
    both = ["--variant", "Qi Qian", "--paper", mine]
    assert exit_code_of("authors", "split", "qi-qian", *both, "--db", db) == 1
    assert "error: give --variant NAME or --paper ID, not both" in capsys.readouterr().err
