"""Fusing ranked lists from the lexical and the semantic side.

Every ranker returns ``[(rowid, score), ...]`` best first. Two fusions and one re-ranking are
here:

- `weighted_sum` (the default for search): each list's scores divided by that list's best
  score, then ``share * lexical + (1 - share) * semantic``; a paper missing from a list gets
  0 from it. Chosen by bench/search_quality.py over reciprocal rank fusion (k 5-60, weights
  0.5-2), min-max scaling of the semantic side and a CombMNZ bonus for papers in both lists:
  none scored higher on most query sets (docs/bench/search_quality.txt).
- `rrf`: weighted reciprocal rank fusion, used where scores are not comparable across lists.
- `neighbourhood` (hybrid search, after `weighted_sum`): each candidate's fused score blended
  with its closeness to the head of the fused list, in whole-text embedding space (pseudo-
  relevance feedback). Papers on the topic of a query sit near each other; a paper that only
  shares a word with the query sits apart from the head. It is the one piece of evidence that
  lifted both topic sets and the Hugging Face page at once, known items unchanged, and the
  leave-one-set-out check of bench/search_quality.py picks it whichever set is left out.

A paper missing from one list (no vector yet, or no lexical match) is ranked by the list it is
in rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

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
#: Neighbourhood evidence: the head of the fused list this long is the topic's centroid...
NEIGHBOURHOOD_SEEDS = 20
#: ...and a candidate's score is ``(1 - share) * fused/best + share * closeness/closest``
#: (0 turns it off). Fitted with the lexical share by bench/search_quality.py
#: (docs/bench/search_quality.txt): with the adjacency evidence of the lexical side, 20 seeds
#: at 0.2 come first of the sweep (7 of 8 sets within 0.01 of the best setting, the best mean)
#: and are chosen for 6 of the 8 sets when each is left out; 10 seeds at 0.4, the previous
#: default, pulled the Hugging Face 'kazakh' page 0.04 below lexical alone.
NEIGHBOURHOOD_SHARE = 0.2
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


def neighbourhood(
    ranked: Ranking,
    vectors: Mapping[int, np.ndarray],
    seeds: int = NEIGHBOURHOOD_SEEDS,
    share: float = NEIGHBOURHOOD_SHARE,
) -> list[tuple[int, float]]:
    """`ranked` (best first, scores > 0) re-scored by closeness to its first `seeds` papers.

    `vectors`: unit whole-text vectors by rowid. Closeness is the cosine to the mean vector of
    the seeds that have one, divided by the best candidate's. A paper without a vector (not
    embedded yet) keeps its own scaled score in place of a closeness, so it neither gains nor
    loses; with no seed vector, or `share` 0, the list comes back as it was."""
    ranked = list(ranked)
    if share <= 0 or seeds <= 0 or len(ranked) < 2 or ranked[0][1] <= 0:
        return ranked
    head = [vectors[r] for r, _ in ranked[:seeds] if r in vectors]
    if not head:
        return ranked
    centroid = np.mean(head, axis=0)
    close = {r: float(vectors[r] @ centroid) for r, _ in ranked if r in vectors}
    closest = max(close.values())
    if closest <= 0:
        return ranked
    best = ranked[0][1]
    rescored = []
    for rowid, score in ranked:
        own = score / best
        near = close[rowid] / closest if rowid in close else own
        rescored.append((rowid, (1 - share) * own + share * near))
    return sorted(rescored, key=lambda item: (-item[1], item[0]))
