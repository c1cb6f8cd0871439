"""The CLI as a user runs it: import the sample pages, stats, search, show, bad input."""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paperscope
from conftest import FORMATS, PAGES
from paperscope.errors import InputError
from paperscope.serve.cli import app, check_arguments
from paperscope.serve.cli.output import progress_seconds
from paperscope.store.sqlite import SQLiteStore

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "papers.db")


def stats(db: str) -> dict:
    result = cli("stats", "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sample_pages_import_every_paper_once_and_reimport_changes_nothing(db):
    pages = sorted(str(p) for p in PAGES.glob("*.txt"))
    first = cli("import", *pages, "--db", db, "--json")
    assert first.exit_code == 0, first.output
    summary = {s["format"]: s for s in json.loads(first.stdout)}
    assert {f: s["added"] for f, s in summary.items()} == {
        "page-author-profile": 12,
        "page-hf-search": 86,
        "page-arxiv-listing": 20,
    }
    assert stats(db)["papers"] == 118
    assert stats(db)["embedded"] == 118  # import embeds what it adds by default
    second = json.loads(cli("import", *pages, "--db", db, "--json", "--no-embed").stdout)
    assert sum(s["added"] + s["merged"] for s in second) == 0
    assert sum(s["unchanged"] for s in second) == 118
    assert stats(db)["papers"] == 118


def test_db_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_DB", str(tmp_path / "env.db"))
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--no-embed").exit_code == 0
    assert (tmp_path / "env.db").exists()
    assert stats(str(tmp_path / "env.db"))["papers"] == 12


def test_search_show_and_json_contract(db):
    cli("import", str(FORMATS / "arxiv-api-atom"), "--db", db)
    hits = json.loads(cli("search", "del maestro", "--db", db, "--json").stdout)
    assert hits and set(hits[0]) == {"id", "title", "authors", "date", "categories", "score"}
    shown = cli("show", hits[0]["id"], "--db", db, "--json")
    assert shown.exit_code == 0
    paper = json.loads(shown.stdout)
    assert paper["id"] == hits[0]["id"] and paper["merged_from"]
    assert cli("show", hits[0]["id"], "--db", db).exit_code == 0


def test_show_unknown_id_is_a_clear_error(db):
    assert (
        cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed").exit_code
        == 0
    )
    # a real process: the exit code and the exact error and hint lines on stderr, nothing else
    shown = subprocess.run(
        [sys.executable, "-m", "paperscope", "show", "9999.99999", "--db", db],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 1 and shown.stdout == ""
    assert shown.stderr.splitlines() == [
        "error: no paper '9999.99999' in the store",
        "hint: ids are arXiv ids (2301.12345), DOIs or the ids search results give",
    ]


def test_unknown_format_is_one_clear_error_and_other_files_still_land(db, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes, not papers\n" * 20)
    result = runner.invoke(
        app, ["import", str(junk), str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed"]
    )
    assert result.exit_code == 1
    assert "not a format paperscope can import" in result.stderr
    assert stats(db)["papers"] == 12


def test_an_unknown_file_inside_a_folder_is_named_by_its_path(db, tmp_path):
    """Every other error line names the file by the path given; this one gave the bare name
    (`error: notes.txt: ...`), which in a folder of folders does not say which file."""
    folder = tmp_path / "export" / "2026"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("just some notes, not papers\n" * 20)
    (folder / "lin.txt").write_bytes((PAGES / "author-profile-lin.txt").read_bytes())
    notes = folder / "notes.txt"
    done = run_cli("import", str(tmp_path / "export"), "--db", db, "--no-embed")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {notes}: not a format paperscope can import\n" in done.stderr
    done = run_cli("import", str(tmp_path / "export"), "--db", db, "--no-embed", "--json")
    assert done.returncode == 1
    by_path = {row["path"]: row for row in json.loads(done.stdout)}
    assert by_path[str(notes)]["error"] == f"{notes}: not a format paperscope can import"
    assert by_path[str(folder / "lin.txt")]["unchanged"] == 12


def test_bad_record_reported_with_file_and_line(db, tmp_path):
    src = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
    lines = src.read_text().splitlines()
    lines[4] = lines[4][:50]  # line 5 is cut short: invalid JSON
    bad = tmp_path / "snapshot.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["import", str(bad), "--db", db, "--no-embed"])
    assert result.exit_code == 0
    assert f"{bad}:line 5" in result.stderr
    assert stats(db)["papers"] == 199


def test_formats_lists_every_importer():
    names = {f["name"] for f in json.loads(cli("formats", "--json").stdout)}
    assert {
        "arxiv-atom",
        "arxiv-oai",
        "arxiv-rss",
        "kaggle-arxiv",
        "hf-papers",
        "openalex",
        "semantic-scholar",
        "bibtex",
        "page-author-profile",
        "page-hf-search",
        "page-arxiv-listing",
    } <= names


def test_every_fixture_imports_into_one_store(db, tmp_path):
    """All formats together: known papers seen by several sources merge, none is lost."""
    folder = tmp_path / "all"
    shutil.copytree(FORMATS, folder)
    result = cli("import", str(folder), "--db", db, "--json", "--no-embed")
    summaries = json.loads(result.stdout)
    failed = {s["path"] for s in summaries if s["error"]}
    # error responses recorded from the sources are reported, not imported
    assert all("error" in p or "SOURCES" in p or "empty" in p or "no-results" in p for p in failed)
    assert stats(db)["papers"] > 600


@pytest.mark.parametrize(
    "args",
    [
        ["search", "attention"],
        ["similar", "2301.00001"],
        ["show", "2301.00001"],
        ["stats"],
        ["authors", "list"],
        ["authors", "show", "Jane Doe"],
        ["topics"],
        ["topics", "show", "1"],
        # commands that only look after an existing store: a typo created an empty one
        ["jobs"],
        ["map", "status"],
        ["map", "place"],
        ["users", "list"],
        ["users", "disable", "a@example.org"],
        ["users", "password", "a@example.org", "--password-stdin"],
        ["follow", "--user", "a@example.org", "--category", "cs.LG"],
        ["follows", "--user", "a@example.org"],
        ["digest", "send"],
        ["digest", "preview", "--user", "a@example.org"],
        ["backup", "{tmp}/backup.db"],
        ["compact"],
        ["embed"],
        ["reindex"],
        ["neighbours"],
        ["authors", "update"],
        ["authors", "rebuild"],
        ["authors", "merge", "a-b", "c-d"],
        ["authors", "split", "a-b", "--variant", "A B"],
        ["map", "rebuild"],
    ],
)
def test_commands_that_read_say_when_the_store_is_missing(args, tmp_path):
    """A mistyped --db is an error naming the path, in a real process; nothing is created."""
    missing = tmp_path / "typo" / "papers.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "paperscope",
            *(a.format(tmp=tmp_path) for a in args),
            "--db",
            str(missing),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert list(tmp_path.iterdir()) == []
    assert done.stderr.splitlines() == [
        f"error: no store at {missing}",
        "hint: `paperscope import FILE --db PATH` creates one; "
        "--db or $PAPERSCOPE_DB names another",
    ]
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    "args",
    [
        [b"search", b"norm\xff"],
        [b"show", b"\xff"],
        [b"users", b"add", b"\xff@example.org"],
        [b"follow", b"--user", b"a@example.org", b"--query=attention \xfe"],
    ],
)
def test_an_argument_that_is_not_utf8_is_a_clear_error(args, db):
    """Not a traceback from deep in the tokenizer or SQLite, and no store is touched."""
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", *args, b"--db", db.encode()],
        capture_output=True,
    )
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert lines[0].startswith("error: argument ") and "is not valid UTF-8: b'" in lines[0]
    assert lines[1].startswith("hint: paperscope reads its arguments as UTF-8 text")
    assert not Path(db).exists()


def test_the_name_of_an_existing_file_may_hold_any_bytes(tmp_path):
    name = os.fsdecode(bytes(tmp_path) + b"/bad\xff.json")
    Path(name).write_text("[]")
    check_arguments(["import", name, "--db", str(tmp_path / "p.db")])
    with pytest.raises(InputError, match="argument 2 is not valid UTF-8"):
        check_arguments(["import", name + "-missing"])


@pytest.mark.parametrize(
    "args",
    [
        ["topics", "show", "99999999999999999999"],
        ["topics", "rebuild", "--seed", "-1"],
        ["topics", "rebuild", "--seed", "99999999999999999999"],
        ["unfollow", "--user", "a@example.org", "99999999999999999999"],
        ["neighbours", "--newest", "99999999999999999999"],
    ],
)
def test_numbers_out_of_range_are_refused_before_the_store_is_read(args, db):
    """They reached SQLite (OverflowError) or scikit-learn as tracebacks."""
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output
    assert not Path(db).exists()


@pytest.mark.parametrize(
    ("db_value", "message"),
    [
        ("", "error: the store's path is empty"),
        ("  ", "error: the store's path is empty"),
        ("sqlite:///tmp/x.db", "error: not a store: 'sqlite:///tmp/x.db'"),
        ("file:papers.db", "error: not a store: 'file:papers.db'"),
    ],
)
def test_a_store_path_that_is_empty_or_a_url_of_another_kind_is_refused(
    db_value, message, tmp_path
):
    """They created the default store, a file named " ", or ./sqlite:/tmp/x.db."""
    page = str(PAGES / "author-profile-lin.txt")
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "import", page, "--no-embed", "--db", db_value],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert done.returncode == 1 and done.stderr.splitlines()[0] == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["import", "", "--no-embed", "--json"],
        ["import", str(PAGES / "author-profile-lin.txt"), " ", "--no-embed", "--json"],
        ["backup", "", "--json"],
        ["restore", "", "--json"],
        ["reindex", "--index-dir", "", "--json"],
        ["serve", "--index-dir="],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_working_folder(args, tmp_path):
    """Path("") is ".": `import ''` imported every file under the working folder, `backup ''`
    wrote a dated backup there and `--index-dir ''` built the indexes in it."""
    store = tmp_path / "store" / "papers.db"
    page = str(PAGES / "author-profile-lin.txt")
    assert cli("import", page, "--db", str(store), "--no-embed").exit_code == 0
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.bib").write_text("@article{a, title={A paper in the working folder}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", *args, "--db", str(store)],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(Path(paperscope.__file__).parents[1])},
        timeout=120,  # `serve` that took '' did not stop
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == "error: a path given on the command line is empty"
    assert sorted(p.name for p in work.iterdir()) == ["notes.bib"]
    assert stats(str(store))["papers"] == 12


def test_db_copy_from_a_missing_source_creates_nothing(tmp_path):
    source, target = tmp_path / "typo.db", tmp_path / "new.db"
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "db", "copy", str(source), str(target)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: no store at {source}",
        # not the hint of a missing --db, which told how to create a store there
        "hint: SOURCE is the store to copy from: check its path or URL",
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("inf", 3600.0), ("1e-300", 0.1), ("nan", 10.0), ("-1", 10.0), ("x", 10.0), ("2", 2.0)],
)
def test_progress_seconds_from_the_environment_stay_within_reason(raw, seconds, monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_PROGRESS_SECONDS", raw)
    assert progress_seconds() == seconds


@pytest.mark.parametrize("option", ["--timeout", "--interval", "--backoff"])
def test_harvest_waits_are_bounded(option):
    """--timeout inf overflowed the clock with a traceback."""
    result = runner.invoke(app, ["harvest", "hf", "--date", "2024-01-01", option, "inf"])
    assert result.exit_code == 2 and "Invalid value" in result.output


@pytest.mark.parametrize("day", ["2024-13-45", ""])
def test_a_bad_harvest_date_is_named_as_date(day):
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "harvest", "hf", "--date", day],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"error: --date {day!r} is not a date"


def test_a_password_on_stdin_that_cannot_be_read_is_a_clear_error(db):
    add = [sys.executable, "-m", "paperscope", "users", "add", "p@example.org"]
    add += ["--password-stdin", "--db", db]
    not_utf8 = subprocess.run(add, input=b"\xff\xfepassword\n", capture_output=True)
    closed = subprocess.run(add, capture_output=True, preexec_fn=lambda: os.close(0))  # <&-
    for done, message in (
        (not_utf8, "error: the password on standard input is not valid UTF-8"),
        (closed, "error: no standard input to read the password from"),
    ):
        assert done.returncode == 1
        assert done.stderr.decode().splitlines()[0] == message


def as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`paperscope ARGS` as the unprivileged user nobody (the test runs as root)."""
    src = str(Path(paperscope.__file__).resolve().parents[1])
    become = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env"]
    return subprocess.run(
        [*become, f"HOME={cwd}", f"PYTHONPATH={src}", sys.executable, "-m", "paperscope", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become nobody"
)
def test_a_store_this_user_may_not_write_is_a_permission_problem_not_damage():
    """doctor called it damaged and advised `restore BACKUP --force` over it."""
    # pytest's own temporary folders are closed to other users: one nobody can enter
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        db = folder / "p.db"
        page = str(PAGES / "author-profile-lin.txt")
        assert cli("import", page, "--db", str(db), "--no-embed").exit_code == 0
        db.chmod(0o644)
        beside = f"no permission to write in {folder}, where SQLite keeps the store's -wal"
        doctor = as_nobody("doctor", "--quick", "--db", str(db), cwd=folder)
        assert doctor.returncode == 1
        assert f"error store: {beside}" in doctor.stdout
        assert "restore" not in doctor.stdout and "damaged" not in doctor.stdout
        stats = as_nobody("stats", "--db", str(db), cwd=folder)
        assert stats.returncode == 1
        assert stats.stderr.startswith(f"error: cannot open the paper store {db}: {beside}")
        assert stats.stderr.splitlines()[-1] == (
            "hint: check the owner and permissions of the file and its folder"
        )
        # a folder nobody may write, a file nobody may only read: reading works, writing
        # says why it cannot
        folder.chmod(0o777)
        assert as_nobody("stats", "--db", str(db), cwd=folder).returncode == 0
        write = as_nobody("import", page, "--db", str(db), "--no-embed", cwd=folder)
        assert write.returncode == 1
        assert write.stderr.splitlines()[-2:] == [
            "error: cannot write the store: attempt to write a readonly database",
            "hint: check the owner and permissions of the store file and its folder",
        ]
        folder.chmod(0o700)  # now nobody cannot even reach it: an error, not a traceback
        hidden = as_nobody("search", "x", "--db", str(db), cwd=Path("/"))
        assert hidden.returncode == 1
        assert hidden.stderr.startswith(f"error: cannot open the paper store {db}: no permission")
    finally:
        shutil.rmtree(folder)


def test_doctor_on_a_missing_store_does_not_advise_a_restore_over_it(tmp_path):
    missing = tmp_path / "typo.db"
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "doctor", "--quick", "--db", str(missing)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        f"error store: no store at {missing}",
        f"   run: paperscope import FILE --db {missing}, "
        f"or paperscope restore BACKUP --db {missing}",
    ]
    assert not missing.exists()


def test_doctor_on_a_file_that_is_not_sqlite_does_not_advise_a_restore_over_it(tmp_path):
    """`--db README.md` (or a README copied to x.db) was "damaged" and doctor said to run
    `restore BACKUP --force` on it, which would have overwritten that file."""
    other = tmp_path / "x.db"
    other.write_text("# paperscope\n\nA self-hosted research-paper discovery engine.\n")
    done = run_cli("doctor", "--quick", "--db", str(other))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        "error store: not a paperscope store: the file does not begin as a SQLite database does",
        "   run: check --db: it names another file (restoring a backup would overwrite it)",
    ]
    assert "restore" not in done.stdout.splitlines()[1].split("(")[0]
    assert other.read_text().startswith("# paperscope")


def test_a_file_where_the_index_folder_goes_is_a_clear_error(db, tmp_path):
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed")
    shutil.rmtree(db + ".index", ignore_errors=True)
    Path(db + ".index").write_text("not a folder")
    for args, env in (
        (["search", "attention"], {}),
        (["search", "attention"], {"PAPERSCOPE_INDEX_DIR": db + ".index/sub"}),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "paperscope", *args, "--db", db],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        assert done.returncode == 1
        assert done.stderr.startswith("error: the index folder ")
        assert f"{db}.index is a file" in done.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "paperscope", "doctor", "--quick", "--db", db],
        capture_output=True,
        text=True,
    )
    assert doctor.returncode == 1
    assert f"error indexes: the index folder {db}.index cannot be made" in doctor.stdout


def test_copying_a_damaged_store_is_an_error_line_not_a_traceback(tmp_path):
    source = tmp_path / "damaged.db"
    assert cli("import", *map(str, PAGES.glob("*.txt")), "--db", str(source), "--no-embed")
    with SQLiteStore(source) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with source.open("r+b") as fh:
        fh.seek(source.stat().st_size // 2)
        fh.write(b"\xff" * 8192)
    done = subprocess.run(
        [sys.executable, "-m", "paperscope", "db", "copy", str(source), str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    progress_lines = done.stderr.splitlines()[:-2]
    assert progress_lines and all(" rows" in line for line in progress_lines)  # not "papers"
    assert done.stderr.splitlines()[-2:] == [  # after the progress lines
        "error: the store could not be read: database disk image is malformed",
        "hint: `paperscope doctor` checks it; `paperscope restore BACKUP` replaces it with a "
        "backup",
    ]


def test_a_backup_to_a_place_that_cannot_hold_it_is_a_clear_error(db, tmp_path):
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "--no-embed")
    (tmp_path / "a-file").write_text("")
    places = [tmp_path / "a-file" / "backup.db"]
    if Path("/proc/self").is_dir():  # a file system where no file can be made
        places.append(Path("/proc/paperscope-backup.db"))
    for place in places:
        done = subprocess.run(
            [sys.executable, "-m", "paperscope", "backup", str(place), "--db", db],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: cannot "), done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks")
def test_a_folder_with_no_files_is_an_error_and_the_other_arguments_still_land(db, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    odd = tmp_path / "odd"
    (odd / "sub").mkdir(parents=True)
    os.mkfifo(odd / "fifo")
    (odd / "dangling.json").symlink_to(tmp_path / "missing.json")
    page = str(PAGES / "author-profile-lin.txt")
    result = runner.invoke(app, ["import", str(empty), page, str(odd), "--db", db, "--no-embed"])
    assert result.exit_code == 1
    assert f"error: {empty}: the folder holds no files to import" in result.stderr
    assert f"error: {odd}: the folder holds no files to import" in result.stderr
    assert stats(db)["papers"] == 12
    alone = runner.invoke(app, ["import", str(empty), "--db", db, "--json"])
    assert alone.exit_code == 1
    (row,) = json.loads(alone.stdout)
    assert (row["path"], row["records"]) == (str(empty), 0)
    assert "holds no files to import" in row["error"]


def test_a_forced_format_that_finds_no_record_is_an_error(db, tmp_path):
    junk = tmp_path / "random.bin"
    junk.write_bytes(random.Random(7).randbytes(10_240))
    result = runner.invoke(
        app, ["import", "--format", "page-hf-search", str(junk), "--db", db, "--no-embed"]
    )
    assert result.exit_code == 1
    assert f"error: {junk}: no page-hf-search record found" in result.stderr
    assert "hint:" in result.stderr


@pytest.mark.parametrize("forced", ["openalex", "semantic-scholar", "kaggle-arxiv"])
def test_a_forced_format_that_rejects_every_record_is_an_error_and_stores_nothing(
    db, tmp_path, forced
):
    """An HF search response under the wrong --format: every record rejected was no error
    (exit 0), and under semantic-scholar its 9 papers were stored with a title and nothing
    else (no author, date or id), as papers no later import could complete."""
    hf = FORMATS / "huggingface-papers" / "papers-search-q-kazakh-9-results.json"
    done = run_cli("import", "--format", forced, str(hf), "--db", db, "--no-embed")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert re.search(
        rf"^error: {re.escape(str(hf))}: no {forced} record found: all [\d,]+ records read "
        r"were rejected$",
        done.stderr,
        re.M,
    ), done.stderr
    assert "hint: is it a" in done.stderr
    assert stats(db)["papers"] == 0
    # the file itself imports whole when its format is detected
    done = run_cli("import", str(hf), "--db", db, "--no-embed")
    assert done.returncode == 0 and stats(db)["papers"] == 9


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The real `paperscope` process, through `main`'s error handling (CliRunner skips it);
    `env`: variables to set for it."""
    src = str(Path(paperscope.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src, **env}
    return subprocess.run(
        [sys.executable, "-m", "paperscope", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_quiet_silences_the_progress_of_reindex_db_copy_and_restore(db, tmp_path):
    """docs/cli.md: `-q` turns progress off; these three drew progress but had no -q."""
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "-q").exit_code == 0
    loud = run_cli("reindex", "--db", db)
    assert loud.returncode == 0 and "rebuilding the lexical index" in loud.stderr
    for args in (
        ["reindex", "--db", db],
        ["db", "copy", db, str(tmp_path / "copy.db")],
        ["restore", db, "--db", str(tmp_path / "restored.db")],
    ):
        done = run_cli(*args, "-q")
        assert done.returncode == 0 and done.stdout, args
        # db copy's verdict stays on stderr: it is no progress line
        assert " started" not in done.stderr and " done" not in done.stderr, args


def test_topics_rebuild_shows_the_maps_progress_and_quiet_silences_it(db):
    """`topics rebuild` laid out the map (minutes on a large store) after one line, "laying
    out the map", and had no -q, unlike `map rebuild`."""
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "-q").exit_code == 0
    loud = run_cli("topics", "rebuild", "--db", db, "--aspect", "topic")
    assert loud.returncode == 0, loud.stderr
    assert re.search(r" layout: \d+/\d+ papers \(100%\), \d+ s elapsed, done$", loud.stderr, re.M)
    quiet = run_cli("topics", "rebuild", "--db", db, "--aspect", "topic", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "topic: " in quiet.stdout and "map: 12 papers laid out" in quiet.stdout


def test_import_json_with_a_file_that_cannot_be_read_says_so_on_stderr_too(db, tmp_path):
    """With --json the error was only inside the JSON: exit code 1 and a silent stderr."""
    missing = tmp_path / "typo.json"
    done = run_cli(
        "import", str(missing), str(PAGES / "author-profile-lin.txt"), "--db", db, "--json",
        "--no-embed",
    )  # fmt: skip
    assert done.returncode == 1
    rows = json.loads(done.stdout)
    assert rows[0]["error"] == f"{missing}: cannot read: No such file or directory"
    assert rows[1]["added"] == 12
    assert done.stderr.splitlines() == [f"error: {rows[0]['error']}"]


@pytest.mark.parametrize("given", [["--query", ""], ["--query", "  "], ["--id-list", ""]])
def test_harvest_arxiv_with_an_empty_query_asks_nothing_instead_of_all_of_arxiv(db, given):
    """`--query "$Q"` with Q unset was read as no --query: a harvest of all of arXiv over
    OAI-PMH began. (Port 9 on loopback is closed: any request fails at once.)"""
    done = run_cli(
        "harvest", "arxiv", *given, "--base-url", "http://127.0.0.1:9", "--retries", "0",
        "--db", db, "--json",
    )  # fmt: skip
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert (summary["source"], summary["requests"]) == ("arxiv-api", 0)
    assert summary["error"] == "nothing to ask the arXiv API for"
    # the error is on stderr too, as for every other command's --json
    assert done.stderr.splitlines() == [
        "error: nothing to ask the arXiv API for",
        "hint: give --query or --id-list",
    ]


@pytest.mark.parametrize("how", ["stdin", "dash", "fifo"])
def test_a_pipe_imports_whole(db, tmp_path, how):
    """`zcat dump.gz | paperscope import /dev/stdin` (or `-`, which was 'No such file or
    directory'), or a FIFO: every record lands. Detection used up the pipe's start, so the
    import began mid-record: 15 of 200 papers, the first line rejected, then `Illegal seek`."""
    snapshot = FORMATS / "kaggle-snapshot" / "arxiv-metadata-oai-snapshot-0704.0001-0704.0200.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(paperscope.__file__).parents[1])}
    command = [sys.executable, "-m", "paperscope", "import", "--db", db, "--no-embed", "--json"]
    if how in ("stdin", "dash"):
        done = subprocess.run(
            [*command, "/dev/stdin" if how == "stdin" else "-"],
            input=snapshot.read_bytes(),
            capture_output=True,
            env=env,
            timeout=300,
        )
    else:
        fifo = tmp_path / "dump.jsonl"
        os.mkfifo(fifo)
        writer = threading.Thread(target=lambda: fifo.write_bytes(snapshot.read_bytes()))
        writer.start()
        try:
            # a second open of the FIFO (the bug) waits for a writer that never comes
            done = subprocess.run([*command, str(fifo)], capture_output=True, env=env, timeout=120)
        finally:
            if writer.is_alive():  # never opened for reading: release the writer's open
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            writer.join()
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["format"], row["added"], row["rejected"], row["error"]) == (
        "kaggle-arxiv",
        200,
        0,
        None,
    )


def test_a_missing_file_is_one_plain_error_line(db, tmp_path):
    """Detected as forced: the reason once, without the errno and the path again."""
    missing = tmp_path / "missing.json"
    done = run_cli("import", str(missing), "--db", db, "--no-embed")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {missing}: cannot read: No such file or directory\n" in done.stderr


def test_a_missing_file_under_a_forced_format_is_an_error_line_not_a_traceback(db, tmp_path):
    missing = tmp_path / "missing.bib"
    page = str(PAGES / "author-profile-lin.txt")
    done = run_cli(
        "import", str(missing), page, "--format", "page-author-profile", "--db", db, "--json"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    first, second = json.loads(done.stdout)
    assert first["error"] == f"{missing}: cannot read: No such file or directory"
    assert first["format"] is None and first["records"] == 0
    assert (second["format"], second["added"]) == ("page-author-profile", 12)


def test_an_unknown_format_name_is_one_error_before_any_file_is_read(db):
    page = str(PAGES / "author-profile-lin.txt")
    done = run_cli("import", page, page, "--format", "nosuch", "--db", db)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == "error: no importer named 'nosuch'"
    assert lines[1].startswith("hint: known formats: arxiv-atom, ")
    assert len(lines) == 2  # once, not once per file, and no progress or table
    assert not Path(db).exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://me:secret@nowhere.invalid/papers", "failed to resolve host"),
        ("postgresql://me@127.0.0.1:9/papers", "Connection refused"),
        # libpq quotes a malformed password back
        ("postgresql://me:se%zzcret@nowhere.invalid/papers", "invalid percent-encoded token"),
    ],
)
def test_a_postgresql_store_that_cannot_be_reached_is_one_error_at_once(url, reason):
    """Not 30 s of the pool retrying, with a log line per attempt, then the pool's words:
    exactly one error line and its hint."""
    pytest.importorskip("psycopg_pool")
    done = run_cli("stats", "--db", url)
    assert done.returncode == 1 and done.stdout == ""
    error, hint = done.stderr.splitlines()
    assert error.startswith("error: cannot connect to the paper store postgresql://me")
    assert reason in error and "cret" not in error
    assert hint.startswith("hint: is PostgreSQL running")


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--port", "99999"], 2, "Invalid value for '--port'"),  # was a traceback
        (["--log-level", "loud"], 1, "error: unknown log level 'loud'"),  # was a KeyError
        (["--api-rate-limit", "-1"], 2, "Invalid value for '--api-rate-limit'"),
        # a number out of range is bad usage (exit 2) as for --port; it was an error, exit 1
        (["--workers", "0"], 2, "Invalid value for '--workers'"),
    ],
)
def test_serve_refuses_bad_settings_before_it_starts(args, code, words, db):
    done = run_cli("serve", "--db", db, "--no-embed-worker", *args)
    assert done.returncode == code and "Traceback" not in done.stderr
    assert words in done.stderr


def test_serve_on_a_port_in_use_is_an_error_line_and_exit_code_1(db):
    import socket

    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "-q").exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--db", db, "--port", str(port), "--no-embed-worker")
    assert done.returncode == 1, done.stderr  # uvicorn's own exit code was 3
    assert "address already in use" in done.stderr
    assert f"error: the server could not start on 127.0.0.1:{port}" in done.stderr
    assert "hint: is another server on that port?" in done.stderr
    # found before the index build and the "serving" line, which said it was serving there
    assert "paperscope: serving" not in done.stderr


def test_version():
    from importlib.metadata import version

    done = run_cli("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"paperscope {version('paperscope')}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["topics", "--db", "{db}", "show", "1"],
        ["topics", "--db", "{db}", "--json", "show", "1"],
        ["topics", "--db", "{db}", "rebuild"],
        ["topics", "rebuild", "--db", "{db}"],
    ],
)
def test_topics_subcommands_use_the_store_named_before_them(args, tmp_path):
    """`topics --db X show 1` read the default store, dropping --db X (and `rebuild` created
    and clustered it); a missing X is now named, and nothing is created anywhere."""
    missing = tmp_path / "typo" / "papers.db"
    data = tmp_path / "data"
    done = run_cli(*(a.format(db=missing) for a in args), XDG_DATA_HOME=str(data))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == f"error: no store at {missing}"
    assert not missing.parent.exists() and not data.exists()


def test_topics_show_refuses_an_aspect_it_would_ignore(db):
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "-q", "--no-embed")
    done = run_cli("topics", "--db", db, "--aspect", "task", "show", "1")
    assert done.returncode == 1
    assert done.stderr.startswith("error: --aspect does not go with `topics show`")


@pytest.mark.parametrize("args", [["authors", "update"], ["neighbours"], ["digest", "send"]])
def test_help_paragraphs_are_rewrapped_not_broken_at_the_docstring_lines(args):
    """At 200 columns a help paragraph of under 200 characters is one line; Typer's default
    markup kept every line break of the docstring ("... at the end of an import" / "or
    harvest" / "so no page view ...")."""
    done = run_cli(*args, "--help", COLUMNS="200")
    assert done.returncode == 0
    body = done.stdout.split("╭")[0]  # the text above the option panels
    lines = [line.strip() for line in body.splitlines()]
    paragraphs = "\n".join(lines).split("\n\n")  # blank lines (spaces only) between them
    paragraphs = [p.strip() for p in paragraphs if p.strip()][1:]  # after the usage line
    assert len(paragraphs) >= 2
    for paragraph in paragraphs:
        if len(" ".join(paragraph.split())) < 190:
            assert "\n" not in paragraph, paragraph


def test_stats_shows_a_harvest_cursor_as_words_and_json_keeps_it():
    from paperscope.serve.cli.papers import _harvest_state

    done = '{"position":{"day":"2026-02-25"},"done":true,"pages":1,"updated_at":"2026-12-07T11:32:37Z","completed_at":"2026-12-07T11:32:38Z"}'  # noqa: E501
    assert _harvest_state(done) == "complete, 1 page, at 2026-12-07T11:32:38Z"
    going = '{"position":{"token":"abc|1001"},"done":false,"pages":3,"updated_at":"2026-12-07T10:00:00Z"}'  # noqa: E501
    assert _harvest_state(going) == (
        'in progress, 3 pages, at {"token":"abc|1001"}, last page 2026-12-07T10:00:00Z'
    )
    assert _harvest_state("not json") == "not json"  # a cursor of another shape: as stored


def test_db_copy_onto_itself_says_so(db, tmp_path):
    assert cli("import", str(PAGES / "author-profile-lin.txt"), "--db", db, "-q", "--no-embed")
    same = str(Path(db).parent / "." / Path(db).name)  # another spelling of the same file
    done = run_cli("db", "copy", db, same)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"error: SOURCE and TARGET are the same store: {db}"
    assert stats(db)["papers"] == 12


def test_suggested_commands_name_the_store_they_were_given(tmp_path):
    """A hint's command runs as printed on the same store: `--db` given, `--db` suggested
    (they named the default store, or a mistyped path, before)."""
    db = tmp_path / "my store.db"
    done = run_cli("import", str(PAGES / "author-profile-lin.txt"), "--db", str(db), "--no-embed")
    assert done.returncode == 0, done.stderr
    quoted = shlex.quote(str(db))
    for args, expected in [
        (["topics"], f"`paperscope topics rebuild --db {quoted}`"),
        (["topics", "rebuild"], f"`paperscope embed --db {quoted}`"),
        (["topics", "show", "7"], f"`paperscope topics rebuild --db {quoted}`"),  # none built yet
        (["map", "place"], f"`paperscope map rebuild --db {quoted}`"),
        (["authors", "show", "Nobody Atall"], f"`paperscope authors list --db {quoted}`"),
        (["search", "hyperspherical"], f"`paperscope embed --db {quoted}`"),
    ]:
        done = run_cli(*args, "--db", str(db))
        assert expected in done.stdout + done.stderr, (args, done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["show", ""],
            [
                "error: the paper id is empty",
                "hint: give an arXiv id (2301.12345), a DOI or an id search results give",
            ],
        ),
        (
            ["similar", "  "],
            [
                "error: the paper id is empty",
                "hint: give an arXiv id (2301.12345), a DOI or an id search results give",
            ],
        ),
        (
            ["authors", "list", "--name", " "],
            ["error: --name is empty", "hint: leave --name out to list every author"],
        ),
    ],
)
def test_an_empty_id_or_name_is_called_empty(db, args, lines):
    """`show ''` said "no paper '' in the store", and `authors list --name ''` listed
    everyone as if --name were absent, where `authors show ''` refuses it."""
    done = run_cli(*args, "--db", db)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (1, "", lines)
