"""Fusing ranked lists from the lexical and the semantic side.

Every ranker returns ``[(rowid, score), ...]`` best first. Two fusions are here:

- `weighted_sum` (the default for search): each list's scores divided by that list's best
  score, then ``share * lexical + (1 - share) * semantic``; a paper missing from a list gets
  0 from it. Chosen by bench/search_quality.py over reciprocal rank fusion (k 5-60, weights
  0.5-2), min-max scaling of the semantic side and a CombMNZ bonus for papers in both lists:
  none scored higher on most query sets (docs/bench/search_quality.txt).
- `rrf`: weighted reciprocal rank fusion, used where scores are not comparable across lists.

A paper missing from one list (no vector yet, or no lexical match) is ranked by the list it is
in rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

Ranking = Sequence[tuple[int, float]]

#: Lexical share of the weighted sum, fitted on every query set of bench/search_quality.py
#: (docs/bench/search_quality.txt): 0.75 ties the best on the known-item sets and is the
#: smallest share that keeps the Hugging Face page above lexical alone; more semantic weight
#: helps the category-topic set a little (0.20 at 0.6) and costs the page (0.75 at 0.6).
LEXICAL_SHARE = 0.75
#: How semantic scores are scaled before the sum: "max" (divided by the best, as lexical
#: scores are) or "minmax" (the best candidate 1, the last 0). Cosines of a short query's
#: candidates lie close together, so divided by the best they are all near 1 and barely order
#: the fused list; min-max spreads them over the same range as the lexical side's.
SEMANTIC_SCALE = "max"
#: RRF's damping constant: larger flattens the head of each list.
RRF_K = 60


def _scaled(ranking: Ranking) -> dict[int, float]:
    best = max((score for _, score in ranking), default=0.0)
    if best <= 0:
        return {rowid: 0.0 for rowid, _ in ranking}
    return {rowid: score / best for rowid, score in ranking}


def _min_max(ranking: Ranking) -> dict[int, float]:
    if len(ranking) < 2:
        return _scaled(ranking)
    low = min(score for _, score in ranking)
    high = max(score for _, score in ranking)
    if high <= low:
        return _scaled(ranking)
    return {rowid: (score - low) / (high - low) for rowid, score in ranking}


def weighted_sum(
    lexical: Ranking,
    semantic: Ranking,
    share: float = LEXICAL_SHARE,
    semantic_scale: str | None = None,
) -> list[tuple[int, float]]:
    """``share * lexical/max + (1 - share) * semantic scaled``, best first (ties by rowid);
    `semantic_scale` defaults to SEMANTIC_SCALE."""
    scale = semantic_scale or SEMANTIC_SCALE
    lex, sem = _scaled(lexical), (_min_max if scale == "minmax" else _scaled)(semantic)
    fused = {r: share * lex.get(r, 0.0) + (1 - share) * sem.get(r, 0.0) for r in lex.keys() | sem}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def rrf(
    rankings: Sequence[Ranking], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: score = sum over lists of weight / (k + rank)."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (rowid, _) in enumerate(ranking, start=1):
            fused[rowid] = fused.get(rowid, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
