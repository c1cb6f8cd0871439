"""Papers as files other programs read: BibTeX, CSV, JSON, Atom 1.0 and OpenSearch.

Library-level renderers with no web framework in them: the web exports (`serve/web/exports.py`),
the API and the pages (the copyable BibTeX entry) all call these, so every surface writes the
same bytes for the same papers.

Escaping is the point of this module: titles and names come from remote sources and may hold
anything (`<script>`, `{`, `%`, a leading `=`). XML is built with lxml, which escapes text
itself; BibTeX escapes its special characters; CSV goes through the csv module and defuses
cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

from lxml import etree

from paperscope.dates import iso_utc, precision
from paperscope.model import Paper
from paperscope.normalize import fold
from paperscope.serve.records import paper_full

ATOM_NS = "http://www.w3.org/2005/Atom"
#: Dublin Core: `dc:date` carries a year or month (W3CDTF) where Atom needs a full instant.
DC_NS = "http://purl.org/dc/elements/1.1/"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
#: Prefix of Atom entry ids: stable across host names and ports of the same install.
TAG_PREFIX = "tag:paperscope,2026:paper/"

# ---------------------------------------------------------------------------------- BibTeX

#: Characters BibTeX/LaTeX would read as markup, with their escaped forms.
_BIB_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIB_RE = re.compile("|".join(re.escape(c) for c in _BIB_ESCAPES))
_KEY_WORD_RE = re.compile(r"[a-z0-9]+")
#: Title words that make poor citation keys.
_KEY_STOP = frozenset("a an the on of for in and to with from towards toward via".split())
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def bib_escape(text: str) -> str:
    """Text safe inside a braced BibTeX field: specials escaped, whitespace collapsed."""
    return _BIB_RE.sub(lambda m: _BIB_ESCAPES[m.group(0)], " ".join(text.split()))


def bibtex_key(paper: Paper) -> str:
    """`family` + `year` + first significant title word, ASCII ("vaswani2017attention")."""
    family = ""
    if paper.authors:
        name = paper.authors[0].name
        # "Last, First" names the family first; otherwise the last word is the family name
        family = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    family = "".join(_KEY_WORD_RE.findall(fold(family).lower()))
    words = [w for w in _KEY_WORD_RE.findall(fold(paper.title).lower()) if w not in _KEY_STOP]
    key = f"{family or 'anon'}{paper.year or ''}{words[0] if words else ''}"
    return key or "paper"


def _bib_author(name: str) -> str:
    # a name with " and " in it (an organisation) must not split into two authors
    escaped = bib_escape(name)
    return "{" + escaped + "}" if re.search(r"\band\b", name, flags=re.I) else escaped


def bibtex_entry(paper: Paper, key: str | None = None) -> str:
    """One BibTeX entry: @article when it has a journal reference, else @misc with arXiv eprint
    fields. Authors a source left out ("et al.") become "and others"."""
    fields: list[tuple[str, str]] = []
    if paper.title and paper.title.strip():
        fields.append(("title", bib_escape(paper.title)))
    else:  # a stub added by id: no `title = {}`, say why it has none
        fields.append(("note", "not harvested yet"))
    names = [_bib_author(a.name) for a in paper.authors if a.name.strip()]
    if names and not paper.authors_complete:
        names.append("others")
    if names:
        fields.append(("author", " and ".join(names)))
    if paper.journal_ref:
        fields.append(("journal", bib_escape(paper.journal_ref)))
    if paper.published:
        fields.append(("year", paper.published[:4]))
        if len(paper.published) >= 7 and paper.published[5:7].isdigit():
            month = int(paper.published[5:7])
            if 1 <= month <= 12:
                fields.append(("month", _MONTHS[month - 1]))
    if paper.arxiv_id:
        fields += [("eprint", bib_escape(paper.arxiv_id)), ("archiveprefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryclass", bib_escape(paper.categories[0])))
    if paper.doi:
        fields.append(("doi", bib_escape(paper.doi)))
    url = paper.links.get("abs") or paper.links.get("doi")
    if url:
        # \url-style fields keep % and # literal in most styles; escape only braces
        fields.append(("url", url.replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")))
    kind = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key or bibtex_key(paper)},\n{body}\n}}\n"


def bibtex(papers: Iterable[Paper]) -> str:
    """Entries for many papers, keys made unique with a, b, c ... suffixes."""
    seen: dict[str, int] = {}
    out = []
    for paper in papers:
        key = bibtex_key(paper)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            key = f"{key}{_suffix(count)}"
        out.append(bibtex_entry(paper, key))
    return "\n".join(out)


def _suffix(n: int) -> str:
    """1 -> 'a', 26 -> 'z', 27 -> 'aa' ..."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ------------------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "id",
    "title",
    "authors",
    "date",
    "categories",
    "arxiv_id",
    "doi",
    "abs_url",
    "pdf_url",
    "upvotes",
    "citations",
    "abstract",
)
#: First characters that make Excel/LibreOffice evaluate a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    # a leading apostrophe is how spreadsheets mark "text, not formula"; numbers stay numbers
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_text(papers: Iterable[Paper]) -> str:
    """A header row and one row per paper; authors joined by "; ", categories by spaces."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in papers:
        row = (
            p.id,
            p.title,
            "; ".join(a.name for a in p.authors),
            p.published,
            " ".join(p.categories),
            p.arxiv_id,
            p.doi,
            p.links.get("abs"),
            p.links.get("pdf"),
            p.upvotes,
            p.citations,
            " ".join(p.abstract.split()),
        )
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ JSON


def json_records(papers: Iterable[Paper]) -> list[dict]:
    """Every field of each paper (`paper_full`), ready for orjson."""
    return [paper_full(p) for p in papers]


# ------------------------------------------------------------------------------------ Atom

#: Characters XML 1.0 forbids outright; lxml refuses them, so they are dropped.
_XML_BAD_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str | None) -> str:
    return _XML_BAD_RE.sub("", text or "")


#: The instant Atom's mandatory <updated> gets when nothing better is known (no day-precise
#: date and no record time given): readers show it, so it is only the last resort.
_NO_INSTANT = "1970-01-01T00:00:00Z"


def _timestamp(day: str | None) -> str:
    """RFC 3339 as Atom wants it, from a day or a full timestamp; a year or a month is not
    turned into an instant (that would invent its first day): it counts as no date."""
    if not day or precision(day) != "day":
        return _NO_INSTANT
    return day if "T" in day else f"{day[:10]}T00:00:00Z"


def _entry_updated(paper: Paper, modified: Mapping[str, str]) -> str:
    """An entry's <updated>: the paper's latest day-precise date; for a paper known only by
    year or month, when its record last changed in the store (Atom: the last significant
    change of the entry), not an invented first day nor 1970."""
    day = _day_or_none(paper.updated, paper.published)
    return _timestamp(day or modified.get(paper.id))


def _day_or_none(*values: str | None) -> str | None:
    return next((v for v in values if precision(v) == "day"), None)


def paper_link(base_url: str, paper: Paper) -> str:
    return f"{base_url.rstrip('/')}/paper/{quote(paper.id, safe='')}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str):
    element = etree.SubElement(
        parent, f"{{{ATOM_NS}}}{tag}", {k: _xml_text(v) for k, v in attrib.items()}
    )
    if text is not None:
        element.text = _xml_text(text)
    return element


def atom_feed(
    title: str,
    self_url: str,
    alternate_url: str,
    papers: Sequence[Paper],
    updated: str | None = None,
    *,
    base_url: str | None = None,
    modified: Mapping[str, str] | None = None,
) -> bytes:
    """An Atom 1.0 feed of `papers`; entries link to this server's paper pages.

    `base_url` (default: the origin of `alternate_url`) prefixes paper links. `modified`: when
    each paper's record last changed (`store.modified_times`), the <updated> of papers known
    only by year or month. `updated` defaults to the newest entry's.
    """
    base = base_url if base_url is not None else _origin(alternate_url)
    modified = modified or {}
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS, "dc": DC_NS})
    _sub(feed, "id", self_url)
    _sub(feed, "title", title)
    # an empty feed is as of now: 1970 told a reader subscribed to a search that matches
    # nothing yet that the feed was half a century old
    newest = max((_entry_updated(p, modified) for p in papers), default=None) or iso_utc()
    _sub(feed, "updated", _timestamp(updated) if updated else newest)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=alternate_url)
    _sub(feed, "generator", "paperscope")
    if not papers:
        # Atom requires an author on the feed when an entry lacks one; an empty feed needs one too
        _sub(_sub(feed, "author"), "name", "paperscope")
    for paper in papers:
        _atom_entry(feed, paper, base, _entry_updated(paper, modified))
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _atom_entry(feed: etree._Element, paper: Paper, base: str, updated: str) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", TAG_PREFIX + quote(paper.id, safe="/:.-"))
    _sub(entry, "title", paper.title, type="text")
    _sub(entry, "updated", updated)
    if precision(paper.published) == "day":
        _sub(entry, "published", _timestamp(paper.published))
    elif paper.published:
        # only a year or month is known: say so instead of an Atom instant on its first day
        etree.SubElement(entry, f"{{{DC_NS}}}date").text = paper.published
    names = [a.name for a in paper.authors if a.name.strip()] or ["unknown"]
    for name in names:
        _sub(_sub(entry, "author"), "name", name)
    if paper.abstract:
        _sub(entry, "summary", " ".join(paper.abstract.split()), type="text")
    for code in paper.categories:
        _sub(entry, "category", term=code)
    _sub(entry, "link", rel="alternate", type="text/html", href=paper_link(base, paper))
    for kind, rel, mime in (("abs", "related", "text/html"), ("pdf", "related", "application/pdf")):
        if paper.links.get(kind):
            _sub(entry, "link", rel=rel, type=mime, href=paper.links[kind], title=kind)


# ------------------------------------------------------------------------------ OpenSearch


def opensearch_description(base_url: str) -> bytes:
    """OpenSearch 1.1: how a browser runs a search here (HTML results, Atom, JSON)."""
    base = base_url.rstrip("/")

    def sub(parent, tag, text=None, **attrib):
        element = etree.SubElement(parent, f"{{{OPENSEARCH_NS}}}{tag}", attrib)
        if text is not None:
            element.text = text
        return element

    root = etree.Element(f"{{{OPENSEARCH_NS}}}OpenSearchDescription", nsmap={None: OPENSEARCH_NS})
    sub(root, "ShortName", "paperscope")
    sub(root, "Description", "Search the papers of your paperscope store")
    sub(root, "InputEncoding", "UTF-8")
    sub(root, "OutputEncoding", "UTF-8")
    sub(root, "Image", f"{base}/static/favicon.svg", type="image/svg+xml", width="16", height="16")
    sub(root, "Url", type="text/html", method="get", template=f"{base}/search?q={{searchTerms}}")
    sub(
        root,
        "Url",
        type="application/atom+xml",
        template=f"{base}/search.atom?q={{searchTerms}}",
    )
    sub(
        root,
        "Url",
        type="application/json",
        template=f"{base}/api/v1/search?q={{searchTerms}}",
    )
    sub(
        root,
        "Url",
        type="application/opensearchdescription+xml",
        rel="self",
        template=f"{base}/opensearch.xml",
    )
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
