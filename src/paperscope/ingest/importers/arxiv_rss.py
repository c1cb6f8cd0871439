"""arXiv announcement feeds from rss.arxiv.org (RSS 2.0 with ``arxiv:announce_type``).

Each ``<item>`` is one announced paper: ``new`` (first announcement), ``cross`` (a
cross-list), ``replace`` / ``replace-cross`` (a new version). All kinds are papers; the announce
type only decides whether the announcement day is the paper's publication day (``new``) or
just the day arXiv last changed it.

The description holds ``arXiv:2411.18611v1 Announce Type: new \\nAbstract: ...``; authors come
as one comma-separated ``dc:creator``. arXiv answers a bad archive name with a feed titled
"Feed error for query: ..." whose description says what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from lxml import etree

from paperscope.errors import InputError
from paperscope.ingest.importers import xmlsafe
from paperscope.ingest.importers.arxiv_atom import (
    arxiv_abstract,
    arxiv_categories,
    arxiv_links,
    arxiv_title,
    child_text,
)
from paperscope.ingest.registry import register
from paperscope.model import Author, BadRecord, Item, Paper
from paperscope.normalize import (
    arxiv_version,
    clean_text,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    split_authors,
)

NAME = "arxiv-rss"

ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

_PREFIX_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.I
)
_ERROR_TITLE = "Feed error for query"


def _parse(stream: BinaryIO, origin: str) -> Iterator[Item]:
    return xmlsafe.until_readable(_items(stream, origin), f"{origin}: not a readable RSS feed")


def _items(stream: BinaryIO, origin: str) -> Iterator[Item]:
    count = 0
    channel_title = ""
    channel_date: str | None = None
    events = xmlsafe.iterparse(stream, events=("end",))
    damage = xmlsafe.DamageLog(events)
    try:
        for _, elem in events:
            parent = elem.getparent()
            if elem.tag == "item":
                count += 1
                damaged = damage.for_record(elem)
                if damaged:
                    yield damaged.record(f"item {count}")
                else:
                    yield _item(elem, f"item {count}", channel_date)
                elem.clear()
                # Drop finished items so a long feed never sits in memory whole.
                while (done := elem.getprevious()) is not None and done.tag == "item":
                    parent.remove(done)
            elif parent is not None and parent.tag == "channel":
                # Channel header fields come before the items in arXiv's feeds.
                text = clean_text(elem.text)
                if elem.tag == "title":
                    channel_title = text
                elif elem.tag == "pubDate":
                    channel_date = parse_date(text)
                elif elem.tag == "description" and channel_title.startswith(_ERROR_TITLE):
                    raise InputError(
                        f"{origin}: arXiv RSS error: {channel_title}: {text}",
                        hint="check the archive or category names in the feed URL",
                    )
    except etree.XMLSyntaxError as exc:
        if count == 0:
            raise InputError(f"{origin}: not a readable RSS feed: {exc}") from exc
        yield BadRecord(f"line {exc.lineno}", f"XML broken after item {count}: {exc.msg}")
        return
    broken = damage.since_last()
    if broken and count == 0:
        raise InputError(f"{origin}: not a readable RSS feed: {broken}")
    if broken:
        yield BadRecord(f"line {broken.line}", f"XML broken after item {count}: {broken.message}")
    if channel_title.startswith(_ERROR_TITLE):  # an error feed without a description
        raise InputError(f"{origin}: arXiv RSS error: {channel_title}")


def _item(item: etree._Element, where: str, channel_date: str | None) -> Item:
    description = item.findtext("description") or ""
    prefix = _PREFIX_RE.match(description)
    versioned = prefix.group("id") if prefix else child_text(item, "guid")
    arxiv_id = normalize_arxiv_id(versioned) or normalize_arxiv_id(child_text(item, "link"))
    if not arxiv_id:
        return BadRecord(where, "no arXiv id in the item's description, guid or link")
    title = arxiv_title(child_text(item, "title"))
    if not title:
        return BadRecord(where, f"{arxiv_id}: item without a title")
    announce = child_text(item, ARXIV + "announce_type") or (prefix["type"] if prefix else "")
    announce = announce.lower()
    announced = parse_date(child_text(item, "pubDate")) or channel_date
    # The announcement day is the publication day only for a "new" item. A "cross" item is a
    # paper announced before (a v1 cross-listed days later, in the all-archives feed) and a
    # "replace" is a new version: for both the day is only when arXiv last changed the paper.
    first_version = announce == "new" or (not announce and arxiv_version(versioned) == 1)
    doi = normalize_doi(child_text(item, ARXIV + "DOI"))
    creators = " , ".join(c.text or "" for c in item.iterfind(DC + "creator"))
    return Paper(
        title=title,
        abstract=arxiv_abstract(description[prefix.end() :] if prefix else description),
        authors=[Author(name) for name in split_authors(creators)],
        categories=arxiv_categories(c.text for c in item.iterfind("category")),
        published=announced if first_version else None,
        updated=announced,
        arxiv_id=arxiv_id,
        doi=doi,
        links=arxiv_links(arxiv_id, doi),
        sources=[NAME],
        journal_ref=clean_text(child_text(item, ARXIV + "journal_reference")) or None,
    )


class ArxivRssImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = "arXiv announcement RSS feed (rss.arxiv.org, RSS 2.0)"

    def sniff(self, head: bytes, filename: str) -> int | None:
        if b"<rss" not in head or b"<channel" not in head:
            return None
        if b"rss.arxiv.org" in head or b"<arxiv:announce_type" in head:
            return 90
        return 40 if b"arxiv.org" in head else None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        return _parse(stream, origin)


register(ArxivRssImporter())
