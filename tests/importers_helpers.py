"""Helpers for importer tests: run an importer over a fixture file and split what it yields."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

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


class CountingRaw(io.RawIOBase):
    """A raw stream over `inner` that counts the bytes handed out, so a test can check how
    much of a file an importer had read when it yielded its first record."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


def counted_stream(inner: BinaryIO, buffer_size: int = 64 * 1024) -> tuple[BinaryIO, CountingRaw]:
    """(buffered stream to give the importer, its counter)."""
    raw = CountingRaw(inner)
    return io.BufferedReader(raw, buffer_size=buffer_size), raw
