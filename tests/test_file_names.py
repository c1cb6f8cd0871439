"""File names that a terminal or JSON cannot take as they are, in `import` and `show`.

A file name is not record text: it is kept (an origin must stay recognisable), but shown with
control characters escaped (`\\x1b`, `\\n`), and bytes that are not UTF-8 are replaced by
U+FFFD wherever the name is recorded or written out.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore

ESC = "\x1b"


def _import(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()):
    db = tmp_path / "p.db"
    args = ["import", *map(str, files), "--db", str(db), "--no-embed", *extra]
    return CliRunner().invoke(app, args, catch_exceptions=False), db


SAMPLE = FORMATS / "huggingface-papers" / "papers-search-q-kazakh-9-results.json"


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
def test_a_file_name_that_is_not_utf8_imports_and_json_stays_valid(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.json").write_bytes(SAMPLE.read_bytes())
    bad = os.fsdecode(os.fsencode(folder) + b"/bad\xff.json")
    Path(bad).write_bytes(SAMPLE.read_bytes())
    result, db = _import(tmp_path, Path(bad))
    assert result.exit_code == 0, result.output
    assert "bad\ufffd.json" in result.stdout
    with SQLiteStore(db) as store:
        assert store.count() == 9
        (_, origin, _), *_ = store.paper_sources("2404.04487")
    assert origin == "bad\ufffd.json"
    result, _ = _import(tmp_path / "json", folder, extra=("--json",))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [Path(r["path"]).name for r in rows] == ["bad\ufffd.json", "good.json"]
    assert [r["error"] for r in rows] == [None, None]


@pytest.mark.skipif(sys.platform == "win32", reason="no ESC or newline in Windows file names")
def test_file_names_with_controls_are_shown_escaped(tmp_path):
    path = tmp_path / f"evil{ESC}[2J\nname.json"
    path.write_bytes(SAMPLE.read_bytes())
    result, db = _import(tmp_path, path)
    assert result.exit_code == 0, result.output
    assert ESC not in result.output
    assert "evil\\x1b[2J\\nname.json" in result.stdout
    shown = CliRunner().invoke(app, ["show", "2404.04487", "--db", str(db)])
    assert ESC not in shown.stdout and "evil\\x1b[2J\\nname.json" in shown.stdout
    # --json is for programs: the name as it is, which JSON escapes itself
    result, _ = _import(tmp_path / "j", path, extra=("--json",))
    assert json.loads(result.stdout)[0]["path"] == str(path)
