"""Helpers for importer tests: run an importer over a fixture file and split what it yields."""

from __future__ import annotations

from pathlib import Path

from paperscope.ingest.head import read_head
from paperscope.ingest.importers.base import Importer
from paperscope.ingest.registry import pick_importer
from paperscope.model import BadRecord, Deletion, Paper


def run_importer(importer: Importer, path: Path):
    with path.open("rb") as stream:
        items = list(importer.parse(stream, str(path)))
    papers = [i for i in items if isinstance(i, Paper)]
    bad = [i for i in items if isinstance(i, BadRecord)]
    deleted = [i for i in items if isinstance(i, Deletion)]
    return papers, bad, deleted


def sniffed(path: Path) -> Importer:
    with path.open("rb") as stream:
        head = read_head(stream)
    return pick_importer(head, path.name)
