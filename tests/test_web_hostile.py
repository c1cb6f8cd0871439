"""Requests a hostile or careless client sends, answered with a 4xx and a message, never a 500
or a wrong write (found by an audit of the running server, 2026-12-07)."""

from __future__ import annotations

import json

import pytest

from conftest import XSS_ID
from paperscope.errors import InputError
from paperscope.model import Paper
from paperscope.serve.library_io import import_library, parse_csl_json
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from test_accounts import token_of
from webtools import client_for


@pytest.fixture
def client(store_copy):
    with client_for(store_copy) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/month/9999-12",
        "/api/v1/feed/month/9999-12",
        "/week/9999-W52",
        "/?date=9999-12-31",
        "/api/v1/feed?date=9999-12-31",
        "/week/\u0662\u0660\u0662\u0666-W09",  # Arabic-Indic digits are not a week key
        "/month/\u0662\u0660\u0662\u0666-02",
    ],
)
def test_period_keys_at_the_end_of_time_or_in_other_digits_are_refused(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])


@pytest.mark.parametrize(
    "path", ["/api/v1/feed?cat=%ff", "/?cat=%3Cb%3Ex", "/feed.atom?cat=%ff", "/?cat=cs.L%25"]
)
def test_a_feed_filtered_by_no_category_code_is_an_error_not_an_empty_page(client, path):
    response = client.get(path)
    assert response.status_code in (400, 422), (response.status_code, response.text[:200])
    assert "not a category code" in response.text


def test_a_feed_filtered_by_a_category_code_still_lists_it(client):
    response = client.get("/api/v1/feed?cat=cs.LG")
    assert response.status_code == 200, response.text


def post_state(client, body: str):
    token = token_of(client.get("/account").text)
    return client.post(
        f"/api/v1/library/papers/{XSS_ID}",
        content=body,
        headers={"Content-Type": "application/json", "X-CSRF-Token": token},
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"read": "false"}',
        '{"upvote": "no"}',
        '{"saved": null}',
        '{"tag": ["a", "b"]}',
        '{"note": ["<script>"]}',
        '{"tag": "\\u0000"}',
        '{"tag": "a\\nb"}',
        '{"note": "\\ud800"}',
        '{"tag": "\\ud800"}',
        '{"rating": "1"}',
    ],
)
def test_the_library_api_refuses_values_of_the_wrong_type_and_changes_nothing(client, body):
    before = client.get(f"/api/v1/library/papers/{XSS_ID}").json()
    response = post_state(client, body)
    assert response.status_code == 422, response.text  # the API's status for bad input
    assert response.json()["error"]["message"]
    assert client.get(f"/api/v1/library/papers/{XSS_ID}").json() == before


def test_the_library_api_still_takes_what_it_documents(client):
    response = post_state(
        client, '{"tag": "reading", "note": "line one\\nline two", "read": true, "upvote": true}'
    )
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["saved"] and state["tags"] == ["reading"] and state["upvoted"]
    assert state["note"] == "line one\nline two" and state["read_at"]


def test_head_is_answered_wherever_get_is(client):
    for path in ("/", f"/paper/{XSS_ID}", "/api/v1/search?q=attention", "/feed.atom"):
        got, head = client.get(path), client.head(path)
        assert got.status_code == 200 and head.status_code == 200, path
        assert head.content == b""
        assert head.headers.get("content-type") == got.headers.get("content-type")


def test_a_script_link_from_a_source_is_never_an_href(store_copy):
    with open_store(store_copy) as store:
        paper = Paper(
            title="Links that run code",
            arxiv_id="2611.09999",
            links={"code": "javascript:alert(1)", "project": "https://example.org/p"},
        )
        store.write_batch([paper], origin="old-import")  # as stored before the record check
    with client_for(store_copy) as client:
        page = client.get("/paper/2611.09999").text
    assert "javascript:" not in page
    assert 'href="https://example.org/p"' in page


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        json.dumps([{"type": "article", "title": {"a": 1}, "DOI": ["x"]}]).encode(),
        json.dumps([{"title": "T", "author": 5, "issued": {"date-parts": [5]}}]).encode(),
        json.dumps([{"title": "T", "author": [{"given": 1, "family": ["x"]}]}]).encode(),
    ],
)
def test_odd_csl_json_uploads_are_refused_or_read_without_a_crash(store_copy, data):
    with open_store(store_copy) as store:
        user = Accounts(store).local_user()
        try:
            result = import_library(store, user.id, data, filename="z.json")
        except InputError as exc:
            assert "not valid JSON" in str(exc) or "no papers" in str(exc)
            return
    assert result.format == "csl-json"


def test_a_csl_field_of_another_type_reads_as_missing():
    papers, rejected = parse_csl_json(
        json.dumps(
            [
                {
                    "title": {"a": 1},
                    "DOI": "10.1234/abc.def",
                    "author": [{"given": ["x"], "family": {"a": 1}}],
                }
            ]
        ).encode()
    )
    assert rejected == [] and [(p.title, p.doi, p.authors) for p in papers] == [
        ("", "10.1234/abc.def", [])
    ]
