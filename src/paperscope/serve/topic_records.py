"""The JSON shape of one topic, shared by `paperscope topics show --json` and the API."""

from __future__ import annotations

from paperscope.rank.topics import TopicDetail
from paperscope.serve.records import paper_summary


def detail_json(found: TopicDetail) -> dict:
    """`topics show --json` and GET /api/v1/topics/{id}."""
    t = found.topic
    return {
        **t.as_dict(),
        "aspect": t.aspect,
        "level": t.level,
        "subtopics": [c.as_dict() for c in found.children],
        "neighbours": [{**n.as_dict(), "similarity": round(s, 4)} for n, s in found.neighbours],
        "months": [{"month": m, "papers": n} for m, n in found.months],
        "authors": [{"name": a, "papers": n} for a, n in found.authors],
        "central": [paper_summary(p) for p in found.central],
    }
