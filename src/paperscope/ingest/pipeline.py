"""Importing files: pick the importer, stream its records, write them in atomic batches.

A bad record is reported with its file and location and skipped; a file no importer knows is
reported once and the other files still land.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from paperscope.errors import InputError, PaperscopeError
from paperscope.ingest import validate
from paperscope.ingest.head import read_head
from paperscope.ingest.importers.base import Importer
from paperscope.ingest.registry import by_name, pick_importer
from paperscope.model import BadRecord, Deletion, Item, Paper
from paperscope.normalize import readable_name
from paperscope.store.sqlite import BatchResult, SQLiteStore

DEFAULT_BATCH = 2000

#: Called with (bytes read so far, total bytes) while a file is imported.
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class FileSummary:
    path: str
    format: str | None = None
    added: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0
    #: Records that joined a paper an earlier record of the same file made or matched.
    merged_in_file: int = 0
    #: Deletion notices read (`deleted` counts the stored papers they marked).
    deletions: int = 0
    rejected: list[BadRecord] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    ids: list[str] = field(default_factory=list)
    # rowids this file wrote so far: a record joining one of them is merged_in_file
    seen: set[int] = field(default_factory=set, repr=False)

    @property
    def papers(self) -> int:
        return self.added + self.merged + self.unchanged + self.merged_in_file

    @property
    def records(self) -> int:
        """Every record read: each is exactly one of the counts."""
        return self.papers + len(self.rejected) + self.deletions

    def add(self, result: BatchResult) -> None:
        self.added += result.added
        self.merged += result.merged
        self.unchanged += result.unchanged
        self.deleted += result.deleted
        self.merged_in_file += result.merged_in_file
        self.ids.extend(result.ids)

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "added": self.added,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "merged_in_file": self.merged_in_file,
            "deletions": self.deletions,
            "records": self.records,
            "rejected": len(self.rejected),
            "rejected_records": [{"where": b.where, "message": b.message} for b in self.rejected],
            "error": self.error,
        }


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders become the files below them, sorted.

    A folder with no regular file below it (empty, or only FIFOs, sockets and broken links)
    stays as itself, so `import_file` reports it rather than it vanishing without a word.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = [p for p in sorted(path.rglob("*")) if p.is_file()]
            out.extend(files or [path])
        else:
            out.append(path)
    return out


_UTF8_BOM = b"\xef\xbb\xbf"
#: Byte order marks of encodings no importer reads (UTF-32 first: its LE mark starts with
#: UTF-16's). Windows tools write them (PowerShell 5's `>` and `Out-File` write UTF-16).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


#: Archives that hold files rather than one compressed stream, and compressions the standard
#: library cannot read: each with the command that unpacks it.
_UNPACK = (
    (b"PK\x03\x04", "a zip archive", "unzip FILE, then import the files it holds"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "zstd -d FILE, then import the result"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "7z x FILE, then import the files it holds"),
)


def _decompressed(raw: BinaryIO, name: str) -> BinaryIO:
    """`raw`, or the stream it compresses, by its first bytes, not its name: a browser that
    unpacks a download keeps its `.gz` name ('Not a gzipped file'), and `.gzip`, `.bz2` and
    `.xz` files were `not a format paperscope can import`."""
    magic = raw.peek(10)[:10]  # type: ignore[attr-defined]
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if magic.startswith(b"BZh") and magic[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    for mark, what, how in _UNPACK:
        if magic.startswith(mark):
            raise InputError(f"{name}: the file is {what}", hint=how)
    return raw


def _open(path: Path, shown: str | None = None) -> tuple[BinaryIO, BinaryIO]:
    """(stream to parse, raw file whose position measures progress).

    A UTF-8 byte order mark is skipped: Notepad and PowerShell write one, and the JSON parser
    refuses it (the whole file was `not valid JSON`, a JSON lines file lost its first record).
    A UTF-16 or UTF-32 file is refused with a way to convert it, rather than called
    `not a format paperscope can import`."""
    name = shown or readable_name(str(path))
    raw = path.open("rb")
    try:
        stream = _decompressed(raw, name)
        start = stream.peek(4)[:4]  # type: ignore[attr-defined]
    except BaseException:
        raw.close()
        raise
    if start.startswith(_UTF8_BOM):
        stream.read(len(_UTF8_BOM))
    for mark, encoding in _OTHER_BOMS:
        if start.startswith(mark):
            raw.close()
            raise InputError(
                f"{name}: the file is {encoding} text; paperscope reads UTF-8",
                hint=f"convert it first: iconv -f {encoding} -t UTF-8 FILE > FILE.utf8",
            )
    return stream, raw


def _position(raw: BinaryIO, total: int) -> int:
    # an importer that wraps the stream in a text reader may close it when done with it
    try:
        return raw.tell()
    except ValueError:
        return total


def _cannot_read(name: str, exc: BaseException) -> str:
    """The one line for a file that cannot be opened: the reason without the errno and the
    path again ("cannot read: No such file or directory")."""
    return f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}"


def choose_importer(path: Path, format_name: str | None, source: Path | None = None) -> Importer:
    """The importer for `path` (named so in errors), read from `source` when given (a copy)."""
    if format_name:
        return by_name(format_name)
    shown = readable_name(str(path))
    try:
        stream, raw = _open(source or path, shown)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise InputError(_cannot_read(shown, exc)) from exc
    try:
        head = read_head(stream)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise InputError(f"{shown}: cannot read: {exc}") from exc
    finally:
        raw.close()
    if not head.strip():
        raise InputError(f"{shown}: the file is empty")
    return pick_importer(head, readable_name(path.name), shown)


def batched(items: Iterator[Item], size: int) -> Iterator[tuple[list[Paper], list[Item]]]:
    """Papers in batches of `size`, each with the non-paper items seen alongside them.

    When reading fails (a compressed file cut short, a parser giving up), the records read
    before the failure are still given as a last batch, then the error is raised: they were
    dropped with the batch in flight, so a cut .jsonl.gz of fewer records than a batch landed
    nothing."""
    papers: list[Paper] = []
    others: list[Item] = []
    failure: Exception | None = None
    try:
        for item in items:
            if isinstance(item, Paper):
                papers.append(item)
                if len(papers) >= size:
                    yield papers, others
                    papers, others = [], []
            else:
                others.append(item)
    except Exception as exc:  # not KeyboardInterrupt: an interrupted import writes no more
        failure = exc
    if papers or others:
        yield papers, others
    if failure is not None:
        raise failure


def import_file(
    store: SQLiteStore,
    path: Path,
    *,
    format_name: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> FileSummary:
    # The name as recorded, printed and written as JSON: a POSIX name that is not UTF-8 holds
    # surrogates, which SQLite and JSON refuse, so its undecodable bytes become U+FFFD.
    name = readable_name(str(path))
    summary = FileSummary(name)
    if path.is_dir():
        summary.error = f"{name}: the folder holds no files to import"
        return summary
    if path.exists() and not path.is_file():
        # A pipe (/dev/stdin, `<(zcat dump.gz)`, a FIFO) can be read once: detection used up
        # its start, so the import began mid-record, lost the start and died on a seek
        # ('Illegal seek' after 15 of 200 papers). It is copied to a temporary file first.
        try:
            with tempfile.TemporaryDirectory(prefix="paperscope-import-") as folder:
                copy = Path(folder) / "stream"
                with path.open("rb") as src, copy.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                return _import(store, path, copy, summary, format_name, batch_size, progress)
        except OSError as exc:
            summary.error = _cannot_read(name, exc)
            return summary
    return _import(store, path, path, summary, format_name, batch_size, progress)


def _import(
    store: SQLiteStore,
    path: Path,
    source: Path,
    summary: FileSummary,
    format_name: str | None,
    batch_size: int,
    progress: Progress | None,
) -> FileSummary:
    """Import `source`, the file at `path` or a copy of it; `path` names it everywhere."""
    name = summary.path
    try:
        importer = choose_importer(path, format_name, source)
    except PaperscopeError as exc:
        summary.error, summary.hint = str(exc), exc.hint
        return summary
    except OSError as exc:
        summary.error = _cannot_read(name, exc)
        return summary
    try:  # a forced --format reads nothing before this: the file may not exist
        total = source.stat().st_size
        stream, raw = _open(source, name)
    except PaperscopeError as exc:
        summary.error, summary.hint = str(exc), exc.hint
        return summary
    except (OSError, EOFError, lzma.LZMAError) as exc:
        summary.error = _cannot_read(name, exc)
        return summary
    summary.format = importer.name
    try:
        items = validate.checked(importer.parse(stream, name))
        for papers, others in batched(items, batch_size):
            summary.rejected.extend(i for i in others if isinstance(i, BadRecord))
            deletions = [i.arxiv_id for i in others if isinstance(i, Deletion)]
            summary.deletions += len(deletions)
            result = store.write_batch(
                papers, origin=readable_name(path.name), deletions=deletions, seen=summary.seen
            )
            summary.add(result)
            if progress:
                progress(_position(raw, total), total)
    except PaperscopeError as exc:
        summary.error, summary.hint = str(exc), exc.hint
    except (OSError, EOFError, UnicodeDecodeError, lzma.LZMAError) as exc:
        summary.error = f"{name}: unreadable after {summary.papers} papers: {exc}"
    except (ValueError, RecursionError, MemoryError) as exc:
        # A parser library giving up on hostile input (too deep, too large) ends the file
        # with a message, never a traceback; the batches before it are committed.
        summary.error = f"{name}: unreadable after {summary.papers} papers: {type(exc).__name__}"
        summary.error += f": {str(exc)[:200]}" if str(exc) else ""
    finally:
        raw.close()
    if format_name and not summary.error and not summary.papers and not summary.deletions:
        # Detection only picks a format that recognised the file; a forced one reads anything,
        # and nothing read, or every record rejected, is far likelier the wrong format than an
        # empty or wholly damaged file (an HF list under --format openalex: 'work has no id').
        summary.error = f"{name}: no {importer.name} record found"
        if summary.rejected:
            summary.error += f": all {len(summary.rejected):,} records read were rejected"
        summary.hint = f"is it a {importer.name} file? leave out --format to detect the format"
    if progress:
        progress(total, total)
    return summary
