"""What every importer is: a name, a content sniffer and a streaming parser.

An importer sees only bytes and yields `paperscope.model` items; it never touches the store.
The registry picks the importer whose `sniff` scores a file highest, so a new format is one new
module added to `IMPORTERS` in `paperscope.ingest.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, ClassVar, Protocol

from paperscope.model import Item

#: How many bytes of a file `sniff` sees.
HEAD_BYTES = 64 * 1024


class Importer(Protocol):
    #: Short name shown to users and stored as the paper's source ("arxiv-atom", "bibtex").
    name: ClassVar[str]
    #: One line for `paperscope formats`.
    description: ClassVar[str]

    def sniff(self, head: bytes, filename: str) -> int | None:
        """How sure this importer is that it reads the file (0-100); None: not mine."""
        ...

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        """Yield papers, bad records and deletions in input order. Must stream: files can be
        many GB. A bad record is yielded as `BadRecord` and parsing goes on; a file that turns
        out unreadable as a whole raises `paperscope.errors.InputError`."""
        ...
