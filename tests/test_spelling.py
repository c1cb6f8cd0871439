"""British and American spellings of one word (index/spelling.py)."""

from __future__ import annotations

import pytest

from paperscope.index.spelling import american_spelling, british_spelling


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("normalisation", "normalization"),
        ("organisations", "organizations"),
        ("optimiser", "optimizer"),
        ("generalising", "generalizing"),
        ("analyse", "analyze"),
        ("behaviour", "behavior"),
        ("behavioural", "behavioral"),
        ("colours", "colors"),
        ("favourite", "favorite"),
        ("centre", "center"),
        ("catalogue", "catalog"),
        ("haemoglobin", "hemoglobin"),
        ("oestrogen", "estrogen"),
        ("paediatric", "pediatric"),
        ("defence", "defense"),
        ("grey", "gray"),
        ("programme", "program"),
    ],
)
def test_each_spelling_gives_the_other(british, american):
    assert american_spelling(british) == american
    assert american_spelling(american) is None  # American already
    assert british_spelling(american) == british
    assert british_spelling(british) is None  # British already


@pytest.mark.parametrize(
    "word",
    [
        "four",  # not "for": a changed ending keeps three letters before it
        "size",
        "rise",
        "modeling",  # the stemmer joins modelling and modeling already
        "x86",
        "learning",
        "",
    ],
)
def test_words_without_another_spelling(word):
    assert american_spelling(word) is None and british_spelling(word) is None
