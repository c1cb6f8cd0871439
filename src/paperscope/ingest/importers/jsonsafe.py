"""Decoding text that is not all UTF-8: JSON documents and pages.

One undecodable byte makes a strict parser refuse the whole document, and with it every good
record of a response; decoding with replacement would store the damage silently. Here such
bytes become U+FFFE, a character no text holds, and the pipeline's check
(`paperscope.ingest.validate`) rejects the records that contain it.
"""

from __future__ import annotations

import codecs
import re

import orjson

from paperscope.model import BadRecord

#: Stands in for each byte that is not UTF-8.
MARK = "\ufffe"
#: The `errors=` name of the decoding that marks such bytes.
MARK_ERRORS = "paperscope-mark"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return MARK * (error.end - error.start), error.end


codecs.register_error(MARK_ERRORS, _mark)


def loads(raw: bytes) -> object:
    """orjson.loads, reading bytes that are not UTF-8 as U+FFFE (raises JSONDecodeError)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" not in str(exc):
            raise
    return orjson.loads(raw.decode("utf-8", errors=MARK_ERRORS))


_TOKEN = re.compile(rb'["\[\]{},]')
# The rest of a string after its opening quote, up to and including the closing quote.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_CLOSE = {ord("["): b"]", ord("{"): b"}"}
_KEY_BEFORE = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*\Z')


def loads_cut(raw: bytes, keys: tuple[str, ...] = ()) -> tuple[object, int | None]:
    """(value, None) for a whole document, like `loads`. For a document the file ends inside
    (a download cut short) whose records list is still open: (the document up to that list's
    last whole record, closed there; the number of the record the file ends in). The records
    list is the document itself or, in an object, the list under one of `keys` ("results").
    Records before the cut are whole, so they can land; the one cut is reported, never stored
    half. Other damage, or a cut before any whole record, raises JSONDecodeError."""
    try:
        return loads(raw), None
    except orjson.JSONDecodeError as exc:
        found = _cut_at_last_record(raw, keys)
        if found is None:
            raise
        prefix, number = found
        try:
            return loads(prefix), number
        except orjson.JSONDecodeError:
            raise exc from None


def cut_record(where: str) -> BadRecord:
    """The report of the record a cut-short JSON document ends in."""
    return BadRecord(
        where, "the file ends inside this record (cut short?); the records before it were read"
    )


def _cut_at_last_record(raw: bytes, keys: tuple[str, ...]) -> tuple[bytes, int] | None:
    stack = bytearray()
    # per open list, by depth: (offset just after its last whole object or list, how many it
    # holds so far); records are objects. What is open there is the stack down to that depth,
    # known at the end: building it at every close would be quadratic in deep nesting.
    whole: dict[int, tuple[int, int]] = {}
    records_key: str | None = None  # the key of the list open at depth 2, if any
    pos = 0
    while (match := _TOKEN.search(raw, pos)) is not None:
        at, char = match.start(), raw[match.start()]
        pos = at + 1
        if char == 0x22:  # '"': skip the string; a file ending inside one is cut there
            rest = _STRING_REST.match(raw, pos)
            if rest is None:
                break
            pos = rest.end()
        elif char in b"[{":
            stack.append(char)
            whole.pop(len(stack), None)  # a new list at this depth counts from zero
            if len(stack) == 2 and char == ord("["):
                key = _KEY_BEFORE.search(raw, max(0, at - 256), at)
                records_key = key.group(1).decode("utf-8", "replace") if key else None
        elif char in b"]}":
            if not stack:
                return None
            stack.pop()
            if stack and stack[-1] == ord("["):
                whole[len(stack)] = (at + 1, whole.get(len(stack), (0, 0))[1] + 1)
    if not stack:
        return None  # the document closed: damage, not a cut
    if stack[0] == ord("["):
        depth = 1
    elif len(stack) >= 2 and stack[1] == ord("[") and records_key in keys:
        depth = 2
    else:
        return None  # cut inside one record (a single paper): nothing whole to keep
    if depth not in whole:
        return None
    end, count = whole[depth]
    closers = b"".join(_CLOSE[c] for c in reversed(stack[:depth]))
    return raw[:end] + closers, count + 1
