"""The bytes format detection sees: the file's start, with long JSON values shortened.

The keys that identify a JSON format (HF's "upvotes", Kaggle's "update_date") can come after a
record's author list, and one author list can be hundreds of kB. Sniffing the first 64 kB of
raw bytes then sees only names. For JSON, the head is instead a skeleton of the file's start:
every string is cut to its first few kB and every array keeps its first few elements, so the
keys of the first records fit in the head whatever the length of their values. The skeleton
is still JSON (quotes and brackets stay balanced), so a sniffer may parse its first line.
XML and text formats name themselves in their first lines and get the raw bytes.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from paperscope.ingest.importers.base import HEAD_BYTES

#: The most bytes read to build a JSON skeleton (a first record larger than this is not
#: recognised by content; `--format` still reads it).
MAX_SCAN = 16 * 1024 * 1024
#: Bytes kept of each JSON string (a recording's "body" names its format in its first lines).
STRING_KEEP = 4096
#: Elements kept of each JSON array.
ARRAY_KEEP = 8
#: Containers nested deeper than this are left out (real records nest a few levels).
DEPTH_KEEP = 32

_FIRST_READ = 256 * 1024
_WHITESPACE = b"\xef\xbb\xbf \t\r\n"
_TOKEN = re.compile(rb'["\[\]{},]')
# The rest of a string after its opening quote, up to and including the closing quote.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_ESCAPE = re.compile(rb"\\(?:u[0-9a-fA-F]{0,4}|.?)", re.S)


def _read(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, or those before the end of a compressed file cut short: its format
    is still told by its start (it was `cannot read: Compressed file ended before the
    end-of-stream marker was reached`, and none of its records landed)."""
    chunks: list[bytes] = []
    while size > 0:
        try:
            chunk = stream.read(min(size, 64 * 1024))
        except EOFError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_head(stream: BinaryIO) -> bytes:
    """The head `Importer.sniff` sees: the raw start, or for JSON its skeleton."""
    data = _read(stream, HEAD_BYTES)
    if data.lstrip(_WHITESPACE)[:1] not in (b"{", b"["):
        return data
    size = _FIRST_READ
    while True:
        data += _read(stream, size - len(data))
        head, complete = json_skeleton(data, HEAD_BYTES)
        # Read more only when the skeleton is short because the read stopped, not the file.
        if complete or len(data) < size or size >= MAX_SCAN:
            return head
        size = min(size * 4, MAX_SCAN)


def json_skeleton(data: bytes, limit: int) -> tuple[bytes, bool]:
    """(skeleton of `data` up to `limit` bytes, whether it reached `limit`)."""
    out = bytearray()
    stack: list[list] = []  # [opening bracket, commas seen] per open container
    skip_depth = 0  # > 0: inside an array past ARRAY_KEEP elements, until its "]"
    pos, end = 0, len(data)
    while pos < end and len(out) < limit:
        match = _TOKEN.search(data, pos)
        if match is None:
            if not skip_depth:
                out += data[pos:]
            break
        at = match.start()
        if not skip_depth:
            out += data[pos:at]
        char = data[at : at + 1]
        pos = at + 1
        if char == b'"':
            rest = _STRING_REST.match(data, pos)
            content = data[pos : rest.end() - 1] if rest else data[pos:]
            if not skip_depth:
                out += b'"' + _shorten(content) + (b'"' if rest else b"")
            if rest is None:
                break
            pos = rest.end()
        elif char in (b"[", b"{"):
            stack.append([char, 0])
            if skip_depth:
                continue
            out += char
            if len(stack) > DEPTH_KEEP:  # kept empty: "[]" or "{}"
                skip_depth = len(stack)
        elif char in (b"]", b"}"):
            if skip_depth and len(stack) == skip_depth:
                skip_depth = 0
            if stack:
                stack.pop()
            if not skip_depth:
                out += char
        elif skip_depth:
            continue
        elif stack and stack[-1][0] == b"[":
            stack[-1][1] += 1
            if stack[-1][1] >= ARRAY_KEEP:
                skip_depth = len(stack)
            else:
                out += char
        else:
            out += char
    return bytes(out[:limit]), len(out) >= limit


def _shorten(content: bytes) -> bytes:
    """The start of a JSON string's raw content, cut neither inside an escape nor a character."""
    if len(content) <= STRING_KEEP:
        return content
    cut = STRING_KEEP
    while cut and 0x80 <= content[cut] < 0xC0:  # a UTF-8 continuation byte
        cut -= 1
    for escape in _ESCAPE.finditer(content, 0, cut + 6):
        if escape.start() < cut < escape.end():
            cut = escape.start()
    return content[:cut]
