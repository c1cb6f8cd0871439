from __future__ import annotations

import random
from datetime import date

import pytest

from paperscope.errors import QueryError
from paperscope.rank.query import (
    MAX_DEPTH,
    And,
    Author,
    Category,
    DateRange,
    Not,
    Or,
    Term,
    author_from_name,
    filters_only,
    free_text,
    parse,
    parse_query,
    split_query,
    text_terms,
    to_string,
)


def w(text: str, field: str = "all") -> Term:
    return Term(field, text)


# ---------------------------------------------------------------- words, phrases, fields


def test_bare_words_are_an_implicit_and_over_all_fields() -> None:
    assert parse("attention  transformer") == And((w("attention"), w("transformer")))
    assert parse("bert") == w("bert")


def test_phrase_and_prefix() -> None:
    assert parse('"graph  neural network"') == Term("all", "graph neural network", phrase=True)
    assert parse("transform*") == Term("all", "transform", prefix=True)
    assert parse('ti:"quoted phrase"') == Term("ti", "quoted phrase", phrase=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ti:bert", "ti"),
        ("title:bert", "ti"),
        ("TI:bert", "ti"),
        ("abs:bert", "abs"),
        ("abstract:bert", "abs"),
        ("co:bert", "co"),
        ("jr:bert", "jr"),
        ("all:bert", "all"),
        ("title: bert", "ti"),
    ],
)
def test_field_prefixes_and_aliases(query: str, field: str) -> None:
    assert parse(query) == Term(field, "bert")


def test_field_applies_to_a_group() -> None:
    assert parse("ti:(a OR b) c") == And((Or((w("a", "ti"), w("b", "ti"))), w("c")))
    assert parse('abs:(a -"b c")') == And((w("a", "abs"), Not(Term("abs", "b c", phrase=True))))
    # an explicit field inside the group wins
    assert parse("ti:(a abs:b)") == And((w("a", "ti"), w("b", "abs")))


def test_value_may_contain_a_colon_and_lowercase_operators_are_words() -> None:
    assert parse("ti:foo:bar") == w("foo:bar", "ti")
    assert parse("cats and dogs or not") == And(tuple(map(w, ["cats", "and", "dogs", "or", "not"])))


def test_tex_in_words_is_decoded_and_lone_punctuation_dropped() -> None:
    assert parse('Schr\\"odinger - equation') == And((w("Schrödinger"), w("equation")))


def test_pasted_tex_is_read_as_the_index_reads_a_paper() -> None:
    # math is one word, kept as written (the index keeps it as written too); braces and
    # accents outside it decoded, an accent apart from its letter joined to it
    read = parse_query("$\\tilde{O}(\\sqrt{d^3 T})$-regret, 10^{15}Msun, Petojevi\\' c").node
    assert read == And((w("$\\tilde{O}(\\sqrt{d^3 T})$-regret,"), w("10^15Msun,"), w("Petojević")))
    assert parse_query(to_string(read)).node == read
    # an accent or letter macro apart from its letters is joined to them, as TeX reads it
    for typed, word in [
        ("Petojevi\\' c", "Petojević"),
        ("M\\o ller", "Møller"),
        ("Stra\\ss e", "Straße"),
        ('\\AA ngstr\\"om', "Ångström"),
        ("Erd\\H os", "Erdős"),
        ("Erd\\H {o}s", "Erdős"),
    ]:
        assert parse_query(typed).node == w(word)
    assert parse_query("Erd\\H cat:cs.LG").node == And((w("Erd\\H"), Category("cs.lg", False)))
    assert parse_query("Stra\\ss OR x").node == Or((w("Straß"), w("x")))
    assert parse("a~b") == w("a~b")  # strict reads "~" as it did
    # a word that decoding splits is the phrase it reads as
    assert parse_query("Fr\\'echet~distance").node == Term("all", "Fréchet distance", phrase=True)
    # strict keeps its reading: "(" groups, as before
    assert parse("$\\tilde{O}(n)$") == And((Term("all", "$\\tilde O", phrase=True), w("n")))


def test_arxiv_ids_lose_their_version() -> None:
    assert parse("id:2301.12345v2") == Term("id", "2301.12345")
    assert parse("arXiv:2301.12345") == Term("id", "2301.12345")
    assert parse("id:hep-th/9901001v1") == Term("id", "hep-th/9901001")


# ---------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
        ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
        ("a AND b OR c AND d", Or((And((w("a"), w("b"))), And((w("c"), w("d")))))),
        ("a ANDNOT b OR c", Or((And((w("a"), Not(w("b")))), w("c")))),
        ("a OR b ANDNOT c", Or((w("a"), And((w("b"), Not(w("c"))))))),
        ("a ANDNOT b c", And((w("a"), Not(w("b")), w("c")))),
        ("a ANDNOT b ANDNOT c", And((w("a"), Not(w("b")), Not(w("c"))))),
        ("a OR b OR c", Or((w("a"), w("b"), w("c")))),
        ("(a OR b) ANDNOT c", And((Or((w("a"), w("b"))), Not(w("c"))))),
        ("-a b", And((Not(w("a")), w("b")))),
        ("NOT a b", And((Not(w("a")), w("b")))),
        ("--a", w("a")),
        ("a ANDNOT -b", And((w("a"), w("b")))),
    ],
)
def test_precedence(query: str, expected: object) -> None:
    assert parse(query) == expected


def test_nested_groups() -> None:
    assert parse("((a OR (b c)) -(d OR e))") == And(
        (Or((w("a"), And((w("b"), w("c"))))), Not(Or((w("d"), w("e")))))
    )
    assert parse("a(b)") == And((w("a"), w("b")))
    deep = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(deep) == w("a")


def test_negation_forms() -> None:
    assert parse("a -b") == And((w("a"), Not(w("b"))))
    assert parse("a -ti:b") == And((w("a"), Not(w("b", "ti"))))
    assert parse('a -"b c"') == And((w("a"), Not(Term("all", "b c", phrase=True))))
    assert parse("state-of-the-art") == w("state-of-the-art")


# ---------------------------------------------------------------- authors


@pytest.mark.parametrize(
    "query", ['au:"Juhua Hu"', 'author:"Juhua Hu"', 'au:"Hu, Juhua"', "au:(Juhua Hu)"]
)
def test_full_author_name_spellings(query: str) -> None:
    node = parse(query)
    assert isinstance(node, Author)
    assert (node.family, node.initial, node.given) == ("hu", "j", "juhua")
    assert node.key == "hu_j"


@pytest.mark.parametrize("query", ["au:hu_j", "au:Hu_J", 'au:"J. Hu"', 'au:"Hu, J."'])
def test_initial_author_spellings(query: str) -> None:
    node = parse(query)
    assert isinstance(node, Author)
    assert (node.family, node.initial, node.given) == ("hu", "j", None)


def test_family_only_and_multiword_family() -> None:
    assert parse("au:Hu") == Author("hu", None, None, "Hu")
    assert parse("au:del_maestro_a") == Author("delmaestro", "a", None, "del_maestro_a")
    assert parse('au:"Antonio Del Maestro"').family == "delmaestro"
    assert parse('au:"J.-P. Serre"') == Author("serre", "j", None, "J.-P. Serre")
    assert parse('au:"Jean-Pierre Serre"').given == "jean pierre"


@pytest.mark.parametrize(
    "query",
    [
        'au:"Balázs Szegedy"',
        'au:"Balazs Szegedy"',
        'au:"Bal\\\'azs Szegedy"',
        'au:"Szegedy, Balázs"',
    ],
)
def test_accents_are_folded(query: str) -> None:
    node = parse(query)
    assert (node.family, node.initial, node.given) == ("szegedy", "b", "balazs")


def test_tex_accents_in_unquoted_author_words() -> None:
    assert parse("au:Bal\\'azs").family == "balazs"
    assert parse('au:G\\"odel').family == "godel"  # the escaped quote does not open a phrase


def test_author_group_joins_adjacent_words_into_one_name() -> None:
    node = parse('au:(Juhua Hu OR LeCun OR "Y. Bengio") graphs')
    assert node == And(
        (
            Or(
                (
                    Author("hu", "j", "juhua", "Juhua Hu"),
                    Author("lecun", None, None, "LeCun"),
                    Author("bengio", "y", None, "Y. Bengio"),
                )
            ),
            w("graphs"),
        )
    )
    # outside a group the field takes one word, as on arXiv
    assert parse("au:Juhua Hu") == And((Author("juhua", None, None, "Juhua"), w("Hu")))


def test_author_matching_rule() -> None:
    full, initial, family = parse('au:"Juhua Hu"'), parse("au:hu_j"), parse("au:Hu")
    for name in ["Juhua Hu", "Hu, Juhua", "J. Hu", "Juhua J. Hu"]:
        assert full.matches(name) and initial.matches(name) and family.matches(name), name
    assert not full.matches("Jun Hu")
    assert initial.matches("Jun Hu")
    assert not initial.matches("Xia Hu") and family.matches("Xia Hu")
    assert not family.matches("Juhua Huang")
    assert parse("au:Balazs").matches("Bal\\'azs")
    assert author_from_name("Hu, Juhua") == Author("hu", "j", "juhua", "Hu, Juhua")


# ---------------------------------------------------------------- categories and dates


def test_categories() -> None:
    assert parse("cat:cs.LG") == Category("cs.lg")
    assert parse("category:STAT.ML") == Category("stat.ml")
    assert parse("cat:cs.*") == Category("cs", prefix=True)
    assert parse("cat:cond-mat*") == Category("cond-mat", prefix=True)
    assert parse("cat:(cs.LG OR stat.ML)") == Or((Category("cs.lg"), Category("stat.ml")))
    archive = parse("cat:cs.*")
    assert archive.matches("cs.LG") and archive.matches("cs")
    assert not archive.matches("csx.AB") and not archive.matches("stat.ML")
    assert parse("cat:cs.lg").matches("cs.LG") and not parse("cat:cs.lg").matches("cs.LO")


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("submittedDate:[202301010000 TO 202312312359]", date(2023, 1, 1), date(2023, 12, 31)),
        ("submittedDate:[20230105 TO 20230210]", date(2023, 1, 5), date(2023, 2, 10)),
        ("submittedDate:[* TO 20231231]", None, date(2023, 12, 31)),
        ("submittedDate:[2023-03-01 to *]", date(2023, 3, 1), None),
        ("submittedDate:20230105", date(2023, 1, 5), date(2023, 1, 5)),
        ("year:2023", date(2023, 1, 1), date(2023, 12, 31)),
        ("year:2021..2024", date(2021, 1, 1), date(2024, 12, 31)),
        ("year:2021..", date(2021, 1, 1), None),
        ("year:..2019", None, date(2019, 12, 31)),
        ("after:2024-01-01", date(2024, 1, 1), None),
        ("after:2024-02", date(2024, 2, 1), None),
        ("after:2024", date(2024, 1, 1), None),
        ("before:2024-12-31", None, date(2024, 12, 31)),
        ("before:2024-02", None, date(2024, 2, 29)),
        ("before:2023", None, date(2023, 12, 31)),
    ],
)
def test_dates(query: str, start: date | None, end: date | None) -> None:
    assert parse(query) == DateRange(start, end)


# ---------------------------------------------------------------- errors with positions


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("a (b c", 2, "unbalanced parenthesis at position 2"),
        ("a b) c", 3, "unbalanced parenthesis at position 3"),
        ('ti:"abc', 3, "unterminated quote starting at position 3"),
        ("submittedDate:[2023 TO", 14, "unterminated date range starting at position 14"),
        ("foo:bar", 0, "unknown field 'foo:' at position 0"),
        ("a AND", 2, "AND needs a term on both sides"),
        ("OR a", 0, "OR needs a term on both sides"),
        ("a OR OR b", 2, "OR needs a term on both sides"),
        ("ANDNOT b", 0, "ANDNOT needs a term on both sides"),
        ("a ANDNOT", 2, "ANDNOT needs a term on both sides"),
        ("(a ANDNOT)", 3, "ANDNOT needs a term on both sides"),
        ("after:2024-13-01", 6, "date '2024-13-01' is not a valid date at position 6"),
        ("x before:2023-02-30", 9, "date '2023-02-30' is not a valid date"),
        ("submittedDate:[20230101 TO 202301012460]", 27, "date '202301012460' is not a valid"),
        ("submittedDate:[2023 2024]", 14, "expected a range like"),
        ("year:20x3", 5, "'20x3' is not a year"),
        ("year:..", 5, "is not a year"),
        ("year:2024..2021", 5, "ends before it starts"),
        ("year:[2020 TO 2021]", 5, "only works with submittedDate"),
        ("[2020 TO 2021]", 0, "range needs a field"),
        ("-word", 0, "nothing to search for"),
        ("-a -ti:b", 0, "nothing to search for"),
        ("a OR -b", 5, "every OR alternative needs a term that is not negated"),
        ("a OR (-b -c)", 5, "every OR alternative"),
        ("ti:", 3, "expected a value after 'ti:'"),
        ("au: OR b", 3, "expected a value after 'au:'"),
        ("a ()", 2, "empty parentheses"),
        ('a ""', 2, "empty phrase"),
        ("a*b", 1, "only allowed at the end"),
        ("x*", 0, "at least 2 characters"),
        ("au:hu*", 3, "wildcards are not supported in author names"),
        ("id:foo", 3, "'foo' is not an arXiv id"),
        ("a -&", 2, "expected a term after '-'"),
        ("(a -&)", 3, "expected a term after '-'"),
        ("a NOT", 2, "expected a term after 'NOT'"),
        ("NOT OR a", 0, "expected a term after 'NOT'"),
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, "nested more than"),
        ("x" * 1001, 1000, "longer than 1000 characters"),
    ],
)
def test_malformed_queries(query: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    assert info.value.position == position
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_field_hint_lists_the_known_fields() -> None:
    with pytest.raises(QueryError) as info:
        parse("graphs foo:bar")
    assert info.value.position == 7
    for name in ("ti", "au", "abs", "cat", "id", "co", "jr", "all", "submittedDate", "year"):
        assert name in info.value.hint


def test_a_thousand_characters_and_many_negations_are_fine() -> None:
    assert parse("a" * 1000) == w("a" * 1000)
    assert parse("-" * 401 + "a b") == And((Not(w("a")), w("b")))


# ---------------------------------------------------------------- helpers


def test_text_terms_and_free_text() -> None:
    node = parse('ti:graph "neural network" -survey au:hu_j cat:cs.LG id:2301.12345 OR neural')
    assert text_terms(node) == (
        w("graph", "ti"),
        Term("all", "neural network", phrase=True),
        w("neural"),
    )
    assert free_text(node) == "graph neural network neural"


def test_split_query_separates_free_text_from_filters() -> None:
    text, filters = split_query(parse("au:hu graph networks -survey year:2023 (gnn OR gcn)"))
    assert text == And((w("graph"), w("networks"), Or((w("gnn"), w("gcn")))))
    assert filters == And(
        (
            Author("hu", None, None, "hu"),
            Not(w("survey")),
            DateRange(date(2023, 1, 1), date(2023, 12, 31)),
        )
    )
    assert split_query(parse("graphs")) == (w("graphs"), None)
    assert split_query(parse("cat:cs.LG")) == (None, Category("cs.lg"))
    # an OR that mixes fields is a filter as a whole
    assert filters_only(parse("a OR ti:b")) == Or((w("a"), w("b", "ti")))


@pytest.mark.parametrize(
    "query",
    [
        "attention transformer",
        "a b OR c ANDNOT d",
        'ti:(a OR "b c") -abs:dee*',
        'au:(Juhua Hu OR hu_j) au:"Bal\\\'azs" au:G\\"odel cat:cs.* cat:stat.ML',
        "id:2301.12345v3 year:2021.. after:2024-02 submittedDate:[* TO 20231231]",
        "a -(b OR (c d)) e",
        "ti:foo:bar",
    ],
)
def test_to_string_round_trips(query: str) -> None:
    node = parse(query)
    assert parse(to_string(node)) == node


def test_to_string_is_readable() -> None:
    assert to_string(parse("a b OR c ANDNOT d")) == "(a b) OR (c -d)"
    assert to_string(parse("ti:(a OR b) -x")) == "(ti:a OR ti:b) -x"
    assert to_string(parse("year:2023")) == "submittedDate:[20230101 TO 20231231]"
    assert to_string(parse("cat:cs.*")) == "cat:cs.*"


def test_random_queries_parse_or_fail_cleanly_and_round_trip() -> None:
    """Seeded junk from the language's own pieces: only QueryError, and printable trees."""
    pieces = ["a", "bc", "Hu", "ti:", "au:", "cat:", "cs.*", "year:", "2023", "..", "(", ")"]
    pieces += ['"', "-", " ", " ", "AND", "OR", "ANDNOT", "NOT", "*", "\\", "[", "TO", "]"]
    pieces += ["_j", "é", ":", "id:", "2301.12345", "after:", "2024-02", "&", ",", "~", "{"]
    pieces += ["\\'", '\\"']
    rng = random.Random(7)
    parsed = 0
    for _ in range(5000):
        query = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        try:
            node = parse(query)
        except QueryError as error:
            assert error.position is not None and 0 <= error.position <= len(query), query
            continue
        parsed += 1
        assert parse(to_string(node)) == node, query
    assert parsed > 500


# ---------------------------------------------------------------- forgiving reading (issue 10)


@pytest.mark.parametrize(
    ("text", "expected", "noticed"),
    [
        # prose: "--" and " - " are dashes, "x-y" and "-5" are words, only "-word" negates
        ("Thomson problem -- where one seeks", "Thomson problem where one seeks", False),
        ("a - b", "a b", False),
        ("cooling to -5 kelvin", "cooling to all:-5 kelvin", False),
        ("graph -survey", "graph -survey", False),
        # "word:" is a field only for a known field name
        ("the excess: ratio", "the all:excess: ratio", True),
        ("ti:bert excess: x", "ti:bert all:excess: x", True),
        # "[" is a range only as a date field's value
        ("a [FROM TO TO] range", "a [FROM all:TO TO] range", True),
        ("submittedDate:[20230101 TO *] x", "submittedDate:[20230101 TO *] x", False),
        # an unbalanced quote is dropped, the words after it searched
        ('say "hello world', "say hello world", True),
        # what still does not parse is searched as its plain words
        ("(graph networks", "graph networks", True),
        ("graph AND (neural", "graph neural", True),
        ("-alone", "alone", True),
        ("year:abc learning", "year abc learning", True),
    ],
)
def test_forgiving_reading(text, expected, noticed):
    parsed = parse_query(text)
    # canonical syntax: a word that would read as a field or an operator keeps its all: prefix
    assert to_string(parsed.node) == expected
    assert parse_query(expected).node == parsed.node
    assert (parsed.notice is not None) == noticed
    if noticed:
        assert parsed.notice.startswith("searched as text: ")
        assert "position" in parsed.notice or "cut" in parsed.notice


@pytest.mark.parametrize(
    ("text", "expected", "noticed"),
    [
        # a pasted sentence (10+ bare words, a comma or a full stop ending a word) has no id
        # field and no exclusions: they are words of the text
        (
            "This was proposed in our companion paper arXiv:1906.10745, which we apply here.",
            "This was proposed in our companion paper all:arXiv:1906.10745, which we apply here.",
            "arXiv:1906.10745 is a word, not an operator",
        ),
        (
            "the mass-loss rates of clusters are approximated by -dM/dt = mu_ev ~ rho_h^{1/2}.",
            "the mass-loss rates of clusters are approximated by all:-dM/dt mu_ev rho_h^1/2.",
            "-dM/dt is a word, not an operator",
        ),
        # other fields stay fields (the web adds its filters to the query as fields)
        (
            "as in ti:bert, the authors of au:Hu and -survey say there is no id:2301.12345 here.",
            'as in ti:bert, the authors of au:"Hu" and all:-survey say there is no'
            " all:id:2301.12345 here.",
            "-survey, id:2301.12345 are words, not operators",
        ),
        # ten words and no punctuation: a cited id is still a word (an id names one paper),
        # an exclusion stays one
        (
            "our companion paper arXiv:1906.10745 which we apply to potential searches here -x",
            "our companion paper all:arXiv:1906.10745 which we apply to potential searches here -x",
            "arXiv:1906.10745 is a word, not an operator",
        ),
        # NOT in pasted text is a word too
        (
            "We find that the model does NOT generalize to unseen domains, contrary to claims.",
            "We find that the model does not generalize to unseen domains, contrary to claims.",
            "NOT is a word, not an operator",
        ),
        # the words exclusions apply to are not counted: a typed list of them stays
        ("graph, -a -b -c -d -e -f -g -h -i", "graph, -a -b -c -d -e -f -g -h -i", None),
        # typed queries keep them: few words, or many words without written punctuation
        ("arXiv:1906.10745 neutrino, timing", "id:1906.10745 neutrino, timing", None),
        (
            "deep learning for protein structure prediction from a single sequence -alphafold",
            "deep learning for protein structure prediction from a single sequence -alphafold",
            None,
        ),
    ],
)
def test_pasted_sentences_and_tex(text, expected, noticed):
    parsed = parse_query(text)
    assert to_string(parsed.node) == expected
    assert parse_query(expected).node == parsed.node  # the canonical form, read again
    if noticed is None:
        assert parsed.notice is None
    else:
        assert parsed.notice == f"searched as text: a sentence, where {noticed}"
    strict = parse_query(text, strict=True).node  # strict keeps the language as typed
    assert strict == parse(text)
    if noticed:
        assert strict != parsed.node


def test_strict_keeps_the_errors_with_positions():
    for text in ("the excess: ratio", "(graph networks", 'say "hello world', "a [b TO c]"):
        with pytest.raises(QueryError) as caught:
            parse_query(text, strict=True)
        assert caught.value.position is not None
    dashed = "Thomson problem -- where"
    assert parse_query(dashed, strict=True).node == parse(dashed)


def test_forgiving_never_refuses_text_with_a_word():
    rng = random.Random(10)
    alphabet = 'ab -"()[]:*$\\^_{}TO AND OR NOT ti:au:year:'
    for _ in range(2000):
        text = "w " + "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        parse_query(text)  # never raises
    long = "word " * 400
    parsed = parse_query(long)
    assert parsed.notice.startswith("query cut") and len(parsed.notice) < 100
    with pytest.raises(QueryError):
        parse_query("-- [ ] ( )")  # nothing to search for at all
