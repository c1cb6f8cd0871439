"""Hostile versions of the real recordings, for the import hardening tests and the fuzz bench.

Each mutation keeps the file recognisable (the format's first bytes stay) and damages one
record: an XML entity bomb, an external entity, a 10 MB field, NUL bytes, invalid UTF-8, deep
nesting, or the file cut short.
"""

from __future__ import annotations

import re

TEN_MB = 10 * 1024 * 1024

BOMB_DTD = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>"
)


def xxe_dtd(target: str) -> bytes:
    return f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{target}">]>'.encode()


# Where the first record's title starts, per kind of file (the group ends before the text).
_TITLE = {
    "json": re.compile(rb'"title"\s*:\s*"'),
    "xml": re.compile(rb"<(?:\w+:)?title>"),
    "bib": re.compile(rb"\btitle\s*=\s*[{\"]", re.I),
}


def kind(name: str) -> str:
    if name.endswith((".json", ".jsonl")):
        return "json"
    if name.endswith(".xml"):
        return "xml"
    if name.endswith(".bib"):
        return "bib"
    return "text"


def _insert_in_title(data: bytes, name: str, payload: bytes) -> bytes:
    # the first title of a record, not of the feed: the second match in XML feeds
    for pattern in (_TITLE.get(kind(name)), _TITLE["json"], _TITLE["xml"]):
        matches = list(pattern.finditer(data)) if pattern else []
        if matches:
            feed_title = b"<title>" in matches[0].group(0) and len(matches) > 1
            match = matches[1] if feed_title else matches[0]
            return data[: match.end()] + payload + data[match.end() :]
    # a page or a cassette: the start of a line a tenth into the file
    at = data.find(b"\n", len(data) // 10) + 1
    return data[:at] + payload + data[at:]


def _after_xml_declaration(data: bytes, dtd: bytes) -> bytes:
    end = data.find(b"?>") + 2 if data.lstrip().startswith(b"<?xml") else 0
    return data[:end] + dtd + data[end:]


def mutations(data: bytes, name: str) -> dict[str, bytes]:
    """The hostile versions of one recording, by name."""
    k = kind(name)
    out: dict[str, bytes] = {}
    if k == "xml":
        out["xml-bomb"] = _insert_in_title(_after_xml_declaration(data, BOMB_DTD), name, b"&lol9;")
        out["external-entity"] = _insert_in_title(
            _after_xml_declaration(data, xxe_dtd("file:///etc/hostname")), name, b"&xxe;"
        )
    big = b"A" * TEN_MB
    out["10mb-field"] = _insert_in_title(data, name, big if k != "text" else big + b"\n")
    out["nul-bytes"] = _insert_in_title(data, name, b"\\u0000\\u0000" if k == "json" else b"\0\0")
    out["invalid-utf8"] = _insert_in_title(data, name, b"\xff\xfe\xc3")
    if k == "json":
        nested = b"[" * 100_000 + b"]" * 100_000
        out["deep-nesting"] = _insert_in_title(data, name, b'", "deep": ' + nested + b', "x": "')
    elif k == "xml":
        out["deep-nesting"] = _insert_in_title(data, name, b"<a>" * 100_000 + b"</a>" * 100_000)
    elif k == "bib":
        out["deep-nesting"] = _insert_in_title(data, name, b"{" * 100_000 + b"}" * 100_000)
    else:
        out["deep-nesting"] = _insert_in_title(data, name, b"(" * 100_000 + b"\n")
    out["truncated"] = data[: len(data) * 3 // 5]
    return out
