"""The JSON API answers what docs/api.md documents: every key present (null, not missing),
the documented error shape and status codes."""

from __future__ import annotations

import jsonschema
import numpy as np
import pytest

from paperscope.index import layout
from paperscope.store import map as store_map
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from webtools import client_for


def test_map_before_a_build_has_the_documented_keys_as_null(client):
    # docs/api.md: `built_at` / `topics_built_at` are null before the builds; a client
    # reading `answer["built_at"]` must not meet a KeyError on an unbuilt map
    answer = client.get("/api/v1/map").json()
    assert answer["built"] is False
    assert answer["built_at"] is None
    assert "topics_built_at" in answer
    assert set(answer) == {
        "built", "built_at", "topics_built_at", "zoom", "complete", "tile_points",
        "ids", "x", "y", "topic",
    }  # fmt: skip


@pytest.fixture
def multi_user(store_copy):
    """A multi-user server over a copy of the samples, with one account and its API token."""
    with open_store(store_copy) as store:
        accounts = Accounts(store)
        ada = accounts.add("ada@example.org", "correct horse battery staple")
        token = accounts.create_token(ada.id, "script")
        ident = store.conn.execute("SELECT id FROM papers ORDER BY rowid LIMIT 1").fetchone()[0]
    with client_for(store_copy, single_user=False) as client:
        yield client, token, ident


def test_an_anonymous_post_to_the_library_api_is_401_not_403(multi_user):
    # docs/api.md: 401 without a session or token; 403 is only for a *session* POST without
    # X-CSRF-Token. A client told "CSRF token" would look for a cookie it never had.
    client, _, ident = multi_user
    answer = client.post(f"/api/v1/library/papers/{ident}", json={"saved": True})
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == 401
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        # a form body, as curl -d sends by default: the media type is the fault, not a field
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"saved=true", 415, "JSON"),
        ({}, b'{"saved": true}', 415, "JSON"),
        ({"Content-Type": "application/json"}, b"{saved: true", 422, "not valid JSON"),
        ({"Content-Type": "application/json"}, b"[true]", 422, "JSON object"),
        ({"Content-Type": "application/json"}, b"", 422, "empty"),
    ],
)
def test_a_library_post_body_that_is_not_a_json_object_says_what_to_send(
    multi_user, headers, body, status, says
):
    client, token, ident = multi_user
    answer = client.post(
        f"/api/v1/library/papers/{ident}",
        content=body,
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["status"] == status and says in error["message"]
    assert "application/json" in error["hint"]
    # nothing was changed
    state = client.get(
        f"/api/v1/library/papers/{ident}", headers={"Authorization": f"Bearer {token}"}
    )
    assert state.json()["saved"] is False


def test_a_library_post_with_a_json_object_still_works_and_the_schema_documents_it(multi_user):
    client, token, ident = multi_user
    answer = client.post(
        f"/api/v1/library/papers/{ident}",
        json={"saved": True, "rating": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200 and answer.json()["saved"] is True
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/library/papers/{ident}"]
    body = operation["post"]["requestBody"]
    assert body["required"] is True and "application/json" in body["content"]
    assert "415" in operation["post"]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # the library route takes GET and POST: Starlette's 405 said `Allow: GET` only
        ("PUT", "/api/v1/library/papers/2306.00001", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/library/papers/2306.00001", "GET, HEAD, POST"),
        # GET routes take HEAD too (HeadMiddleware), so Allow names it
        ("POST", "/api/v1/search?q=graph", "GET, HEAD"),
        ("OPTIONS", "/api/v1/paper/2306.00001", "GET, HEAD"),
    ],
)
def test_405_names_every_method_the_url_takes(client, method, path, allow):
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allow
    error = answer.json()["error"]
    assert error["status"] == 405 and method in error["message"]
    assert error["hint"] == f"this URL answers {allow}"


@pytest.mark.parametrize("page", ["0", "-3"])
def test_the_library_api_refuses_a_page_below_1(client, page):
    answer = client.get("/api/v1/library", params={"page": page})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["status"] == 422 and "page" in error["message"]
    assert client.get("/api/v1/library", params={"page": "1"}).json()["page"] == 1


@pytest.mark.parametrize(
    ("path", "schema", "item"),
    [
        ("/api/v1/search?q=graph", "SearchResponse", "SearchHit"),
        ("/api/v1/feed/month/2026-02", "FeedResponse", "PaperSummary"),
        ("/api/v1/category/cs.LG", "CategoryResponse", "PaperSummary"),
    ],
)
def test_the_schema_requires_every_key_an_answer_always_has(client, path, schema, item):
    # every answer carries these keys (null or not); a schema calling them optional made a
    # generated client type `notice`, `facets`, `snippet`... as possibly absent
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    answer = client.get(path).json()
    assert answer["results"], path
    for name, keys in [(schema, set(answer)), (item, set(answer["results"][0]))]:
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]) == keys, name


def test_the_schema_requires_every_key_of_a_paper(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    ident = client.get("/api/v1/search?q=graph").json()["results"][0]["id"]
    paper = client.get(f"/api/v1/paper/{ident}").json()
    assert set(schemas["PaperFull"]["required"]) == set(paper)  # `topic` was optional


def _conforms(client, path: str, operation: str) -> dict:
    """The answer to `path`, checked against the 200 schema /openapi.json gives `operation`."""
    spec = client.get("/openapi.json").json()
    content = spec["paths"][operation]["get"]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": spec["components"]}
    assert schema.get("$ref") or schema.get("properties"), f"{operation}: no response schema"
    answer = client.get(path)
    assert answer.status_code == 200, path
    jsonschema.validate(answer.json(), schema)
    return answer.json()


def test_the_library_answer_has_a_schema_it_conforms_to(multi_user):
    """/api/v1/library had no response model: /openapi.json said nothing of its keys."""
    client, token, ident = multi_user
    auth = {"Authorization": f"Bearer {token}"}
    saved = client.post(
        f"/api/v1/library/papers/{ident}", json={"saved": True, "tag": "to read"}, headers=auth
    )
    assert saved.status_code == 200
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/api/v1/library"]["get"]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": spec["components"]}
    assert schema.get("$ref"), "no response schema"
    answer = client.get("/api/v1/library", headers=auth).json()
    jsonschema.validate(answer, schema)
    assert answer["total"] == 1 and answer["tags"][0]["name"] == "to read"
    schemas = spec["components"]["schemas"]
    for name, keys in [
        ("LibraryOut", set(answer)),
        ("LibraryPaperOut", set(answer["papers"][0])),
        ("LibraryTagOut", set(answer["tags"][0])),
    ]:
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]) == keys, name


def test_the_map_answers_have_a_schema_they_conform_to(store_copy):
    # the map routes had no response model: the schema said nothing of their keys
    with open_store(store_copy) as store:
        rowids = np.array(
            [r[0] for r in store.conn.execute("SELECT rowid FROM papers ORDER BY rowid")]
        )
        xy = np.random.default_rng(3).random((len(rowids), 2))
        levels, cells, deepest = layout.assign_tiles(xy, rowids, tile_points=4)
        built = store_map.MapState(
            "m", "pca", len(rowids), len(rowids), deepest, 4, 0.0, "2026-01-01T00:00:00Z"
        )
        store_map.replace_points(store, rowids, xy, levels, cells, built)
    with client_for(store_copy) as client:
        spec = client.get("/openapi.json").json()["components"]["schemas"]
        assert set(spec["MapAnswer"]["required"]) == set(spec["MapAnswer"]["properties"])
        answer = _conforms(client, "/api/v1/map?bbox=0,0,1,1&zoom=1", "/api/v1/map")
        assert answer["built"] and answer["ids"]
        assert answer["built_at"] == "2026-01-01T00:00:00Z"
        assert set(answer) == set(spec["MapAnswer"]["properties"])
        _conforms(client, "/api/v1/map/labels", "/api/v1/map/labels")
        today = _conforms(client, "/api/v1/map/points?set=today", "/api/v1/map/points")
        assert today["ids"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/feed",
        "/api/v1/feed/month/2026-02",
        "/api/v1/category/cs.LG",
        "/api/v1/search?q=graph",
    ],
)
def test_an_offset_past_64_bits_is_an_empty_page_with_the_total(client, path):
    # the feed answered 422 "a number is out of range" (SQLite's OFFSET is 64-bit) where the
    # other lists answer the empty page past their end
    answer = client.get(f"{path}{'&' if '?' in path else '?'}offset={2**64}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["results"] == [] and body["next"] is None and body["total"] > 0
    assert body["offset"] == 2**64


def test_a_401_says_how_to_authenticate(multi_user):
    client, _, _ = multi_user
    anonymous = client.get("/api/v1/library")
    assert anonymous.status_code == 401
    assert "/account" in anonymous.json()["error"]["hint"]
    assert anonymous.headers["www-authenticate"] == "Bearer"
    refused = client.get("/api/v1/library", headers={"Authorization": "Bearer ps_revoked"})
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["message"] == "the API token is not valid" and "/account" in error["hint"]
    # RFC 6750: a token that was sent and refused is named so in the challenge
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_the_personal_answers_have_a_schema_they_conform_to(multi_user):
    # the paper-state and recommendations routes had an empty response schema
    client, token, ident = multi_user
    auth = {"Authorization": f"Bearer {token}"}
    spec = client.get("/openapi.json").json()

    def check(method: str, operation: str, answer) -> dict:
        assert answer.status_code == 200, answer.text
        content = spec["paths"][operation][method]["responses"]["200"]["content"]
        schema = {**content["application/json"]["schema"], "components": spec["components"]}
        assert schema.get("$ref"), f"{method} {operation}: no response schema"
        jsonschema.validate(answer.json(), schema)
        return answer.json()

    state = "/api/v1/library/papers/{ident}"
    saved = client.post(f"/api/v1/library/papers/{ident}", json={"saved": True}, headers=auth)
    assert check("post", state, saved)["saved_at"].endswith("Z")
    check("get", state, client.get(f"/api/v1/library/papers/{ident}", headers=auth))
    recs = check(
        "get", "/api/v1/recommendations", client.get("/api/v1/recommendations", headers=auth)
    )
    assert recs["recommendations"]
