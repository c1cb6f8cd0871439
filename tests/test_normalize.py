"""TeX in text as importers and the lexical index decode it (`normalize.tex_to_unicode`)."""

from __future__ import annotations

import pytest

from paperscope.normalize import clean_name, parse_date, tex_to_unicode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"R\'{e}nyi and Fr\'echet, G\"odel, \v{S}penko", "Rényi and Fréchet, Gödel, Špenko"),
        (r"\emph{every} policy, \textbf{bold}", "every policy, bold"),
        # math is kept as written: its braces mean something
        (
            r"$k^{1 - 2/d}\mathrm{poly}(k)$ and $\mathbb{R}^n$",
            r"$k^{1 - 2/d}\mathrm{poly}(k)$ and $\mathbb{R}^n$",
        ),
        ("breakup of $^{11}$Be", "breakup of $^{11}$Be"),
        ("$$x^{2}$$ y~z", "$$x^{2}$$ y z"),
        # an unknown macro keeps its name, apart from its argument
        (r"see \cite{smith} and \url{x}", r"see \cite smith and x"),
        # escaped dollars are dollars, not math, and stay escaped: decoded, they could pair
        # with a real one the next time
        (r"costs \$5 and \$10 in R\'{e}nyi", r"costs \$5 and \$10 in Rényi"),
        (r"below \$10 per ton of CO$_{2}$", r"below \$10 per ton of CO$_{2}$"),
        # pandoc's rule: "$5 and $" is not math
        ("costs $5 and $x^{2}$", "costs $5 and $x^{2}$"),
        # dollars inside braces (DBLP's {$}) open no math: the braces still go
        ("{$}x{$} and {Word}", "$x$ and Word"),
        # TeX quote marks in prose, as typeset (they were shown as ``pseudo-LiDAR'')
        ("the ``pseudo-LiDAR'' signal", "the \u201cpseudo-LiDAR\u201d signal"),
        (
            "a `blind' agent, `Experience Replay'",
            "a \u2018blind\u2019 agent, \u2018Experience Replay\u2019",
        ),
        (r"``\'ecole'' and \`a la", "\u201c\u00e9cole\u201d and \u00e0 la"),
        # a lone '' (a prime), an apostrophe, a quote holding one and math stay as written
        ("f'' is convex, don't `don't' it", "f'' is convex, don't `don't' it"),
        ("$``x''$ and ``y''", "$``x''$ and \u201cy\u201d"),
    ],
)
def test_tex_to_unicode(text, expected):
    assert tex_to_unicode(text) == expected
    assert tex_to_unicode(expected) == expected  # decoded text stays as it is


@pytest.mark.parametrize("raw", ["2020-011", "2020-01-123", "20201-01-01", "12345"])
def test_parse_date_never_cuts_a_longer_number_to_a_date(raw):
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Robert St\u00a8uber", "Robert Stüber"),
        ("Jos\u00b4e Garc\u00b4\u0131a", "José García"),  # a dotless i under the accent
        ("Fran\u02c7cois Dupont", "Frančois Dupont"),
        ("Lale Akın", "Lale Akın"),  # a dotless i of its own stays
        ("A\u00a8 B", "A\u00a8 B"),  # an accent before no letter is not guessed at
    ],
)
def test_clean_name_puts_spacing_accents_back_on_their_letters(raw, clean):
    assert clean_name(raw) == clean
