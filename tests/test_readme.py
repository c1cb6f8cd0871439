"""README's first set-up command works in a fresh clone with nothing beside it.

The command is read from README.md itself, so the test follows the README. It runs in an empty
folder holding only a copy of the repository's samples/ (a user's clone has no ../shared), without
`pip install -e .` (the package under test is already installed; reinstalling from a copy would
repoint it) and without the final `paperscope serve`, which never returns.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL = "pip install -e . && "
SERVE = re.compile(r" && paperscope serve [^&]*$")


def first_command() -> str:
    """The first ```sh block of README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)\n```", text, re.S)
    assert block, "README.md has no ```sh block"
    return block.group(1).strip()


def test_first_command_is_install_import_search_serve():
    command = first_command()
    assert command.startswith(INSTALL)
    assert SERVE.search(command)
    assert "../" not in command, "a user's clone has nothing beside it"


def test_first_command_runs_in_a_fresh_clone(tmp_path):
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    command = SERVE.sub("", first_command().removeprefix(INSTALL))
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "cannot read" not in done.stderr
    # every sample file landed: 12 + 86 + 20 papers of the pages, 50 of the daily list
    stats = _json(tmp_path, "stats", "--db", "paperscope.db", "--json")
    assert stats["papers"] == 12 + 86 + 20 + 50
    # the search of the command lists the two minimum-hyperspherical-energy papers first
    hits = _json(tmp_path, "search", "hyperspherical energy", "--db", "paperscope.db", "--json")
    assert {h["title"] for h in hits[:2]} == {
        "Learning towards Minimum Hyperspherical Energy",
        "Regularizing Neural Networks via Minimizing Hyperspherical Energy",
    }
    assert "Learning towards Minimum Hyperspherical Energy" in done.stdout


def _json(cwd: Path, *args: str):
    done = subprocess.run(
        ["paperscope", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout)
