"""Embedding the papers that lack vectors on Ray actors, for corpora too large for one machine.

The driver (the process running `paperscope embed --ray`) owns the store: it reads the papers,
ships their titles and abstracts to the actors, and writes the vectors back one batch per
transaction, as plain `embed` does. Actors only compute: each loads the ONNX model once and
turns batches of texts into vectors, so they need neither the store nor its credentials, and
any store backend works.

A batch whose actor dies goes back to the queue for the actors still alive (once: a batch that
kills two actors is left for the next run). Every written batch is committed, so when every
actor is gone, or the driver itself is killed, a rerun embeds exactly the papers still missing.

Ray is an optional extra (`pip install -e '.[cluster]'`), imported only here and only when used.
"""

from __future__ import annotations

import inspect
import logging
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from paperscope.errors import PaperscopeError
from paperscope.index.embedder import Embedder, MiniLMEmbedder, available_cores
from paperscope.index.embedding import (
    DEFAULT_BATCH,
    _longest_first,
    embed_batch,
    finish_embedded,
)

if TYPE_CHECKING:
    from paperscope.index.vectors import VectorIndex
    from paperscope.store.sqlite import SQLiteStore

#: Batches queued on each actor: one computing, one waiting, so an actor never idles while the
#: driver writes its last result.
IN_FLIGHT = 2
#: The smallest batch chosen for a small run: below it, the trip to the actor costs more.
MIN_BATCH = 8
#: A batch goes back to the queue when its actor dies, at most this many times in one run.
ATTEMPTS = 2
#: How long to wait for the first actor to load its model before giving up (no free CPU on
#: the cluster, or the nodes cannot start one).
READY_TIMEOUT = 600.0

INSTALL_HINT = "pip install -e '.[cluster]'  (or: pip install 'ray[default]>=2.6')"

EmbedderFactory = Callable[[int], Embedder]


class RayEmbedError(PaperscopeError):
    """The Ray cluster cannot be reached, or its actors cannot embed."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayEmbedError(
            "embedding on Ray needs the 'ray' package, which is not installed", hint=INSTALL_HINT
        ) from None
    return ray


#: Seconds a cluster address may take to accept a connection before it is called unreachable.
REACH_SECONDS = 5.0


def check_reachable(address: str) -> None:
    """Fail fast when nothing listens at a "host:port" or "ray://host:port" address: `ray.init`
    would retry for minutes, printing warnings, before giving up."""
    if address == "auto":
        return  # Ray finds the cluster this machine started itself
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # not host:port; Ray reports what is wrong with it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as exc:
        raise RayEmbedError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}",
            hint="start it with `ray start --head` there, or check the address and port "
            "(the head's GCS port, 6379 by default; ray:// addresses use the client port, "
            "10001)",
        ) from exc


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """The `ray` module, connected: to `address` ("auto", "ray://host:port", "host:port"), or
    without one to a new local instance of `num_cpus` CPUs (default: this machine's cores).

    A connection made here is closed on exit, and while it is open, what Ray prints to stdout
    goes to stderr; one the caller made before is reused as is.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    # actors' output would tear through the progress bar: their errors reach the driver as
    # exceptions anyway
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address is None:
            # "local": a new instance even when `ray start` runs a cluster on this machine
            ray.init(
                address="local",
                num_cpus=num_cpus or available_cores(),
                include_dashboard=False,
                **options,
            )
        else:
            check_reachable(address)
            ray.init(address=address, **options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or "a local Ray instance"
        raise RayEmbedError(
            f"cannot start or reach {where}: {exc}",
            hint="start a cluster with `ray start --head` and pass its address (or 'auto')",
        ) from exc
    # Ray prints its cluster's error reports (a worker died...) to sys.stdout, where they
    # would break `--json` output: they are diagnostics, so they go to stderr
    with redirect_stdout(sys.stderr):
        try:
            yield ray
        finally:
            ray.shutdown()


class EmbedWorker:
    """One Ray actor: an embedder loaded once, turning batches of papers into vectors."""

    def __init__(self, factory: EmbedderFactory, threads: int) -> None:
        self.embedder = factory(threads)
        # load the model now, so `ready` means ready and a broken node fails before any batch
        self.embedder.embed_documents(["warm up"])

    def ready(self) -> str:
        """The embedder's version: the driver checks every actor makes the vectors it expects."""
        return self.embedder.version

    def embed(
        self, papers: Sequence[tuple[int, str, str]]
    ) -> tuple[list[tuple[int, int, bytes]], list[np.ndarray]]:
        return embed_batch(self.embedder, papers)


def factory_for(embedder: Embedder) -> EmbedderFactory:
    """The factory making, on an actor, the same embedder as the driver's `embedder` (on the
    actor's own threads): the constructor's keyword arguments the embedder keeps as attributes
    of the same name are copied. Each actor's version is checked against the driver's anyway."""
    if not isinstance(embedder, MiniLMEmbedder):
        raise RayEmbedError(
            f"embedding on Ray supports the bundled model only, not {embedder.name}"
        )
    # threads: the actor's CPUs; session options: onnxruntime objects do not travel
    skip = {"self", "threads", "session_options"}
    options = {
        name: getattr(embedder, name)
        for name in inspect.signature(MiniLMEmbedder.__init__).parameters
        if name not in skip and hasattr(embedder, name)
    }
    return partial(_make_minilm, options)


def _make_minilm(options: dict[str, Any], threads: int) -> Embedder:
    return MiniLMEmbedder(**options, threads=threads)


@dataclass
class RayEmbedResult:
    embedded: list[int] = field(default_factory=list)  # rowids written, in order
    actors: int = 0  # actors asked for
    actors_started: int = 0  # that loaded the model and took work
    actors_lost: int = 0  # that died during the run
    left: int = 0  # papers still missing at the end (every actor died): a rerun embeds them
    error: str | None = None  # why the last actor died, when one did
    first_ready: float | None = None  # time.monotonic() when the first actor had its model


@dataclass
class _Batch:
    rowids: list[int]
    attempts: int = 0


class RayEmbedRun:
    """One run of embedding on the connected Ray cluster (`ray_session`).

    `actors` holds the actor handles once `run` has started them: a test kills one with
    `ray.kill` to see the run survive it.
    """

    def __init__(
        self,
        store: SQLiteStore,
        version: str,
        factory: EmbedderFactory,
        *,
        actors: int | None = None,
        batch: int | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        if actors is not None and actors < 1:
            raise ValueError(f"actors must be at least 1, not {actors}")
        self.ray = import_ray()
        self.store = store
        self.version = version
        self.factory = factory
        self.batch = batch
        self.ready_timeout = ready_timeout
        cpus = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        self.n_actors = actors or cpus
        #: each actor reserves an equal share of the cluster's CPUs and runs as many threads
        self.cpus_per_actor = max(1, cpus // self.n_actors)
        self.actors: list[Any] = []

    def run(
        self,
        progress: Callable[[int], None] | None = None,
        index: VectorIndex | None = None,
        limit: int | None = None,
    ) -> RayEmbedResult:
        """Embed every paper lacking vectors of `version`, at most `limit`; `progress` gets the
        number of papers written after each batch, `index` takes each batch as it is written
        and is synced with the store at the end."""
        ray = self.ray
        todo = _longest_first(self.store, self.store.rowids_without_vectors(self.version))
        if limit is not None:
            todo = todo[:limit]
        result = RayEmbedResult(actors=self.n_actors)
        if not todo:
            return result
        # by default `embed`'s batch, smaller when there are too few papers to keep every
        # actor's queue full
        size = self.batch or max(
            MIN_BATCH, min(DEFAULT_BATCH, len(todo) // (self.n_actors * IN_FLIGHT))
        )
        queue = deque(_Batch(todo[s : s + size]) for s in range(0, len(todo), size))
        worker = ray.remote(num_cpus=self.cpus_per_actor, max_restarts=0)(EmbedWorker)
        self.actors = [
            worker.remote(self.factory, self.cpus_per_actor) for _ in range(self.n_actors)
        ]
        # ref -> (actor number, the batch it computes; None for the actor's ready call)
        pending: dict[Any, tuple[int, _Batch | None]] = {
            actor.ready.remote(): (i, None) for i, actor in enumerate(self.actors)
        }
        alive: set[int] = set()
        dead: set[int] = set()
        busy = [0] * self.n_actors
        started = time.monotonic()
        try:
            while queue or any(b is not None for _, b in pending.values()):
                if len(dead) == self.n_actors:
                    break
                waiting = time.monotonic() - started
                if not alive and waiting > self.ready_timeout:
                    if result.actors_started:
                        break  # every started actor died, the others never start
                    raise RayEmbedError(
                        f"no Ray actor started within {self.ready_timeout:.0f} s",
                        hint=f"each actor needs {self.cpus_per_actor} free CPU(s) on one node; "
                        "try --actors with more actors (fewer CPUs each)",
                    )
                done, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
                if not done:
                    continue
                ref = done[0]
                i, batch = pending.pop(ref)
                try:
                    value = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as exc:
                    # the actor died, or its node did, taking the finished result with it
                    if i not in dead:
                        dead.add(i)
                        alive.discard(i)
                        result.actors_lost += 1
                        result.error = _first_line(exc)
                    if batch is not None:
                        busy[i] -= 1
                        batch.attempts += 1
                        if batch.attempts < ATTEMPTS:
                            queue.appendleft(batch)
                        else:
                            result.left += len(batch.rowids)
                    continue
                if batch is None:
                    if value != self.version:
                        raise RayEmbedError(
                            f"a Ray actor embeds with {value}, this store expects {self.version}",
                            hint="install the same paperscope version on every node",
                        )
                    alive.add(i)
                    result.actors_started += 1
                    if result.first_ready is None:
                        result.first_ready = time.monotonic()
                else:
                    busy[i] -= 1
                    rows, groups = value
                    self.store.save_vectors(self.version, rows)
                    if index is not None:
                        index.add(batch.rowids, groups)
                    result.embedded.extend(batch.rowids)
                    if progress is not None:
                        progress(len(batch.rowids))
                for j in sorted(alive, key=lambda j: busy[j]):
                    while queue and busy[j] < IN_FLIGHT:
                        work = queue.popleft()
                        papers = self.store.load_rowids(work.rowids)
                        # a paper deleted since the list was made is skipped
                        work.rowids = [r for r in work.rowids if r in papers]
                        texts = [(r, papers[r].title, papers[r].abstract) for r in work.rowids]
                        pending[self.actors[j].embed.remote(texts)] = (j, work)
                        busy[j] += 1
        finally:
            for actor in self.actors:
                ray.kill(actor)
        result.left += sum(len(b.rowids) for b in queue)
        result.left += sum(len(b.rowids) for _, b in pending.values() if b is not None)
        finish_embedded(self.store, self.version, result.embedded, index)
        return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
