"""`paperscope serve` takes each setting from its flag, else from its PAPERSCOPE_* variable,
else the default. The flags' defaults overrode the variables: `PAPERSCOPE_SINGLE_USER=0`,
`PAPERSCOPE_API_RATE_LIMIT` or `PAPERSCOPE_DIGEST_SCHEDULER=1` before `serve` did nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import paperscope
from servetools import serving, status_of
from webtools import copy_store


@pytest.fixture
def db(pristine_store, tmp_path):
    return copy_store(pristine_store, tmp_path / "papers.db")


def statuses(base: str, n: int) -> list[int]:
    return [status_of(f"{base}/api/v1/feed") for _ in range(n)]


def test_the_variables_set_what_no_flag_sets(db):
    env = {"PAPERSCOPE_API_RATE_LIMIT": "3", "PAPERSCOPE_SINGLE_USER": "0"}
    with serving(db, env=env) as server:
        # multi-user: the library asks who you are (the first of 3 requests a minute)
        assert status_of(f"{server.base}/api/v1/library") == 401
        assert statuses(server.base, 4) == [200, 200, 429, 429]


def test_a_flag_wins_over_its_variable(db):
    env = {"PAPERSCOPE_API_RATE_LIMIT": "3", "PAPERSCOPE_SINGLE_USER": "0"}
    with serving(db, "--api-rate-limit", "0", "--single-user", env=env) as server:
        assert set(statuses(server.base, 6)) == {200}
        assert status_of(f"{server.base}/api/v1/library") == 200


def test_without_flags_or_variables_the_defaults_hold(db):
    env = {"PAPERSCOPE_API_RATE_LIMIT": "", "PAPERSCOPE_SINGLE_USER": ""}
    with serving(db, env={k: v for k, v in env.items() if v}) as server:
        assert set(statuses(server.base, 6)) == {200}  # 120 a minute
        assert status_of(f"{server.base}/api/v1/library") == 200  # single-user


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--base-url", "notaurl"], {}),
        (["--base-url", "papers.example.org"], {}),  # no scheme: links became relative
        ([], {"PAPERSCOPE_BASE_URL": "ftp://papers.example.org"}),
    ],
)
def test_a_base_url_that_is_no_web_address_stops_serve_before_it_starts(db, args, env):
    """`serve --base-url notaurl` started, and every absolute link of its pages, feeds and
    digests was broken."""
    from mailtools import free_port

    port = str(free_port())
    try:
        # without the check it serves: the timeout is the failure
        done = subprocess.run(
            [sys.executable, "-m", "paperscope", "serve", *args, "--db", str(db), "--port", port],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(paperscope.__file__).parents[1]), **env},
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("serve started with that base URL")
    assert done.returncode == 1 and "serving" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: the base URL ") and "is not an http://" in lines[0]
    assert lines[1].startswith("hint: --base-url (or PAPERSCOPE_BASE_URL)")
