"""Decoding text that is not all UTF-8: JSON documents and pages.

One undecodable byte makes a strict parser refuse the whole document, and with it every good
record of a response; decoding with replacement would store the damage silently. Here such
bytes become U+FFFE, a character no text holds, and the pipeline's check
(`paperscope.ingest.validate`) rejects the records that contain it.
"""

from __future__ import annotations

import codecs

import orjson

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
