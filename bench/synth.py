"""Synthetic benchmark corpora built from the real abstract corpus.

Titles and abstracts are recombined from the real corpus's sentences and title words, so text
statistics (vocabulary, sentence length, common words such as "learning") stay realistic; authors
are drawn Zipf-distributed from a pool of generated names; categories come from the real
labels; dates spread over three years.
"""

from __future__ import annotations

import ast
import csv
import itertools
import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "samples" / "corpus" / "arxiv-ml-abstracts-1000.csv"
OUT = ROOT / "bench" / "out"


def shown(path: Path) -> str:
    """A path as bench outputs print it: relative to the repository, never a machine's."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


_GIVEN = [
    "Wei",
    "Juhua",
    "Qi",
    "Anna",
    "Maria",
    "Ahmed",
    "Yuki",
    "Lars",
    "Priya",
    "Carlos",
    "Elena",
    "Tomas",
    "Mei",
    "Omar",
    "Sara",
    "Ivan",
    "Lena",
    "Hiro",
    "Chen",
    "Fatima",
    "Diego",
    "Nora",
    "Pavel",
    "Ingrid",
    "Kofi",
    "Amir",
    "Lucia",
    "Jonas",
    "Aiko",
    "Rahul",
    "Zoe",
    "Balázs",
    "Sébastien",
]
_FAMILY = [
    "Hu",
    "Qian",
    "Liu",
    "Lin",
    "Wang",
    "Zhang",
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Kim",
    "Nguyen",
    "Patel",
    "Silva",
    "Ivanov",
    "Novak",
    "Tanaka",
    "Jensen",
    "Kowalski",
    "Dubois",
    "Haddad",
    "Okafor",
    "Costa",
    "Fischer",
    "Moreau",
    "Yilmaz",
    "Andersson",
    "Schmidt",
    "Sato",
    "Singh",
    "Khan",
    "Lopez",
    "Ferrari",
    "Weber",
    "Schöning",
    "Szegedy",
    "O'Donnell",
    "van",
    "der",
    "Berg",
]


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["categories"] = ast.literal_eval(row["terms"])
    return rows


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s) > 20]


class Synth:
    """Deterministic generator of paper-like records from the real corpus."""

    def __init__(self, seed: int = 7, n_authors: int = 50_000) -> None:
        self.rng = random.Random(seed)
        rows = load_corpus()
        self.sentences = [s for r in rows for s in _sentences(r["summaries"])]
        self.title_words = [w for r in rows for w in r["titles"].split()]
        self.categories = [r["categories"] for r in rows]
        self.authors = [
            f"{self.rng.choice(_GIVEN)} {self.rng.choice(_FAMILY)}{'' if i < 2000 else i}"
            for i in range(n_authors)
        ]
        # Zipf-like weights: a few prolific authors, a long tail
        self.author_cum_weights = list(
            itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(n_authors))
        )
        self.start = datetime(2023, 1, 1, tzinfo=UTC)

    def title(self) -> str:
        n = self.rng.randint(5, 12)
        return " ".join(self.rng.choice(self.title_words) for _ in range(n)).capitalize()

    def abstract(self) -> str:
        return " ".join(self.rng.choice(self.sentences) for _ in range(self.rng.randint(4, 8)))

    def author_names(self) -> list[str]:
        k = self.rng.randint(1, 8)
        return list(
            dict.fromkeys(self.rng.choices(self.authors, cum_weights=self.author_cum_weights, k=k))
        )

    def when(self) -> datetime:
        return self.start + timedelta(seconds=self.rng.randint(0, 3 * 365 * 86400))

    def kaggle_records(self, n: int) -> Iterator[dict]:
        for i in range(n):
            created = self.when()
            names = self.author_names()
            yield {
                "id": f"{23 + i // 1_000_000 % 70:02d}{(i // 99_999) % 12 + 1:02d}."
                f"{i % 99_999 + 1:05d}",
                "submitter": names[0],
                "authors": ", ".join(names),
                "title": self.title(),
                "comments": None,
                "journal-ref": None,
                "doi": None,
                "report-no": None,
                "categories": " ".join(self.rng.choice(self.categories)),
                "license": None,
                "abstract": self.abstract(),
                "versions": [{"version": "v1", "created": format_datetime(created, usegmt=True)}],
                "update_date": created.date().isoformat(),
                "authors_parsed": [[n.split(" ", 1)[-1], n.split(" ", 1)[0], ""] for n in names],
            }

    def paper_records(self, n: int) -> Iterator[dict]:
        """Paper-like dicts in the shape of `paperscope.model.Paper` (title, abstract, author
        names, categories, ISO published date, arXiv id, upvotes), for engine benchmarks."""
        for i in range(n):
            yield {
                "arxiv_id": f"{23 + i // 1_000_000 % 70:02d}{(i // 99_999) % 12 + 1:02d}."
                f"{i % 99_999 + 1:05d}",
                "title": self.title(),
                "abstract": self.abstract(),
                "authors": self.author_names(),
                "categories": list(self.rng.choice(self.categories)),
                "published": self.when().date().isoformat(),
                "upvotes": int(self.rng.paretovariate(1.5)) - 1,
            }


def papers_file(n: int, seed: int = 7) -> Path:
    """A cached JSONL file of `n` synthetic paper dicts (`Synth.paper_records`)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"papers-synth-{n}-s{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for record in Synth(seed).paper_records(n):
                fh.write(json.dumps(record) + "\n")
        tmp.rename(path)
    return path


def corpus_snapshot(path: Path, n: int, month: int = 1) -> list[str]:
    """The first `n` corpus abstracts as a Kaggle arXiv snapshot file, one author each (Ada
    Lovelace), dated the 2nd of `month` 2023 with ids 23MM.00001...; returns their titles.
    For benches and tests that need real text under a store, not a synthetic one."""
    with CORPUS.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:n]
    day = datetime(2023, month, 2, tzinfo=UTC)
    created = f"{day:%a}, {day.day} {day:%b %Y} 00:00:00 GMT"
    with path.open("w", encoding="utf-8") as out:
        for i, row in enumerate(rows, 1):
            record = {
                "id": f"23{month:02d}.{i:05d}",
                "title": row["titles"],
                "abstract": row["summaries"],
                "authors": "Ada Lovelace",
                "categories": "cs.LG",
                "versions": [{"version": "v1", "created": created}],
                "update_date": f"{day:%Y-%m-%d}",
                "authors_parsed": [["Lovelace", "Ada", ""]],
            }
            out.write(json.dumps(record) + "\n")
    return [row["titles"] for row in rows]


def kaggle_file(n: int, seed: int = 7) -> Path:
    """A cached Kaggle-format JSONL file of `n` synthetic records."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"kaggle-synth-{n}-s{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for record in Synth(seed).kaggle_records(n):
                fh.write(json.dumps(record) + "\n")
        tmp.rename(path)
    return path


def embedded_corpus_store(name: str) -> Path:
    """The 1,000 corpus abstracts in a store with their vectors (default embedder), built once
    into bench/out/NAME.db (a minute or so of embedding) and reused by later runs. The lexical
    index is not kept: each run rebuilds it from its own copy."""
    import shutil
    import time

    from paperscope.index.embedder import default_embedder
    from paperscope.index.embedding import embed_missing
    from paperscope.model import Paper
    from paperscope.store.sqlite import SQLiteStore

    db = OUT / f"{name}.db"
    if db.exists():
        return db
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / f"{name}.tmp.db"
    for leftover in OUT.glob(f"{name}.tmp.db*"):
        leftover.unlink()
    store = SQLiteStore(tmp)
    papers = [
        Paper(
            title=" ".join(r["titles"].split()),
            abstract=" ".join(r["summaries"].split()),
            categories=list(r["categories"]),
            published=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            arxiv_id=f"2601.{i + 1:05d}",
            sources=["corpus-csv"],
        )
        for i, r in enumerate(load_corpus())
    ]
    store.write_batch(papers, origin="arxiv-ml-abstracts-1000.csv")
    t = time.perf_counter()
    embed_missing(store, default_embedder())
    print(f"embedded {store.count()} papers in {time.perf_counter() - t:.0f} s")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    tmp.rename(db)
    shutil.rmtree(f"{tmp}.index", ignore_errors=True)
    return db
