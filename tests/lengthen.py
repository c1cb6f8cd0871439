"""A recording with its first record's author list made N names long, in the file's own format.

Used by the detection tests: the format must still be recognised when one record's authors
push every later key far past the first bytes of the file.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml

AUTHOR_KEYS = ("authors", "authorships", "authors_parsed")
NAME_KEYS = ("name", "display_name", "fullname", "raw_author_name")

# The first author element of an XML record: Atom/arXiv <author>, Dublin Core <dc:creator>.
_XML_AUTHOR = re.compile(r"<(author|dc:creator)\b[^>]*>.*?</\1>", re.S)
_XML_AUTHORS_TEXT = re.compile(r"(<authors>)([^<]*)(</authors>)")  # arXivRaw: one text list
_BIB_AUTHOR = re.compile(r"(\bauthor\s*=\s*[{\"])", re.I)


def name(i: int) -> str:
    return f"Extra Author{i:04d}"


def lengthen(path: Path, count: int = 1000) -> bytes:
    """The file's bytes with its first record's author list made `count` names long."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix
    if suffix == ".jsonl":
        first, _, rest = text.partition("\n")
        return (_json_text(first, count, indent=None) + "\n" + rest).encode()
    if suffix == ".json":
        return _json_text(text, count, indent=2).encode()
    if suffix == ".yaml":
        return _cassette(text, count).encode()
    if suffix == ".xml":
        return _xml(text, count).encode()
    if suffix == ".bib":
        return _BIB_AUTHOR.sub(lambda m: m.group(1) + _bib_names(count), text, 1).encode()
    if suffix == ".txt":
        return _page(text, count).encode()
    raise ValueError(f"no lengthener for {path.name}")


def _json_text(text: str, count: int, indent: int | None) -> str:
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("body"), str):
        data["body"] = _xml(data["body"], count)  # a recorded HTTP response around XML
    else:
        _lengthen_json(data, count)
    return json.dumps(data, indent=indent, ensure_ascii=False)


def _lengthen_json(value: Any, count: int) -> bool:
    """Lengthen the first author list found depth-first; True once done."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in AUTHOR_KEYS and item:
                value[key] = _longer(item, count)
                return True
            if _lengthen_json(item, count):
                return True
    elif isinstance(value, list):
        return any(_lengthen_json(item, count) for item in value)
    return False


def _longer(authors: Any, count: int) -> Any:
    if isinstance(authors, str):  # Kaggle: "A, B and C"
        return authors + "".join(f", {name(i)}" for i in range(count - 1))
    first = authors[0]
    extra = []
    for i in range(count - len(authors)):
        clone = copy.deepcopy(first)
        _rename(clone, name(i))
        extra.append(clone)
    return authors + extra


def _rename(value: Any, new: str) -> None:
    if isinstance(value, list) and value and isinstance(value[0], str):
        value[0] = new  # Kaggle's authors_parsed: [last, first, suffix]
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in NAME_KEYS and isinstance(item, str):
                value[key] = new
            else:
                _rename(item, new)


def _cassette(text: str, count: int) -> str:
    cassette = yaml.safe_load(text)
    for interaction in cassette["interactions"]:
        content = interaction["response"].get("content")
        if isinstance(content, str) and content.lstrip()[:1] in ("[", "{"):
            data = json.loads(content)
            if _lengthen_json(data, count):
                interaction["response"]["content"] = json.dumps(data)
                break
    return yaml.safe_dump(cassette, sort_keys=False, allow_unicode=True)


def _xml(text: str, count: int) -> str:
    element = _XML_AUTHOR.search(text)
    listed = _XML_AUTHORS_TEXT.search(text)
    if listed and (element is None or listed.start() < element.start()):
        names = "".join(f", {name(i)}" for i in range(count - 1))
        return text[: listed.end(2)] + names + text[listed.end(2) :]
    if element is None:
        return text  # no record with authors (an error response, an empty feed)
    first = element.group(0)
    copies = "".join(_xml_renamed(first, name(i)) for i in range(count - 1))
    return text[: element.end()] + copies + text[element.end() :]


def _xml_renamed(element: str, new: str) -> str:
    inner = re.search(r"<(name|keyname)>[^<]*</\1>", element)
    if inner:
        return element.replace(inner.group(0), f"<{inner.group(1)}>{new}</{inner.group(1)}>")
    return re.sub(r">[^<]*</dc:creator>", f">{new}</dc:creator>", element)


def _bib_names(count: int) -> str:
    return "".join(f"{name(i)} and " for i in range(count - 1))


def _page(text: str, count: int) -> str:
    if text.lstrip().startswith("-\n") and "\nAuthors:\n" in text:  # arXiv listing
        names = "".join(f"{name(i)},\n" for i in range(count - 1))
        return text.replace("\nAuthors:\n", "\nAuthors:\n" + names, 1)
    counted = re.search(r"• (\d+) authors", text)  # HF search page: only a count
    if counted:
        return text[: counted.start(1)] + str(count) + text[counted.end(1) :]
    # author profile page: the line after a "CATMon D, YYYY" header ends in the authors
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i and re.match(r"^[A-Z]{2}[A-Z][a-z]{2} \d", lines[i - 1]) and ", " in line:
            cut = line.index(", ")
            names = "".join(f", {name(j)}" for j in range(count - 1))
            lines[i] = line[:cut] + names + line[cut:]
            break
    return "\n".join(lines)
