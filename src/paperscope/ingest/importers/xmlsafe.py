"""Reading XML records from untrusted files: no entities, no network, bounded, recovering.

lxml parses with entity expansion off (an entity bomb or an external entity is never
resolved: no file is read and no request made), no DTD loading, no network, and huge_tree off
(libxml2's limits on nesting depth and text-node size stay on). It recovers from damage
inside a record (a NUL byte, invalid UTF-8): the damaged record is reported with the line and
libxml2's message and the records after it still land. A fatal error (an entity bomb, nesting
deeper than 256, a text node over 10 MB) ends the file: what came before it lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from paperscope.errors import InputError
from paperscope.model import BadRecord, Item


def iterparse(stream: BinaryIO, **options) -> etree.iterparse:
    return etree.iterparse(
        stream,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        recover=True,
        **options,
    )


@dataclass(slots=True, frozen=True)
class XmlDamage:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def record(self, which: str) -> BadRecord:
        """The damaged record, rejected where the parser found the damage."""
        return BadRecord(f"line {self.line}", f"{which} is damaged XML: {self.message}")


class DamageLog:
    """The parser's errors, attributed to records by line.

    iterparse reads ahead, so an error can be logged before the end event of the record it
    lies in; at each record's end, the errors up to that record's last line are its damage
    (errors between records go to the next one) and later ones wait for their record.
    """

    def __init__(self, events: etree.iterparse) -> None:
        self.events = events
        self.seen = 0
        self.pending: list[XmlDamage] = []

    def _collect(self) -> None:
        log = self.events.error_log
        if len(log) > self.seen:
            for entry in list(log)[self.seen :]:
                if entry.level >= etree.ErrorLevels.ERROR:
                    self.pending.append(XmlDamage(entry.line, " ".join(entry.message.split())))
            self.seen = len(log)

    def for_record(self, record: etree._Element) -> XmlDamage | None:
        """The first error in `record` (or before it, after the previous one), or None."""
        self._collect()
        if not self.pending:
            return None
        # the record's last start tag; its end tag is on that line or the next, near enough
        last = max((e.sourceline or 0) for e in record.iter()) + 1
        mine = [d for d in self.pending if d.line <= last]
        self.pending = [d for d in self.pending if d.line > last]
        return mine[0] if mine else None

    def since_last(self) -> XmlDamage | None:
        """The first error not yet attributed: damage after the last record."""
        self._collect()
        first = self.pending[0] if self.pending else None
        self.pending = []
        return first


def _is_damage(item: object) -> bool:
    return isinstance(item, BadRecord) and (
        " is damaged XML: " in item.message or item.message.startswith("XML broken after")
    )


def until_readable(items: Iterable[Item], unreadable: str) -> Iterator[Item]:
    """`items`, except that damaged records before the first readable one are held back: a
    file in which nothing at all was readable raises InputError(`unreadable`: the damage)."""
    held: list[Item] = []
    readable = False
    for item in items:
        if not readable and _is_damage(item):
            held.append(item)
            continue
        if not readable:
            readable = True
            yield from held
        yield item
    if held and not readable:
        first = held[0]
        assert isinstance(first, BadRecord)
        raise InputError(f"{unreadable}: {first.where}: {first.message}")
