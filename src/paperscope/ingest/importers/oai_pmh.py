"""arXiv OAI-PMH responses (ListRecords / GetRecord) in the arXiv, arXivRaw and oai_dc formats.

Streams with lxml iterparse, one ``<record>`` at a time, freeing each when done, so a
multi-GB harvest dump never sits in memory. A record whose header says ``status="deleted"``
becomes a `Deletion`. OAI errors: ``noRecordsMatch`` is an empty answer (nothing yielded);
every other error code raises `InputError` with the code and arXiv's message.

`parse_response` reads one response body and also returns its resumptionToken, for the live
harvester that pages through a ListRecords.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
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
from paperscope.model import Author, BadRecord, Deletion, Item, Paper
from paperscope.normalize import (
    clean_name,
    clean_text,
    normalize_arxiv_id,
    normalize_doi,
    parse_date,
    split_authors,
)

NAME = "arxiv-oai"

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"

#: OAI error codes that mean "an empty list", not a failure.
_EMPTY_ERRORS = {"noRecordsMatch"}


# ---------------------------------------------------------------- streaming


def parse_response(data: bytes, origin: str) -> tuple[list[Item], str | None]:
    """(items, resumptionToken) of one response; the token is None when the list is complete."""
    token: list[str | None] = [None]
    items = list(_parse(io.BytesIO(data), origin, token))
    return items, token[0]


def _parse(stream: BinaryIO, origin: str, token: list[str | None] | None = None) -> Iterator[Item]:
    items = _records(stream, origin, token)
    return xmlsafe.until_readable(items, f"{origin}: not a readable OAI-PMH response")


def _records(
    stream: BinaryIO, origin: str, token: list[str | None] | None = None
) -> Iterator[Item]:
    count = 0
    tags = (OAI + "record", OAI + "error", OAI + "resumptionToken")
    events = xmlsafe.iterparse(stream, events=("end",), tag=tags)
    damage = xmlsafe.DamageLog(events)
    try:
        for _, elem in events:
            if elem.tag == OAI + "record":
                count += 1
                damaged = damage.for_record(elem)
                if damaged:
                    yield damaged.record(f"record {count}")
                else:
                    yield _record(elem, f"record {count}")
            elif elem.tag == OAI + "error":
                _raise_unless_empty(elem, origin)
            elif token is not None:
                # An empty resumptionToken marks the last page of a list.
                token[0] = clean_text(elem.text) or None
            # Free what is done with: the element and the finished records before it.
            elem.clear()
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        if count == 0:
            raise InputError(f"{origin}: not a readable OAI-PMH response: {exc}") from exc
        yield BadRecord(f"line {exc.lineno}", f"XML broken after record {count}: {exc.msg}")
        return
    broken = damage.since_last()
    if broken and count == 0:
        raise InputError(f"{origin}: not a readable OAI-PMH response: {broken}")
    if broken:
        yield BadRecord(f"line {broken.line}", f"XML broken after record {count}: {broken.message}")


def _raise_unless_empty(error: etree._Element, origin: str) -> None:
    code = error.get("code") or "unknown"
    if code in _EMPTY_ERRORS:
        return
    message = clean_text(error.text)
    raise InputError(
        f"{origin}: OAI-PMH error {code}: {message}",
        hint="check the verb, set, dates, identifier or resumptionToken of the request",
    )


# ---------------------------------------------------------------- records


def _record(record: etree._Element, where: str) -> Item:
    header = record.find(OAI + "header")
    if header is None:
        return BadRecord(where, "record without a <header>")
    identifier = child_text(header, OAI + "identifier")
    arxiv_id = normalize_arxiv_id(identifier)
    if header.get("status") == "deleted":
        if not arxiv_id:
            return BadRecord(where, f"deleted record with no arXiv id: {identifier!r}")
        return Deletion(arxiv_id, where)
    sets = [s.text or "" for s in header.iterfind(OAI + "setSpec")]
    metadata = record.find(OAI + "metadata")
    body = metadata[0] if metadata is not None and len(metadata) else None
    reader = _READERS.get(body.tag) if body is not None else None
    if reader is None:
        kind = _local_name(body) if body is not None else "no"
        return BadRecord(where, f"{identifier}: {kind} metadata is not arXiv, arXivRaw or oai_dc")
    paper = reader(body)
    paper.arxiv_id = paper.arxiv_id or arxiv_id
    if not paper.arxiv_id:
        return BadRecord(where, f"no arXiv id in {identifier!r}")
    if not paper.title:
        return BadRecord(where, f"{paper.arxiv_id}: record without a title")
    if not paper.categories:
        paper.categories = arxiv_categories(_set_category(s) for s in sets)
    paper.links = arxiv_links(paper.arxiv_id, paper.doi)
    paper.sources = [NAME]
    return paper


def _local_name(elem: etree._Element) -> str:
    """An element's name without namespace; never raises on what a recovering parse keeps
    (a comment, an undeclared prefix such as 'oai_dcc:d', found by bench/fuzz.py)."""
    if not isinstance(elem.tag, str):
        return "no"
    return elem.tag.rsplit("}", 1)[-1]


def _set_category(set_spec: str) -> str:
    """The arXiv code a setSpec names: "cs" -> cs, "physics:hep-ex" -> hep-ex,
    "physics:cond-mat:soft" -> cond-mat.soft."""
    parts = set_spec.strip().split(":")
    if len(parts) >= 3:
        return f"{parts[1]}.{parts[2]}"
    return parts[-1]


def _optional(text: str) -> str | None:
    return clean_text(text) or None


def _read_arxiv(meta: etree._Element) -> Paper:
    """metadataPrefix=arXiv: structured authors, created (v1) and updated (latest) dates."""
    arxiv_id = normalize_arxiv_id(child_text(meta, ARXIV + "id"))
    created = parse_date(child_text(meta, ARXIV + "created"))
    updated = parse_date(child_text(meta, ARXIV + "updated")) or created
    return Paper(
        title=arxiv_title(child_text(meta, ARXIV + "title")),
        abstract=arxiv_abstract(meta.findtext(ARXIV + "abstract")),
        authors=[_structured_author(a) for a in meta.iterfind(f"{ARXIV}authors/{ARXIV}author")],
        categories=arxiv_categories(child_text(meta, ARXIV + "categories").split()),
        published=created if _fits_id(created, arxiv_id) else None,
        updated=updated,
        arxiv_id=arxiv_id,
        doi=normalize_doi(child_text(meta, ARXIV + "doi")),
        journal_ref=_optional(child_text(meta, ARXIV + "journal-ref")),
        comment=_optional(child_text(meta, ARXIV + "comments")),
    )


def _structured_author(author: etree._Element) -> Author:
    parts = [child_text(author, ARXIV + tag) for tag in ("forenames", "keyname", "suffix")]
    affiliations = [clean_text(a.text) for a in author.iterfind(ARXIV + "affiliation")]
    return Author(clean_name(" ".join(p for p in parts if p)), "; ".join(affiliations) or None)


def _fits_id(day: str | None, arxiv_id: str | None) -> bool:
    """Whether a "first version" date can be one for this id (whose digits are YYMM...).

    The newer OAI service (oaipmh.arxiv.org) fills <created> with a later version's date for
    some records (2508.21012 "created" 2025-12-16): a date after the id's month, or more than
    a month before it, is not the first version's, and no date beats a wrong one.
    """
    if not day or not arxiv_id:
        return bool(day)
    digits = re.search(r"(\d{2})(\d{2})", arxiv_id.split("/")[-1])
    if not digits:
        return True
    yy, mm = int(digits.group(1)), int(digits.group(2))
    id_month = (1900 + yy if yy >= 91 else 2000 + yy) * 12 + mm
    day_month = int(day[:4]) * 12 + int(day[5:7])
    return id_month - 1 <= day_month <= id_month


def _read_arxiv_raw(meta: etree._Element) -> Paper:
    """metadataPrefix=arXivRaw: version history with RFC-822 dates, free-text authors."""
    versions = []
    for version in meta.iterfind(RAW + "version"):
        number = re.sub(r"\D", "", version.get("version") or "")
        day = parse_date(child_text(version, RAW + "date"))
        if day:
            versions.append((int(number or 0), day))
    versions.sort()
    authors = child_text(meta, RAW + "authors")
    return Paper(
        title=arxiv_title(child_text(meta, RAW + "title")),
        abstract=arxiv_abstract(meta.findtext(RAW + "abstract")),
        authors=[Author(n) for n in split_authors(_drop_parentheses(authors))],
        categories=arxiv_categories(child_text(meta, RAW + "categories").split()),
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if versions else None,
        arxiv_id=normalize_arxiv_id(child_text(meta, RAW + "id")),
        # "<doi>10.1103/PhysRevC.76.024606 10.1103/PhysRevC.76.039902</doi>": paper, erratum
        doi=normalize_doi(child_text(meta, RAW + "doi")),
        journal_ref=_optional(child_text(meta, RAW + "journal-ref")),
        comment=_optional(child_text(meta, RAW + "comments")),
    )


def _drop_parentheses(text: str) -> str:
    """Free-text authors without affiliations, nested ones included:
    "A (1 and 2), B (2) ((1) MIT, (2) CERN)" -> "A , B"."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", "", text)
    return text


def _read_oai_dc(meta: etree._Element) -> Paper:
    """metadataPrefix=oai_dc: "Last, First" creators, long subject names, several dates."""
    abstract, comment = "", None
    for description in meta.iterfind(DC + "description"):
        text = (description.text or "").strip()
        if text.startswith("Comment:"):
            comment = _optional(text.removeprefix("Comment:"))
        elif not abstract:
            abstract = arxiv_abstract(text)
    arxiv_id, doi, journal_ref = None, None, None
    for identifier in meta.iterfind(DC + "identifier"):
        text = clean_text(identifier.text)
        if text.lower().startswith("doi:"):
            doi = doi or normalize_doi(text)
        elif "arxiv.org/abs/" in text:
            arxiv_id = arxiv_id or normalize_arxiv_id(text)
        elif text and "://" not in text:
            # arXiv lists the journal reference among the identifiers of oai_dc records.
            journal_ref = journal_ref or text
    dates = sorted(d for d in (parse_date(e.text) for e in meta.iterfind(DC + "date")) if d)
    subjects = [_subject_key(s.text or "") for s in meta.iterfind(DC + "subject")]
    return Paper(
        title=arxiv_title(child_text(meta, DC + "title")),
        abstract=abstract,
        authors=[Author(clean_name(c.text or "")) for c in meta.iterfind(DC + "creator")],
        categories=arxiv_categories(SUBJECT_CODES.get(s) for s in subjects),
        published=dates[0] if dates else None,
        updated=dates[-1] if dates else None,
        arxiv_id=arxiv_id,
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
    )


_READERS: dict[str, Callable[[etree._Element], Paper]] = {
    ARXIV + "arXiv": _read_arxiv,
    RAW + "arXivRaw": _read_arxiv_raw,
    OAI_DC + "dc": _read_oai_dc,
}


# ---------------------------------------------------------------- oai_dc subject names

# arXiv's taxonomy as oai_dc spells it: "Archive - Category" (or just the archive's name for
# archives without categories) -> category code.
_ARCHIVES: dict[str, tuple[str, dict[str, str]]] = {
    "Computer Science": (
        "cs",
        {
            "Artificial Intelligence": "AI",
            "Hardware Architecture": "AR",
            "Computational Complexity": "CC",
            "Computational Engineering, Finance, and Science": "CE",
            "Computational Geometry": "CG",
            "Computation and Language": "CL",
            "Cryptography and Security": "CR",
            "Computer Vision and Pattern Recognition": "CV",
            "Computers and Society": "CY",
            "Databases": "DB",
            "Distributed, Parallel, and Cluster Computing": "DC",
            "Digital Libraries": "DL",
            "Discrete Mathematics": "DM",
            "Data Structures and Algorithms": "DS",
            "Emerging Technologies": "ET",
            "Formal Languages and Automata Theory": "FL",
            "General Literature": "GL",
            "Graphics": "GR",
            "Computer Science and Game Theory": "GT",
            "Human-Computer Interaction": "HC",
            "Information Retrieval": "IR",
            "Information Theory": "IT",
            "Machine Learning": "LG",
            "Learning": "LG",
            "Logic in Computer Science": "LO",
            "Multiagent Systems": "MA",
            "Multimedia": "MM",
            "Mathematical Software": "MS",
            "Numerical Analysis": "NA",
            "Neural and Evolutionary Computing": "NE",
            "Networking and Internet Architecture": "NI",
            "Other Computer Science": "OH",
            "Operating Systems": "OS",
            "Performance": "PF",
            "Programming Languages": "PL",
            "Robotics": "RO",
            "Symbolic Computation": "SC",
            "Sound": "SD",
            "Software Engineering": "SE",
            "Social and Information Networks": "SI",
            "Systems and Control": "SY",
        },
    ),
    "Economics": (
        "econ",
        {"Econometrics": "EM", "General Economics": "GN", "Theoretical Economics": "TH"},
    ),
    "Electrical Engineering and Systems Science": (
        "eess",
        {
            "Audio and Speech Processing": "AS",
            "Image and Video Processing": "IV",
            "Signal Processing": "SP",
            "Systems and Control": "SY",
        },
    ),
    "Mathematics": (
        "math",
        {
            "Commutative Algebra": "AC",
            "Algebraic Geometry": "AG",
            "Analysis of PDEs": "AP",
            "Algebraic Topology": "AT",
            "Classical Analysis and ODEs": "CA",
            "Combinatorics": "CO",
            "Category Theory": "CT",
            "Complex Variables": "CV",
            "Differential Geometry": "DG",
            "Dynamical Systems": "DS",
            "Functional Analysis": "FA",
            "General Mathematics": "GM",
            "General Topology": "GN",
            "Group Theory": "GR",
            "Geometric Topology": "GT",
            "History and Overview": "HO",
            "Information Theory": "IT",
            "K-Theory and Homology": "KT",
            "Logic": "LO",
            "Metric Geometry": "MG",
            "Mathematical Physics": "MP",
            "Numerical Analysis": "NA",
            "Number Theory": "NT",
            "Operator Algebras": "OA",
            "Optimization and Control": "OC",
            "Probability": "PR",
            "Quantum Algebra": "QA",
            "Rings and Algebras": "RA",
            "Representation Theory": "RT",
            "Symplectic Geometry": "SG",
            "Spectral Theory": "SP",
            "Statistics Theory": "ST",
        },
    ),
    "Astrophysics": (
        "astro-ph",
        {
            "Cosmology and Nongalactic Astrophysics": "CO",
            "Earth and Planetary Astrophysics": "EP",
            "Astrophysics of Galaxies": "GA",
            "High Energy Astrophysical Phenomena": "HE",
            "Instrumentation and Methods for Astrophysics": "IM",
            "Solar and Stellar Astrophysics": "SR",
        },
    ),
    "Condensed Matter": (
        "cond-mat",
        {
            "Disordered Systems and Neural Networks": "dis-nn",
            "Mesoscale and Nanoscale Physics": "mes-hall",
            "Materials Science": "mtrl-sci",
            "Other Condensed Matter": "other",
            "Quantum Gases": "quant-gas",
            "Soft Condensed Matter": "soft",
            "Statistical Mechanics": "stat-mech",
            "Strongly Correlated Electrons": "str-el",
            "Superconductivity": "supr-con",
        },
    ),
    "Nonlinear Sciences": (
        "nlin",
        {
            "Adaptation and Self-Organizing Systems": "AO",
            "Chaotic Dynamics": "CD",
            "Cellular Automata and Lattice Gases": "CG",
            "Pattern Formation and Solitons": "PS",
            "Exactly Solvable and Integrable Systems": "SI",
        },
    ),
    "Physics": (
        "physics",
        {
            "Accelerator Physics": "acc-ph",
            "Atmospheric and Oceanic Physics": "ao-ph",
            "Applied Physics": "app-ph",
            "Atomic and Molecular Clusters": "atm-clus",
            "Atomic Physics": "atom-ph",
            "Biological Physics": "bio-ph",
            "Chemical Physics": "chem-ph",
            "Classical Physics": "class-ph",
            "Computational Physics": "comp-ph",
            "Data Analysis, Statistics and Probability": "data-an",
            "Physics Education": "ed-ph",
            "Fluid Dynamics": "flu-dyn",
            "General Physics": "gen-ph",
            "Geophysics": "geo-ph",
            "History and Philosophy of Physics": "hist-ph",
            "Instrumentation and Detectors": "ins-det",
            "Medical Physics": "med-ph",
            "Optics": "optics",
            "Plasma Physics": "plasm-ph",
            "Popular Physics": "pop-ph",
            "Physics and Society": "soc-ph",
            "Space Physics": "space-ph",
        },
    ),
    "Quantitative Biology": (
        "q-bio",
        {
            "Biomolecules": "BM",
            "Cell Behavior": "CB",
            "Genomics": "GN",
            "Molecular Networks": "MN",
            "Neurons and Cognition": "NC",
            "Other Quantitative Biology": "OT",
            "Populations and Evolution": "PE",
            "Quantitative Methods": "QM",
            "Subcellular Processes": "SC",
            "Tissues and Organs": "TO",
        },
    ),
    "Quantitative Finance": (
        "q-fin",
        {
            "Computational Finance": "CP",
            "Economics": "EC",
            "General Finance": "GN",
            "Mathematical Finance": "MF",
            "Portfolio Management": "PM",
            "Pricing of Securities": "PR",
            "Risk Management": "RM",
            "Statistical Finance": "ST",
            "Trading and Market Microstructure": "TR",
        },
    ),
    "Statistics": (
        "stat",
        {
            "Applications": "AP",
            "Computation": "CO",
            "Methodology": "ME",
            "Machine Learning": "ML",
            "Other Statistics": "OT",
            "Statistics Theory": "TH",
        },
    ),
}
# Archives without categories, by the name oai_dc gives them.
_SINGLE_ARCHIVES = {
    "General Relativity and Quantum Cosmology": "gr-qc",
    "High Energy Physics - Experiment": "hep-ex",
    "High Energy Physics - Lattice": "hep-lat",
    "High Energy Physics - Phenomenology": "hep-ph",
    "High Energy Physics - Theory": "hep-th",
    "Mathematical Physics": "math-ph",
    "Nuclear Experiment": "nucl-ex",
    "Nuclear Theory": "nucl-th",
    "Quantum Physics": "quant-ph",
}


def _subject_key(name: str) -> str:
    return clean_text(name).casefold()


def _subject_codes() -> dict[str, str]:
    codes = {_subject_key(name): code for name, code in _SINGLE_ARCHIVES.items()}
    for archive, (prefix, categories) in _ARCHIVES.items():
        codes[_subject_key(archive)] = prefix
        for name, suffix in categories.items():
            codes[_subject_key(f"{archive} - {name}")] = f"{prefix}.{suffix}"
    return codes


#: Folded oai_dc subject name -> arXiv category code.
SUBJECT_CODES = _subject_codes()


# ---------------------------------------------------------------- importer


class ArxivOaiImporter:
    name: ClassVar[str] = NAME
    description: ClassVar[str] = (
        "arXiv OAI-PMH response (ListRecords/GetRecord in arXiv, arXivRaw or oai_dc)"
    )

    def sniff(self, head: bytes, filename: str) -> int | None:
        if b"<OAI-PMH" not in head or b"http://www.openarchives.org/OAI/2.0/" not in head:
            return None
        return 90 if b"arxiv" in head.lower() else None

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[Item]:
        return _parse(stream, origin)


register(ArxivOaiImporter())
