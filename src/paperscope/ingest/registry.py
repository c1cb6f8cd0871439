"""Pick the importer for a file by sniffing its content (the file name only breaks ties)."""

from __future__ import annotations

from paperscope.errors import UnknownFormatError
from paperscope.ingest.importers.base import Importer

IMPORTERS: list[Importer] = []
_builtin_loaded = False


def register(importer: Importer) -> Importer:
    if all(existing.name != importer.name for existing in IMPORTERS):
        IMPORTERS.append(importer)
    return importer


def _load_builtin() -> None:
    # Importing the modules registers them; kept in one place so the list is easy to read.
    from paperscope.ingest.importers import (  # noqa: F401
        arxiv_atom,
        arxiv_rss,
        bibtex,
        hf_papers,
        kaggle_jsonl,
        oai_pmh,
        openalex,
        page_arxiv_listing,
        page_hf_search,
        page_profile,
        semantic_scholar,
    )


def all_importers() -> list[Importer]:
    # Loaded on first use, not on import, so one importer module can be used on its own;
    # an importer module imported directly earlier must not stop the others from loading.
    global _builtin_loaded
    if not _builtin_loaded:
        _load_builtin()
        _builtin_loaded = True
    return IMPORTERS


def by_name(name: str) -> Importer:
    for importer in all_importers():
        if importer.name == name:
            return importer
    names = ", ".join(sorted(i.name for i in all_importers()))
    raise UnknownFormatError(f"no importer named {name!r}", hint=f"known formats: {names}")


def pick_importer(head: bytes, filename: str, shown: str | None = None) -> Importer:
    """The importer that claims `head` (`filename` breaks ties); `shown` names the file in
    the error when none does (its path, so a file inside an imported folder can be found)."""
    scored = []
    for importer in all_importers():
        score = importer.sniff(head, filename)
        if score is not None:
            scored.append((score, importer))
    if not scored:
        raise UnknownFormatError(
            f"{shown or filename}: not a format paperscope can import",
            hint="`paperscope formats` lists the formats; `--format NAME` forces one",
        )
    return max(scored, key=lambda pair: pair[0])[1]
