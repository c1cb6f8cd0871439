"""API contract fuzzing: schemathesis over /openapi.json against a real server on 127.0.0.1.

The runs of bench/api_fuzz.py, fuzzing phase only, 3 examples per operation: the JSON API
answers no 5xx, only documented statuses, and every body in its documented shape (errors as
{"error": {"status", "message", ...}}); every other route answers no 5xx. Plus the two server
errors schemathesis found, pinned.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from api_fuzz import RUNS, schemathesis_command
from webtools import live_server


@pytest.fixture(scope="module")
def server(sample_db):
    with live_server(sample_db) as base:
        yield base


@pytest.mark.parametrize(("name", "paths", "checks"), RUNS, ids=[r[0] for r in RUNS])
def test_schemathesis_finds_no_server_error_and_no_contract_break(
    server, name, paths, checks, tmp_path
):
    # the fuzzing phase alone, 3 cases per operation: bench/api_fuzz.py runs the full set
    command = schemathesis_command(server, paths, checks, 3, seed=7, phases="fuzzing")
    # in tmp_path: schemathesis keeps its state in ./.schemathesis
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = done.stdout[done.stdout.find("SUMMARY") :]
    assert done.returncode == 0, done.stdout[-6000:]
    assert "passed" in report and "Server error" not in report


@pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
def test_a_huge_offset_answers_an_empty_page(client, mode):
    # once made the vector search allocate terabytes and took the server down
    answer = client.get(f"/api/v1/search?q=energy&mode={mode}&offset=155313764564")
    assert answer.status_code == 200
    body = answer.json()
    assert body["results"] == [] and body["total"] > 0 and body["next"] is None


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/library?tag=259021694744955218709970944",
        "/library?tag=259021694744955218709970944",
        "/library/export.bib?tag=-198467512524501241168920576",
    ],
)
def test_a_number_beyond_64_bits_is_a_bad_parameter(client, url):
    answer = client.get(url)
    assert answer.status_code == 422
    if url.startswith("/api/"):
        assert answer.json()["error"]["status"] == 422
