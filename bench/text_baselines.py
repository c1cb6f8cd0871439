"""The two reference rankers of issue 10's held-back check, over title + abstract as one text.

- ``bm25``: plain Okapi BM25 (k1 1.2, b 0.75), English stop words removed, no field boosts,
  no phrase evidence: what "BM25 alone" means in the issue.
- ``tfidf``: cosine between the query and each paper in a TF-IDF space of words and adjacent
  word pairs (scikit-learn, n-grams 1-2, sublinear tf, English stop words removed): the
  issue's "TF-IDF of words and word pairs", which did best on its held-back queries.

Each ranks the whole collection and lists up to 100 papers with a score above 0, so a query
with no word in any paper gets an empty list, as paperscope's lexical mode does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

LIMIT = 100
Ranker = Callable[[str], list[int]]


def _top(scores: np.ndarray, rowids: np.ndarray) -> list[int]:
    order = np.argsort(-scores, kind="stable")[:LIMIT]
    return [int(rowids[i]) for i in order if scores[i] > 0]


def bm25(texts: dict[int, str], k1: float = 1.2, b: float = 0.75) -> Ranker:
    rowids = np.array(sorted(texts))
    vectorizer = CountVectorizer(stop_words="english")
    counts = vectorizer.fit_transform([texts[r] for r in rowids]).tocsc().astype(float)
    n = counts.shape[0]
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    df = np.diff(counts.indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    analyse, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_

    def rank(query: str) -> list[int]:
        scores = np.zeros(n)
        for word in set(analyse(query)):
            j = vocabulary.get(word)
            if j is None:
                continue
            start, end = counts.indptr[j], counts.indptr[j + 1]
            rows, tf = counts.indices[start:end], counts.data[start:end]
            scores[rows] += idf[j] * tf * (k1 + 1) / (tf + norm[rows])
        return _top(scores, rowids)

    return rank


def tfidf_pairs(texts: dict[int, str]) -> Ranker:
    rowids = np.array(sorted(texts))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform([texts[r] for r in rowids])

    def rank(query: str) -> list[int]:
        scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
        return _top(scores, rowids)

    return rank
