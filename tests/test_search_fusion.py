"""The neighbourhood re-ranking of hybrid search (rank/fusion.py)."""

from __future__ import annotations

import numpy as np

from paperscope.rank import fusion


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


TOPIC, OTHER = unit(1, 0, 0), unit(0, 1, 0)


def test_a_paper_near_the_head_passes_one_that_only_shares_a_word():
    # 1-3 are the head, about one topic; 4 shares a word only, 5 is on the topic
    ranked = [(1, 1.0), (2, 0.9), (3, 0.8), (4, 0.5), (5, 0.45)]
    vectors = {1: TOPIC, 2: TOPIC, 3: unit(1, 0.1, 0), 4: OTHER, 5: unit(1, 0.2, 0)}
    out = fusion.neighbourhood(ranked, vectors, seeds=3, share=0.4)
    order = [r for r, _ in out]
    assert order.index(5) < order.index(4)
    assert order[:3] == [1, 2, 3]
    # the score is the stated blend: (1 - share) * fused/best + share * closeness/closest
    centroid = np.mean([vectors[r] for r in (1, 2, 3)], axis=0)
    close = {r: float(v @ centroid) for r, v in vectors.items()}
    expected = 0.6 * 0.5 + 0.4 * close[4] / max(close.values())
    assert abs(dict(out)[4] - expected) < 1e-6


def test_off_and_degenerate_lists_come_back_as_they_were():
    ranked = [(1, 1.0), (2, 0.5)]
    vectors = {1: TOPIC, 2: OTHER}
    assert fusion.neighbourhood(ranked, vectors, share=0.0) == ranked
    assert fusion.neighbourhood(ranked, {}, share=0.4) == ranked  # no vector at all
    assert fusion.neighbourhood(ranked[:1], vectors, share=0.4) == ranked[:1]
    assert fusion.neighbourhood([], vectors, share=0.4) == []


def test_a_paper_without_a_vector_keeps_its_own_score():
    # just imported, not embedded yet: it neither gains nor loses against its fused score
    ranked = [(1, 2.0), (2, 1.0), (3, 0.5)]
    vectors = {1: TOPIC, 2: OTHER}
    out = dict(fusion.neighbourhood(ranked, vectors, seeds=2, share=0.4))
    assert abs(out[3] - 0.25) < 1e-9
    assert set(out) == {1, 2, 3}
