"""The JSON API answers what docs/api.md documents: every key present (null, not missing),
the documented error shape and status codes."""

from __future__ import annotations


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
