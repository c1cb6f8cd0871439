"""Recommendations per user and per tag: a linear model on the papers' whole-text embeddings.

    recs = Recommender(engine).recommend(user_id, limit=20)

Model: logistic regression over the 384-d whole-text vectors (`DOC_PASSAGE`), positives = the
user's saved, upvoted and thumbs-up papers (per tag: that tag's papers) plus followed seed
papers, negatives = thumbs-down papers and `BACKGROUND` papers sampled from the store. It is
trained when the fingerprint of the user's rating rows changed (`Ratings.fingerprint`), kept
in memory and in table rec_models, and never retrained per request: serving is one
matrix-vector product over every paper (`DocMatrix`), a top-k, and diversification.

Cold start: followed authors, categories and saved queries give candidates of their own
("by <author>", "in <category>", "matches <query>"); their weight in the blend falls from 1
with no positives to `FOLLOW_FLOOR` at `COLD_POSITIVES` positives. Diversity: maximal marginal
relevance with `MMR_LAMBDA` over the best candidates, so one busy topic does not crowd out the
others. docs/recommendations.md has the figures behind each constant.
"""

from __future__ import annotations

import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from paperscope.errors import InputError, NotFoundError, QueryError
from paperscope.model import Paper
from paperscope.rank import query as q
from paperscope.rank.recs_matrix import DocMatrix
from paperscope.rank.search import SearchEngine
from paperscope.store.ratings import Ratings

MAX_LIMIT = 200
#: Background papers sampled as negatives for each training (seeded by user and ratings, so a
#: retrain on the same rows gives the same model).
BACKGROUND = 400
#: A thumbs-down weighs this many background papers.
NEGATIVE_WEIGHT = 3.0
#: Inverse regularisation of the logistic regression (bench/recs_quality.py sweep).
C = 1.0
#: Below this many positives the follows weigh more (cold start), down to `FOLLOW_FLOOR`.
COLD_POSITIVES = 10
FOLLOW_FLOOR = 0.2
#: Maximal marginal relevance: lambda x relevance - (1 - lambda) x max cosine to the papers
#: already picked (1 = no diversification).
MMR_LAMBDA = 0.7
#: Interests: the positives in average-linkage clusters cut at this cosine distance, at most
#: `MAX_INTERESTS` of them (bench/recs_quality.py); an interest of n positives gets a share
#: of the results proportional to n ** `COVERAGE_POWER` (0 = equal shares, 1 = by size).
INTEREST_DISTANCE = 0.75
MAX_INTERESTS = 8
COVERAGE_POWER = 1.0
#: Within an interest, relevance = this x the model's score + the rest x the candidate's
#: cosine to its nearest positive of that interest (each scaled to [0, 1] within the
#: interest): the model, trained on all positives, favours the busy interests' vocabulary, so
#: a small interest is served by its own neighbours (bench/recs_quality.py sweep).
INTEREST_BLEND = 0.5
#: Positives clustered at most (the most recent); the others join their nearest interest.
MAX_CLUSTERED = 300
#: Candidates diversified per result wanted, and at least this many.
POOL_PER_RESULT = 5
MIN_POOL = 100
#: Rows per model kept ranked between requests (the model's best, and each interest's).
CACHED_ROWS = 2000
#: Matches of a saved query taken as candidates.
QUERY_MATCHES = 100
#: Follow values in [0, 1]: an author's papers, a query's matches by rank, a category's papers
#: by recency.
AUTHOR_VALUE = 1.0
QUERY_VALUE = (0.95, 0.35)  # best match, drop to the last
CATEGORY_VALUE = (0.8, 0.3)  # newest, drop to the oldest
#: Models kept in memory per process (least recently used go first; rec_models keeps them).
MEMORY_MODELS = 2000


@dataclass(slots=True)
class Recommendation:
    rowid: int
    paper: Paper
    score: float
    reason: str  # "close to <title>", "by <author>", "in <category>", "matches <query>"
    kind: str  # "similar" | "author" | "category" | "query" | "seed"
    ref: str | None  # paper id / author name / category / query the reason names


@dataclass(slots=True)
class _Model:
    """What one (user, scope) is served from while its ratings stay the same."""

    fingerprint: str
    weights: np.ndarray | None  # dim weights + bias; None without positives
    positives: np.ndarray  # rowids the model learnt from (reasons name the nearest)
    seeds: frozenset[int]
    seen: np.ndarray  # rowids never to recommend
    follows: list[tuple[str, str]]
    embedded: int = 0  # positives with a vector when trained
    interests: np.ndarray | None = None  # unit centroids of the positives' clusters
    interest_sizes: np.ndarray | None = None
    # the clustered positives (rowids) and the interest each belongs to, for affinities
    member_rowids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    member_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # the best rows by the model and by each interest, for one matrix state (`_model_rows`)
    score_key: int = -1
    top_rows: np.ndarray | None = None
    top_logits: np.ndarray | None = None
    top_sims: np.ndarray | None = None
    loads: int = 0  # `DocMatrix.loads` when last checked
    # follow candidates, computed for one store state (generation, matrix loads)
    follow_key: tuple = ()
    follow_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    follow_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    follow_labels: list[tuple[str, str]] = field(default_factory=list)


class _State:
    """Per engine (so per process): the paper matrix and the models in memory."""

    def __init__(self, engine: SearchEngine) -> None:
        self.lock = threading.RLock()
        self.ratings = Ratings(engine.store)
        self.matrix = DocMatrix(self.ratings, engine.embedder.version, engine.embedder.dim)
        self.models: OrderedDict[tuple[int, str], _Model] = OrderedDict()


_STATES: weakref.WeakKeyDictionary[SearchEngine, _State] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def _state_of(engine: SearchEngine) -> _State:
    with _STATES_LOCK:
        state = _STATES.get(engine)
        if state is None:
            state = _STATES[engine] = _State(engine)
        return state


def _since_day(since: str | None) -> int:
    if since is None:
        return 0
    text = since.strip()
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.replace("-", "").isdigit():
        raise InputError(f"since must be a day YYYY-MM-DD, not {since!r}")
    return int(text.replace("-", ""))


class Recommender:
    """Recommendations from the papers of `engine`'s store. Cheap to create: the matrix and
    the models live with the engine and are shared by every Recommender on it."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.store = engine.store
        self._state = _state_of(engine)
        self.ratings = self._state.ratings
        #: Models trained by this Recommender (a request served from cache trains none).
        self.trainings = 0

    @property
    def matrix(self) -> DocMatrix:
        return self._state.matrix

    # ------------------------------------------------------------------ API

    def recommend(
        self,
        user_id: int,
        *,
        limit: int = 20,
        tag: str | None = None,
        since: str | None = None,
        exclude: Iterable[int] = (),
    ) -> list[Recommendation]:
        """Papers for the user (or for one of their tags), best first, diversified; never one
        they saved, rated, upvoted or tagged, nor one in `exclude`; `since` keeps papers
        published on or after that day."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be between 1 and {MAX_LIMIT}")
        since_day = _since_day(since)
        with self._state.lock:
            matrix = self.matrix
            matrix.ensure()
            model = self._model(user_id, tag)
            if not len(matrix):
                return []
            self._follow_candidates(model)
            allowed = np.ones(len(matrix), dtype=bool)
            allowed[matrix.positions(model.seen)] = False
            allowed[matrix.positions(np.fromiter(exclude, dtype=np.int64))] = False
            if since_day:
                allowed &= matrix.days >= since_day
            rows, scores, follow_part, affinity = self._candidates(model, allowed, limit)
            if not len(rows):
                return []
            interest = affinity.argmax(axis=1) if affinity.shape[1] else np.zeros(len(rows), int)
            groups, weights = self._groups(model, rows, scores, follow_part, interest)
            own = affinity[np.arange(len(rows)), interest] if affinity.shape[1] else scores.copy()
            own = np.where([g[0] == "interest" for g in groups], own, scores)
            picked = select(
                matrix.vectors[rows], scores, groups, weights, limit, MMR_LAMBDA, affinity=own
            )
            return self._explain(model, rows[picked], scores[picked], follow_part[picked])

    def invalidate(self, user_id: int) -> None:
        """Forget the user's models in memory (the next request checks the store anyway)."""
        with self._state.lock:
            for key in [k for k in self._state.models if k[0] == user_id]:
                del self._state.models[key]

    # ------------------------------------------------------------------ the model

    def _model(self, user_id: int, tag: str | None) -> _Model:
        """The cached model if the user's ratings did not change, else a new one."""
        scope = tag or ""
        fingerprint = self.ratings.fingerprint(user_id)
        models = self._state.models
        cached = models.get((user_id, scope))
        if cached is not None and cached.fingerprint == fingerprint:
            loads = self.matrix.loads
            # papers came or went: retrain only if a positive gained (or lost) its vector
            if cached.loads != loads:
                embedded = len(self.matrix.positions(cached.positives))
                cached.loads = loads if embedded == cached.embedded else -1
            if cached.loads == loads:
                models.move_to_end((user_id, scope))
                return cached
        model = self._build(user_id, scope, fingerprint)
        models[(user_id, scope)] = model
        while len(models) > MEMORY_MODELS:
            models.popitem(last=False)
        return model

    def _build(self, user_id: int, scope: str, fingerprint: str) -> _Model:
        ratings = self.ratings
        follows: list[tuple[str, str]] = []
        seeds: set[int] = set()
        if scope:
            tagged = ratings.tag_papers(user_id, scope)
            if tagged is None:
                raise NotFoundError(f"no tag {scope!r} in this library")
            positives = set(tagged)
        else:
            positives = set(ratings.positives(user_id))
            follows = ratings.follows(user_id)
            for kind, value in follows:
                if kind == "paper":
                    rowid = self.store.resolve(value)
                    if rowid is not None:
                        seeds.add(rowid)
        negatives = set(ratings.negatives(user_id)) - positives
        seen = ratings.seen(user_id)
        model = _Model(
            fingerprint=fingerprint,
            weights=None,
            positives=np.array(sorted(positives | seeds), dtype=np.int64),
            seeds=frozenset(seeds - positives),
            seen=np.array(sorted(seen | seeds), dtype=np.int64),
            follows=[(k, v) for k, v in follows if k != "paper"],
        )
        version = self.matrix.model
        pos_rows = self.matrix.positions(model.positives)
        neg_rows = self.matrix.positions(sorted(negatives))
        model.embedded, model.loads = len(pos_rows), self.matrix.loads
        model.interests, model.interest_sizes, labels = cluster_interests(
            self.matrix.vectors[pos_rows]
        )
        model.member_rowids = self.matrix.rowids[pos_rows[len(pos_rows) - len(labels) :]]
        model.member_labels = labels
        stored = ratings.load_model(user_id, scope)
        # a positive embedded since (a stub filled by a harvest) changes the training data
        # without changing the ratings: the count of positives with vectors is checked too
        if (
            stored is not None
            and (stored.fingerprint, stored.model) == (fingerprint, version)
            and stored.positives == len(pos_rows)
        ):
            weights = np.frombuffer(stored.weights, dtype=np.float32)
            if len(weights) == self.matrix.dim + 1 or not len(pos_rows):
                model.weights = weights if len(weights) else None
                return model
        if len(pos_rows):
            seed = zlib.crc32(f"{user_id}/{scope}/{fingerprint}".encode())
            model.weights = train(self.matrix.vectors, pos_rows, neg_rows, seed)
            self.trainings += 1
        ratings.save_model(
            user_id,
            scope,
            model=version,
            fingerprint=fingerprint,
            weights=b"" if model.weights is None else model.weights.tobytes(),
            positives=len(pos_rows),
            negatives=len(neg_rows),
        )
        return model

    # ------------------------------------------------------------------ follows

    def _follow_candidates(self, model: _Model) -> None:
        """Rows of the papers the follows point at, with their value and label, for the
        current store state (recomputed when papers come or go, not per request)."""
        matrix = self.matrix
        key = (self.store.generation(), matrix.loads)
        if model.follow_key == key or not model.follows:
            model.follow_key = key
            return
        best: dict[int, tuple[float, int]] = {}
        labels: list[tuple[str, str]] = []
        for kind, value in model.follows:
            found = self._follow_rowids(kind, value)
            if found is None or not len(found):
                continue
            label = len(labels)
            labels.append((kind, value))
            rows = matrix.positions(found)
            if not len(rows):
                continue
            if kind == "author":
                values = np.full(len(rows), AUTHOR_VALUE, dtype=np.float32)
            elif kind == "query":  # in rank order
                top, drop = QUERY_VALUE
                values = top - drop * np.arange(len(rows), dtype=np.float32) / max(len(rows), 1)
            else:  # category: newest first
                top, drop = CATEGORY_VALUE
                order = np.argsort(-matrix.days[rows], kind="stable")
                rank = np.empty(len(rows), dtype=np.float32)
                rank[order] = np.arange(len(rows), dtype=np.float32) / max(len(rows), 1)
                values = top - drop * rank
            for row, v in zip(rows.tolist(), values.tolist(), strict=True):
                if row not in best or v > best[row][0]:
                    best[row] = (v, label)
        model.follow_key = key
        model.follow_rows = np.fromiter(best, dtype=np.int64, count=len(best))
        model.follow_values = np.array([v for v, _ in best.values()], dtype=np.float32)
        model.follow_labels = [labels[i] for _, i in best.values()]

    def _follow_rowids(self, kind: str, value: str) -> np.ndarray | None:
        """Rowids a follow points at: an author's papers and a category's (lexical index
        filters), a saved query's best `QUERY_MATCHES` matches (hybrid search), in order."""
        try:
            if kind == "author":
                name = value.replace('"', " ").strip()
                if not name:
                    return None
                return self.engine.lexical.filter_rowids(q.parse(f'au:"{name}"'))
            if kind == "category":
                code = value.replace('"', "").strip()
                return self.engine.lexical.filter_rowids(q.parse(f'cat:"{code}"'))
            if kind == "query":
                hits = self.engine.search(value, mode="hybrid", limit=QUERY_MATCHES).hits
                return np.array([h.rowid for h in hits], dtype=np.int64)
        except (QueryError, InputError):
            return None  # a follow saved before the query language changed: skip it
        return None

    # ------------------------------------------------------------------ ranking

    def _candidates(
        self, model: _Model, allowed: np.ndarray, limit: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The best allowed rows by the blend of model and follows: rows, blended scores, the
        follow part of each score and each row's affinity to each interest (`_affinity`)."""
        pool = max(MIN_POOL, POOL_PER_RESULT * limit)
        follow_rows = model.follow_rows[allowed[model.follow_rows]]
        follow_vals = model.follow_values[allowed[model.follow_rows]]
        parts: list[np.ndarray] = []
        k = 0 if model.interests is None else len(model.interests)
        if model.weights is not None:
            rows, logits, sims = self._model_rows(model, allowed, pool)
            parts.append(rows[_top(logits, pool)])
            if k > 1:  # a small interest's best papers, whatever the model says
                each = max(limit, pool // k)
                parts.extend(rows[_top(sims[:, j], each)] for j in range(k))
        if len(follow_rows):
            parts.append(follow_rows[_top(follow_vals, pool)])
        if not parts:
            empty = np.zeros(0)
            return np.zeros(0, np.int64), empty, empty, np.zeros((0, 0), np.float32)
        rows = np.unique(np.concatenate(parts))
        logits = None
        affinity = np.zeros((len(rows), 0), dtype=np.float32)
        if model.weights is not None:
            logits, _ = self._score(model, rows)
            affinity = self._affinity(model, rows)
        share = 0.0
        if model.follows and len(model.follow_rows):
            cold = max(0.0, 1.0 - len(model.positives) / COLD_POSITIVES)
            share = FOLLOW_FLOOR + (1 - FOLLOW_FLOOR) * cold if logits is not None else 1.0
        relevance = (
            1 / (1 + np.exp(-logits.astype(np.float64)))
            if logits is not None
            else np.zeros(len(rows))
        )
        follow = np.zeros(len(rows))
        if len(model.follow_rows):
            index = np.searchsorted(rows, follow_rows)
            hit = (index < len(rows)) & (rows[np.minimum(index, len(rows) - 1)] == follow_rows)
            follow[index[hit]] = follow_vals[hit]
        scores = (1 - share) * relevance + share * follow
        keep = [_top(scores, pool * max(1, k))]
        if affinity.shape[1] > 1:  # and each interest's nearest papers, as gathered above
            keep.extend(_top(affinity[:, j], max(limit, pool // k)) for j in range(k))
        best = np.unique(np.concatenate(keep))
        best = best[np.lexsort((rows[best], -scores[best]))]
        return rows[best], scores[best], share * follow[best], affinity[best]

    def _affinity(self, model: _Model, rows: np.ndarray) -> np.ndarray:
        """Each row's cosine to its nearest positive of each interest (rows x interests):
        sharper than the centroid for an interest of a few papers on a narrow topic."""
        k = 0 if model.interests is None else len(model.interests)
        members = self.matrix.positions(model.member_rowids)
        present = np.isin(model.member_rowids, self.matrix.rowids[members])
        labels = model.member_labels[present]
        out = np.full((len(rows), k), -1.0, dtype=np.float32)
        if not len(members) or not k:
            return out
        sims = self.matrix.vectors[rows] @ self.matrix.vectors[members].T
        for j in range(k):
            if (labels == j).any():
                out[:, j] = sims[:, labels == j].max(axis=1)
        return out

    def _weights(self, model: _Model) -> np.ndarray:
        """The model's weights and the interests' centroids as columns of one matrix."""
        assert model.weights is not None
        centroids = model.interests if model.interests is not None else np.zeros((0, 0))
        columns = [model.weights[:-1], *centroids]
        return np.ascontiguousarray(np.column_stack(columns), dtype=np.float32)

    def _score(self, model: _Model, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logits and cosines to each interest of some rows."""
        both = self.matrix.vectors[rows] @ self._weights(model)
        return both[:, 0] + model.weights[-1], both[:, 1:]

    def _model_rows(
        self, model: _Model, allowed: np.ndarray, pool: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Allowed rows worth ranking, with logits and interest cosines. Scoring every paper
        is one pass over the matrix (100k papers: 10-30 ms, memory-bound), so it is done
        once per model and matrix state: the best `CACHED_ROWS` by the model and by each
        interest are kept, and a request ranks those of them it allows (a full pass again
        only when a filter such as `since` leaves too few of them)."""
        matrix = self.matrix
        if model.score_key != matrix.loads:
            both = matrix.vectors @ self._weights(model)
            logits = both[:, 0] + model.weights[-1]
            usable = np.ones(len(matrix), dtype=bool)
            usable[matrix.positions(model.seen)] = False
            k = both.shape[1] - 1
            parts = [_top(np.where(usable, logits, -np.inf), CACHED_ROWS)]
            parts.extend(
                _top(np.where(usable, both[:, 1 + j], -np.inf), CACHED_ROWS // k)
                for j in range(k)
                if k > 1
            )
            rows = np.unique(np.concatenate(parts))
            model.top_rows, model.top_logits, model.top_sims = rows, logits[rows], both[rows, 1:]
            model.score_key = matrix.loads
        keep = allowed[model.top_rows]
        if keep.sum() >= min(CACHED_ROWS // 2, allowed.sum()) or keep.sum() >= 4 * pool:
            return model.top_rows[keep], model.top_logits[keep], model.top_sims[keep]
        rows = np.flatnonzero(allowed)
        logits, sims = self._score(model, rows)
        return rows, logits, sims

    def _groups(
        self,
        model: _Model,
        rows: np.ndarray,
        scores: np.ndarray,
        follow_part: np.ndarray,
        interest: np.ndarray,
    ) -> tuple[list[tuple[str, int]], dict[tuple[str, int], float]]:
        """Each candidate's group for coverage: the follow it came from when the follow part
        of its score is the larger one, else the interest (cluster of positives) nearest it.
        Shares: an interest of n positives n ** COVERAGE_POWER, a follow 1."""
        labels: dict[int, int] = {}
        if len(model.follow_rows):
            where = {int(r): i for i, r in enumerate(model.follow_rows.tolist())}
            labels = {int(r): where[int(r)] for r in rows.tolist() if int(r) in where}
        follow_names = {}
        groups: list[tuple[str, int]] = []
        for i, row in enumerate(rows.tolist()):
            if row in labels and follow_part[i] >= scores[i] - follow_part[i]:
                name = model.follow_labels[labels[row]]
                groups.append(("follow", follow_names.setdefault(name, len(follow_names))))
            else:
                groups.append(("interest", int(interest[i])))
        sizes = model.interest_sizes if model.interest_sizes is not None else np.ones(1)
        weights = {
            g: (float(sizes[g[1]]) ** COVERAGE_POWER if g[0] == "interest" and len(sizes) else 1.0)
            for g in set(groups)
        }
        return groups, weights

    def _explain(
        self, model: _Model, rows: np.ndarray, scores: np.ndarray, follow_part: np.ndarray
    ) -> list[Recommendation]:
        matrix = self.matrix
        rowids = matrix.rowids[rows]
        pos_rows = matrix.positions(model.positives)
        nearest: list[int | None] = [None] * len(rows)
        if len(pos_rows):
            sims = matrix.vectors[rows] @ matrix.vectors[pos_rows].T
            nearest = [int(matrix.rowids[pos_rows[i]]) for i in sims.argmax(axis=1)]
        labels = {}
        if len(model.follow_rows):
            where = {int(r): i for i, r in enumerate(model.follow_rows.tolist())}
            labels = {int(r): model.follow_labels[where[int(r)]] for r in rows if int(r) in where}
        papers = self.store.load_rowids([*rowids.tolist(), *(n for n in nearest if n)])
        out = []
        for i, rowid in enumerate(rowids.tolist()):
            if rowid not in papers:
                continue  # deleted since the matrix last caught up
            row = int(rows[i])
            relevance_part = scores[i] - follow_part[i]
            if row in labels and (follow_part[i] >= relevance_part or nearest[i] is None):
                kind, ref = labels[row]
                reason = {"author": "by ", "category": "in ", "query": "matches "}[kind] + ref
            elif nearest[i] is not None and nearest[i] in papers:
                source = papers[nearest[i]]
                kind = "seed" if nearest[i] in model.seeds else "similar"
                ref, reason = source.id, f"close to {source.title}"
            else:
                continue
            out.append(Recommendation(rowid, papers[rowid], float(scores[i]), reason, kind, ref))
        return out


# ---------------------------------------------------------------------------------------------


def train(vectors: np.ndarray, pos_rows: np.ndarray, neg_rows: np.ndarray, seed: int) -> np.ndarray:
    """Logistic regression weights (dim + bias, float32) of positives against thumbs-down
    papers and a background sample; positives weigh as much as all negatives together."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    taken = np.union1d(pos_rows, neg_rows)
    want = min(BACKGROUND, len(vectors) - len(taken))
    background = np.zeros(0, dtype=np.int64)
    if want > 0:
        drawn = rng.choice(len(vectors), size=min(len(vectors), want + len(taken)), replace=False)
        background = drawn[~np.isin(drawn, taken)][:want]
    negatives = np.concatenate([neg_rows, background])
    positives = np.asarray(pos_rows)
    if not len(negatives):
        # nothing to contrast with (a store of only the user's papers): their centroid
        centre = vectors[positives].mean(axis=0)
        return np.append(centre, 0.0).astype(np.float32)
    x = vectors[np.concatenate([positives, negatives])]
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    negative_weight = NEGATIVE_WEIGHT * len(neg_rows) + len(background)
    weight = np.r_[
        np.full(len(positives), negative_weight / len(positives)),
        np.full(len(neg_rows), NEGATIVE_WEIGHT),
        np.ones(len(background)),
    ]
    clf = LogisticRegression(C=C, max_iter=1000)
    # one BLAS thread: L-BFGS on 385 weights gains nothing from more, and on a busy machine
    # threads waiting for each other made training 6x slower (bench/recs_quality.py)
    with threadpool_limits(limits=1, user_api="blas"):
        clf.fit(x, y, sample_weight=weight / weight.mean())
    return np.append(clf.coef_[0], clf.intercept_[0]).astype(np.float32)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` largest finite scores (any order)."""
    idx = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return idx[np.isfinite(scores[idx])]


def cluster_interests(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The user's interests from their positives' vectors: unit centroids of average-linkage
    clusters (cosine distance cut at `INTEREST_DISTANCE`, at most `MAX_INTERESTS`), the
    number of positives in each, largest first, and the interest of each clustered positive
    (the last `MAX_CLUSTERED` of `vectors`)."""
    n, dim = vectors.shape
    if n == 0:
        return np.zeros((0, dim), np.float32), np.zeros(0), np.zeros(0, np.int64)
    sample = vectors[-MAX_CLUSTERED:]
    if len(sample) == 1:
        labels = np.zeros(1, dtype=np.int64)
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        tree = linkage(sample.astype(np.float64), method="average", metric="cosine")
        labels = fcluster(tree, t=INTEREST_DISTANCE, criterion="distance")
        if labels.max() > MAX_INTERESTS:
            labels = fcluster(tree, t=MAX_INTERESTS, criterion="maxclust")
        labels = labels - 1
    centroids = np.stack([sample[labels == j].mean(axis=0) for j in range(labels.max() + 1)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    # every positive (the unclustered too) counts towards its nearest interest
    sizes = np.bincount((vectors @ centroids.T).argmax(axis=1), minlength=len(centroids))
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return centroids[order].astype(np.float32), sizes[order].astype(np.float64), rank[labels]


def select(
    vectors: np.ndarray,
    scores: np.ndarray,
    groups: list,
    weights: dict,
    k: int,
    lam: float,
    affinity: np.ndarray | None = None,
) -> np.ndarray:
    """Coverage, then maximal marginal relevance: each pick goes to the group furthest below
    its share (picks + 1) / weight, and within it to the candidate maximising lam x relevance
    (its group's scores scaled to [0, 1], blended with `INTEREST_BLEND` with its `affinity` to
    the group scaled likewise, if given) - (1 - lam) x its highest cosine to the papers
    already picked.
    Returns indices of up to `k` candidates in pick order."""
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sims = vectors @ vectors.T
    closest = np.zeros(n)
    free = np.ones(n, dtype=bool)
    keys = list(dict.fromkeys(groups))  # groups in order of their best candidate
    members = {g: np.array([i for i, x in enumerate(groups) if x == g]) for g in keys}
    # relevance is scaled within each group: a follow's candidates and an interest's are
    # picked by their order among themselves, whatever the blend did to their levels
    relevance = _scaled_within(scores, members.values())
    if affinity is not None:
        near = _scaled_within(affinity, members.values())
        relevance = INTEREST_BLEND * relevance + (1 - INTEREST_BLEND) * near
    taken = dict.fromkeys(keys, 0)
    picked: list[int] = []
    for _ in range(min(k, n)):
        open_groups = [g for g in keys if free[members[g]].any()]
        group = min(open_groups, key=lambda g: ((taken[g] + 1) / weights[g], keys.index(g)))
        idx = members[group][free[members[group]]]
        gain = lam * relevance[idx] - (1 - lam) * closest[idx]
        best = int(idx[int(np.argmax(gain))])
        picked.append(best)
        taken[group] += 1
        free[best] = False
        closest = np.maximum(closest, sims[best])
    return np.array(picked, dtype=np.int64)


def _scaled_within(values: np.ndarray, groups: Iterable[np.ndarray]) -> np.ndarray:
    """`values` scaled to [0, 1] within each group of indices (1 where a group is flat)."""
    out = np.ones(len(values))
    for idx in groups:
        low, span = float(values[idx].min()), float(np.ptp(values[idx]))
        if span > 0:
            out[idx] = (values[idx] - low) / span
    return out


def _mmr(vectors: np.ndarray, scores: np.ndarray, k: int, lam: float) -> np.ndarray:
    """Maximal marginal relevance: indices of `k` items, each maximising lam x relevance (the
    scores scaled to [0, 1]) - (1 - lam) x its highest cosine to the items already taken."""
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(scores.max() - scores.min())
    relevance = (scores - scores.min()) / span if span > 0 else np.ones(n)
    sims = vectors @ vectors.T
    closest = np.full(n, -np.inf)
    free = np.ones(n, dtype=bool)
    picked: list[int] = []
    for _ in range(min(k, n)):
        gain = lam * relevance - (1 - lam) * np.where(np.isfinite(closest), closest, 0.0)
        gain[~free] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        free[best] = False
        closest = np.maximum(closest, sims[best])
    return np.array(picked, dtype=np.int64)
