"""The HTML pages through FastAPI's TestClient: every route, its parameters and error cases,
and the hostile sample papers rendered as text everywhere they appear."""

from __future__ import annotations

import re

import pytest

from conftest import WEB, XSS_ID, XSS_TITLE
from paperscope.store.backends import open_store
from webtools import client_for

#: How each hostile string must appear in the HTML (Jinja2/markupsafe escaping).
XSS_TITLE_HTML = "&lt;script&gt;alert(1)&lt;/script&gt;"
XSS_AUTHOR_HTML = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
LATEST_DAY = "2026-11-02"


@pytest.fixture(scope="module")
def small_pages(sample_db):
    """Pages of 2 papers, so the sample store has several pages to walk."""
    with client_for(sample_db, page_size=2) as client:
        yield client


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="title"><a href="[^"]+">([^<]*)</a>', main_of(html))


def assert_no_raw_markup(html: str) -> None:
    assert XSS_TITLE not in html
    assert "<img src=x" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "<script>" not in html.replace('<script src="/static/app.js" defer></script>', "")


# ------------------------------------------------------------------ feed


def test_feed_shows_the_latest_day_with_papers(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "Monday, 2 November 2026" in r.text
    assert XSS_TITLE_HTML in r.text
    assert_no_raw_markup(r.text)
    assert 'rel="alternate" type="application/atom+xml"' in r.text and "/feed.atom" in r.text


def test_feed_of_a_category_opens_on_the_newest_day_with_papers_of_it(client):
    """Without a date, a category's feed opened on the newest day of the whole store, where
    cs.CV has no paper: "No papers on this day in cs.CV" on the first page a reader sees."""
    r = client.get("/?cat=cs.CV")
    assert r.status_code == 200 and "Thursday, 16 October 2025" in r.text
    assert titles(r.text) and "No papers on this day" not in r.text
    api = client.get("/api/v1/feed", params={"cat": "cs.CV"}).json()
    assert api["start"] == "2025-10-16" and api["total"] == len(titles(r.text))
    assert "Monday, 2 November 2026" in client.get("/?cat=cs.LG").text  # newest is its own
    # a category without papers still opens on the newest day, and says so
    assert "No dated paper in the store is in xx.NONE." in client.get("/?cat=xx.NONE").text


def test_feed_day_prev_next_are_the_nearest_days_with_papers(client):
    r = client.get("/?date=2026-10-07")
    assert r.status_code == 200
    assert 'href="/?date=2026-10-06"' in r.text and 'rel="prev"' in r.text
    assert 'href="/?date=2026-11-02"' in r.text and 'rel="next"' in r.text


def test_empty_day_says_so_and_links_the_nearest_days(client):
    r = client.get("/?date=2026-10-20")
    assert r.status_code == 200
    assert "No papers on this day" in r.text
    assert 'class="nearest" href="/?date=2026-10-07"' in r.text
    assert 'class="nearest" href="/?date=2026-11-02"' in r.text
    assert titles(r.text) == []


def test_feed_links_to_other_periods_and_days_keep_sort_and_category(client):
    """ "Day", "Week" and "Month" of a filtered feed, and an empty day's nearest days, dropped
    the reader's category or sort: "Week" from November's cs.LG by newest showed every
    category by trending."""
    month = client.get("/month/2026-11?cat=cs.LG&sort=newest").text.replace("&amp;", "&")
    periods = re.search(r'<nav class="periods".*?</nav>', month, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', periods) == [
        "/?date=2026-11-02&sort=newest&cat=cs.LG",
        "/week/2026-W45?sort=newest&cat=cs.LG",
        "/month/2026-11?sort=newest&cat=cs.LG",
    ]
    empty = client.get("/?date=2026-10-20&cat=cs.LG&sort=newest").text.replace("&amp;", "&")
    nearest = re.findall(r'class="nearest" href="([^"]+)"', empty)
    assert nearest and all(h.endswith("&sort=newest&cat=cs.LG") for h in nearest), nearest
    # the default sort stays out of the links, as in prev/next
    plain = client.get("/month/2026-11?cat=cs.LG").text.replace("&amp;", "&")
    assert 'href="/week/2026-W45?cat=cs.LG"' in plain and "sort=trending" not in plain


def test_day_from_a_week_or_month_is_its_newest_day_with_papers(client):
    """ "Day" from November 2026 led to Sunday 1 November, "No papers on this day", one click
    after a month that has papers; it leads to the month's newest day with papers (of the
    page's category), and from an empty week to its first day, which links the nearest."""
    day_link = re.compile(r'<a href="([^"]+)"[^>]*>Day</a>')
    for url, day in [
        ("/month/2026-11", "/?date=2026-11-02"),
        ("/week/2026-W09", "/?date=2026-02-24"),
        ("/month/2025-10?cat=cs.CV", "/?date=2025-10-16&cat=cs.CV"),
        ("/week/2026-W10", "/?date=2026-03-02"),
    ]:
        found = day_link.search(client.get(url).text).group(1).replace("&amp;", "&")
        assert found == day, url
        if "W10" not in url:
            assert titles(client.get(found).text), found


def test_week_from_a_month_is_the_week_of_its_newest_day_with_papers(client):
    """ "Week" from November 2026 led to the ISO week of 1 November, a Sunday: 26 October to
    1 November, one day of the month, and no paper of it. It leads to the week of the day
    "Day" leads to."""
    week_link = re.compile(r'<a href="([^"]+)"[^>]*>Week</a>')
    for url, week in [
        ("/month/2026-11", "/week/2026-W45"),
        ("/month/2025-10?cat=cs.CV", "/week/2025-W42?cat=cs.CV"),
        ("/week/2026-W09", "/week/2026-W09"),  # its own
        ("/?date=2026-10-07", "/week/2026-W41"),
    ]:
        found = week_link.search(client.get(url).text).group(1).replace("&amp;", "&")
        assert found == week, url
        assert titles(client.get(found).text), found


def test_empty_weekday_of_a_category_is_not_explained_by_weekends(client):
    """A weekday with papers, none of them in the category, said "Weekends and holidays have
    no announcements", which explains nothing there; a day without any papers still says it."""
    r = client.get("/?date=2026-10-07&cat=math.AG")  # a Wednesday with papers
    assert r.status_code == 200 and titles(r.text) == []
    assert "No papers on this day in math.AG" in r.text
    assert "Weekends and holidays" not in r.text
    assert "Weekends and holidays" in client.get("/?date=2026-10-20").text  # no papers at all
    assert "Weekends and holidays" in client.get("/?date=2026-10-10&cat=math.AG").text  # Sat


@pytest.mark.parametrize(
    ("url", "back"),
    [
        ("/?date=2026-10-07&cat=xx.NONE", 'href="/?date=2026-10-07"'),
        ("/month/2026-10?cat=xx.NONE&sort=newest", 'href="/month/2026-10?sort=newest"'),
    ],
)
def test_empty_period_of_an_unknown_category_does_not_say_the_store_is_empty(client, url, back):
    """A day of a category no paper has said "The store has no dated papers yet", which was
    false: it says the category is what has none, and links the period in every category."""
    r = client.get(url)
    assert r.status_code == 200 and titles(r.text) == []
    assert "The store has no dated papers yet" not in r.text
    assert "No dated paper in the store is in xx.NONE." in r.text
    assert back in r.text.replace("&amp;", "&")


@pytest.mark.parametrize(
    "url", ["/?date=bad", "/?date=2026-02-30", "/week/2026-W60", "/week/x", "/month/2026-13"]
)
def test_bad_dates_are_client_errors_not_500(client, url):
    r = client.get(url)
    assert r.status_code in (400, 422)
    assert "Bad request" in r.text or "bad parameter" in r.text


def test_bad_feed_parameters(client):
    assert client.get("/?sort=popular").status_code == 400
    assert client.get("/?page=0").status_code == 422
    assert client.get("/?page=x").status_code == 422


def test_error_pages_say_what_went_wrong_in_words(client):
    """A 422 (page=0), a 403 (a form without its token) and a 405 were headed "Error 422",
    "Error 403", "Error 405": a status number, no words for a reader."""
    heading = re.compile(r'<h1 id="error-title">([^<]*)</h1>')
    cases = [
        (client.get("/?page=0"), 422, "Bad request"),
        (client.post("/library/save", data={"paper": "2602.20159"}), 403, "Not allowed"),
        (client.post("/"), 405, "Not allowed"),
    ]
    for response, status, words in cases:
        assert response.status_code == status
        assert heading.search(response.text).group(1) == words, status
        # the tab's title too: "422 error" was the first thing a screen reader said
        assert f"<title>{words} · paperscope</title>" in response.text, status
    assert "<title>Not found · paperscope</title>" in client.get("/nope").text
    # reloading the answer to a refused form sends the same form again: back to its page
    assert "go back, reload the page the form is on" in cases[1][0].text


def test_week_and_month_pages_navigate(client):
    week = client.get("/week/2026-W09")
    assert week.status_code == 200
    assert "Week 9 of 2026" in week.text
    # week 10 has no papers: "next" skips it to week 11 (9 March)
    assert 'href="/week/2026-W08"' in week.text and 'href="/week/2026-W11"' in week.text
    assert "/week/2026-W10" not in week.text
    assert len(titles(week.text)) == 20  # the HF daily list's week has more than a page
    month = client.get("/month/2026-02")
    assert "February 2026" in month.text
    assert 'href="/month/2026-01"' in month.text and 'href="/month/2026-03"' in month.text
    assert "51 papers" in month.text
    # the last month with papers has no "next"
    assert 'rel="next"' not in client.get("/month/2026-11").text


def listed(html: str) -> list[tuple[str, str, int]]:
    """(title, datetime, upvotes shown) of each paper in a list, in page order; the upvotes
    are what the item says in words, "N here · M on Hugging Face", added up as the sort does."""
    out = []
    for item in main_of(html).split('<li class="paper">')[1:]:
        title = re.search(r'<h3 class="title"><a href="[^"]+">([^<]*)</a>', item)
        day = re.search(r'<time datetime="([^"]*)"', item)
        text = re.sub(r"<[^>]+>", "", item)
        here = re.search(r"(\d+) here", text)
        source = re.search(r"(\d+) on Hugging Face", text)
        assert title, item
        votes = sum(int(m.group(1)) for m in (here, source) if m)
        out.append((title.group(1), day.group(1) if day else "", votes))
    return out


def test_feed_sorts_and_category_filter(client):
    # the order each sort promises, read from the pages: page 1 then page 2 of the month
    pages = {
        sort: [listed(client.get(f"/month/2026-02?sort={sort}&page={n}").text) for n in (1, 2)]
        for sort in ("newest", "upvotes")
    }
    for sort, (first, second) in pages.items():
        assert len(first) == 20 and second, sort
    newest = [day for _, day, _ in pages["newest"][0] + pages["newest"][1]]
    assert newest == sorted(newest, reverse=True) and len(set(newest)) > 3
    voted = [(votes, day) for _, day, votes in pages["upvotes"][0] + pages["upvotes"][1]]
    assert voted == sorted(voted, reverse=True) and len({v for v, _ in voted}) > 3
    assert {t for t, _, _ in pages["newest"][0]} != {t for t, _, _ in pages["upvotes"][0]}
    lg = client.get("/month/2026-11?cat=cs.LG")
    assert titles(lg.text) == [
        "Injection &amp; &#34;quotes&#34; in &lt;em&gt;titles&lt;/em&gt;: a study of escaping"
    ]
    assert '<option value="cs.LG" selected>' in lg.text
    assert 'for="feed-sort"' in lg.text and 'for="feed-cat"' in lg.text


def test_feed_pagination_marks_the_current_page(small_pages):
    first = small_pages.get("/month/2026-02")
    assert 'aria-current="page">1</a>' in first.text
    assert 'href="/month/2026-02?page=2"' in first.text
    second = small_pages.get("/month/2026-02?page=2")
    assert 'aria-current="page">2</a>' in second.text
    assert set(titles(first.text)).isdisjoint(titles(second.text))
    assert len(titles(second.text)) == 2


@pytest.mark.parametrize(
    "path", ["/month/2026-02", f"/?date={LATEST_DAY}", "/author/juhua-hu", "/cat/cs.LG"]
)
def test_a_page_number_past_the_end_says_so(small_pages, path):
    # the count above the list ("21 papers") over an empty list, and no way back, was what a
    # stale link or a typed page number showed; the search page already said so
    sep = "&" if "?" in path else "?"
    last = small_pages.get(path)
    pages = max(int(n) for n in re.findall(r"page=(\d+)", last.text) or ["1"])
    r = small_pages.get(f"{path}{sep}page=999")
    assert r.status_code == 200 and not titles(r.text)
    notice = re.search(r'<p class="notice" id="past-end">(.*?)</p>', r.text)
    assert notice and f"end on page {pages}" in notice.group(1), r.text
    target = re.search(r'href="([^"]+)">Go to page', notice.group(1)).group(1)
    assert titles(small_pages.get(target.replace("&amp;", "&")).text)
    # a page in range has no such notice
    assert 'id="past-end"' not in last.text


def test_featured_submissions_show_on_their_day(store_any):
    with open_store(store_any) as store:
        rowid = store.resolve(XSS_ID)
        user = store.conn.execute(
            "INSERT INTO users (email, display_name, created_at) VALUES (?, ?, ?) RETURNING id",
            ("m@example.org", "Mallory <b>M</b>", "2026-11-02T00:00:00Z"),
        ).fetchone()[0]
        store.conn.execute(
            "INSERT INTO submissions (paper_rowid, user_id, day, submitted_at) VALUES (?, ?, ?, ?)",
            (rowid, user, "2026-10-20", "2026-10-20T09:00:00Z"),
        )
    with client_for(store_any) as client:
        r = client.get("/?date=2026-10-20")
    assert "Community picks" in r.text
    assert "submitted by Mallory &lt;b&gt;M&lt;/b&gt;" in r.text
    assert XSS_TITLE_HTML in r.text
    assert_no_raw_markup(r.text)


# ------------------------------------------------------------------ search


def test_empty_search_shows_the_form_and_help(client):
    r = client.get("/search")
    assert r.status_code == 200
    assert '<label for="q">' in r.text and "The query language" in r.text
    for control in ("s-mode", "s-sort", "s-cat", "s-from", "s-until"):
        assert f'for="{control}"' in r.text


def test_search_hits_show_authors_snippet_and_facets(client):
    r = client.get("/search?q=learning&mode=lexical&size=50")
    assert r.status_code == 200
    assert "<mark>" in r.text  # highlighted terms in the snippet
    assert re.search(r"et al\. \(\d+\)", r.text)  # first authors + et al. with the total
    assert "<h2>Categories</h2>" in r.text and "<h2>Years</h2>" in r.text
    assert 'href="/search?q=learning&amp;mode=lexical&amp;size=50&amp;cat=' in r.text
    assert "/search.atom?q=learning" in r.text


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "semantic"])
def test_search_modes(client, mode):
    r = client.get(f"/search?q=clustering&mode={mode}")
    assert r.status_code == 200
    assert f'<option value="{mode}" selected>' in r.text
    assert titles(r.text)


def test_search_filters_category_and_dates(client):
    all_hits = client.get("/search?q=learning&mode=lexical&size=100").text
    in_cat = client.get("/search?q=learning&mode=lexical&size=100&cat=cs.CV").text
    assert 0 < len(titles(in_cat)) < len(titles(all_hits))
    dated = client.get("/search?q=learning&mode=lexical&size=100&from=2026-01-01&until=2026-12-31")
    years = re.findall(r'<time datetime="(\d{4})', main_of(dated.text))
    assert years and set(years) == {"2026"}
    assert client.get("/search?q=learning&from=2026-99-01").status_code == 400


def test_search_pagination(small_pages):
    first = small_pages.get("/search?q=learning&mode=lexical&sort=newest")
    second = small_pages.get("/search?q=learning&mode=lexical&sort=newest&page=2")
    assert 'aria-current="page">1</a>' in first.text
    assert 'aria-current="page">2</a>' in second.text
    assert "page=2" in first.text
    assert set(titles(first.text)).isdisjoint(titles(second.text))


def test_pasted_text_is_searched_with_a_notice_line(client):
    r = client.get("/search?q=a+OR+(")
    assert r.status_code == 200
    assert 'id="query-notice"' in r.text and "searched as text" in r.text
    assert 'id="q-error"' not in r.text


def test_malformed_query_is_a_400_with_the_message_next_to_the_box_when_strict(client):
    r = client.get("/search?q=a+OR+(&strict=true")
    assert r.status_code == 400
    assert 'id="q-error"' in r.text and "parenthesis" in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'value="a OR ("' in r.text
    assert "^ at character" in r.text


def test_search_limits(client, sample_db):
    assert client.get("/search?q=" + "a" * 501).status_code == 400
    # a size above the cap shows exactly max_page_size papers when more match, and every
    # match when fewer do (`learning` matches 99 of the sample papers, the API's total)
    total = client.get("/api/v1/search?q=learning&mode=lexical&limit=1").json()["total"]
    assert total > 20
    capped = client.get("/search?q=learning&mode=lexical&size=100000")
    assert capped.status_code == 200 and len(titles(capped.text)) == min(total, 100)
    assert len(titles(client.get("/search?q=learning&mode=lexical&size=7").text)) == 7
    with client_for(sample_db, max_page_size=20) as small_cap:
        capped = small_cap.get("/search?q=learning&mode=lexical&size=100000")
        assert capped.status_code == 200 and len(titles(capped.text)) == 20
    assert client.get("/search?q=x&mode=fuzzy").status_code == 400
    assert client.get("/search?q=x&sort=random").status_code == 400
    assert client.get("/search?q=x&size=0").status_code == 422


def test_search_shows_hostile_papers_as_text(client):
    r = client.get("/search?q=alert&mode=lexical")
    assert XSS_TITLE_HTML in r.text and XSS_AUTHOR_HTML in r.text
    assert_no_raw_markup(r.text)


# ------------------------------------------------------------------ paper


def test_paper_page(client):
    r = client.get("/paper/" + XSS_ID)
    assert r.status_code == 200
    html = r.text
    assert XSS_TITLE_HTML in html and XSS_AUTHOR_HTML in html
    assert_no_raw_markup(html)
    assert "&lt;b&gt;bold&lt;/b&gt; comment" in html
    assert '<pre class="bibtex" id="bibtex">' in html and 'data-copy="bibtex" hidden' in html
    assert 'href="/paper/2611.00001.bib"' in html and 'href="/paper/2611.00001.json"' in html
    assert 'href="/author/eve-example"' in html
    assert "Similar papers" in html and "Sources" in html


def test_paper_page_links_authors_similar_and_more(client):
    with open_store(client.app.state.settings.db_path) as store:
        hu = next(p for _, p in store.iter_papers() if any(a.name == "Juhua Hu" for a in p.authors))
    html = client.get("/paper/" + hu.id).text
    assert 'href="/author/juhua-hu"' in html
    assert "More by" in html
    similar = html.split('id="similar-title"', 1)[1].split("</section>", 1)[0]
    assert len(re.findall(r'href="/paper/', similar)) >= 3


def test_paper_page_of_a_paper_known_by_its_number_of_authors(client):
    """A source that gives only the number of authors (the Hugging Face search pages): the
    page says that number, not "and 6 more" after no names."""
    with open_store(client.app.state.settings.db_path) as store:
        paper = next(p for _, p in store.iter_papers() if not p.authors and p.author_count)
    html = client.get("/paper/" + paper.id).text
    line = html.split('class="authors-full">', 1)[1].split("</p>", 1)[0]
    n = paper.author_count
    assert f"{n} author{'' if n == 1 else 's'}, names not known" in line
    assert "more" not in line and "et al." not in line


def test_paper_redirects_to_the_canonical_id(client):
    r = client.get("/paper/arXiv:2611.00001v2", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/paper/2611.00001"
    r = client.get("/paper/https://arxiv.org/abs/2611.00001", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/paper/2611.00001"


def test_unknown_paper_is_404(client):
    r = client.get("/paper/9999.99999")
    assert r.status_code == 404 and "Not found" in r.text


def test_unknown_paper_page_offers_to_search_for_what_was_typed(client):
    """The 404 of /paper/graph neural nets told a reader of the web page that ids are "the
    id `search` shows", a command of the CLI; it now offers the search itself."""
    r = client.get("/paper/graph neural <nets>")
    assert r.status_code == 404 and "`search`" not in r.text
    assert "DOIs or the ids search results give" in r.text
    assert (
        '<a href="/search?q=graph+neural+%3Cnets%3E">Search for “graph neural &lt;nets&gt;”</a>'
        in r.text
    )
    # an arXiv id the store lacks: its hint links arXiv, and a search would say it again
    lacking = client.get("/paper/2101.00001")
    assert "https://arxiv.org/abs/2101.00001" in lacking.text and "Search for" not in lacking.text


# ------------------------------------------------------------------ author, category, org


def test_author_page(client):
    r = client.get("/author/juhua-hu")
    assert r.status_code == 200
    html = r.text
    assert "<h1" in html and "Juhua Hu" in html
    assert "20 papers" in html
    assert "<meter" in html and "Coauthors" in html
    assert 'href="/author/juhua-hu.atom"' in html
    coauthor = re.search(r'class="plain coauthors"><li><a href="(/author/[^"]+)"', html)
    assert coauthor and client.get(coauthor.group(1)).status_code == 200


def test_author_page_of_the_hostile_name_escapes_it(client):
    r = client.get("/author/img-src-x-onerror-alert-1")
    assert r.status_code == 200
    assert XSS_AUTHOR_HTML in r.text and XSS_TITLE_HTML in r.text
    assert_no_raw_markup(r.text)


def test_unknown_author_is_404(client):
    assert client.get("/author/nobody-at-all").status_code == 404


def test_unknown_author_page_offers_to_search_for_the_name(client):
    """The 404 of an author page told a reader of the web page that "`paperscope authors
    list` shows them", a command of the CLI; it offers a search for the name instead."""
    r = client.get("/author/juhua-hux-<b>")
    assert r.status_code == 404 and "paperscope" not in main_of(r.text)
    assert "e.g. juhua-hu" in r.text
    assert '<a href="/search?q=juhua+hux+%3Cb%3E">Search for “juhua hux &lt;b&gt;”</a>' in r.text


def test_category_page(client, small_pages):
    r = client.get("/cat/cs.CR")
    assert r.status_code == 200
    assert XSS_TITLE_HTML in r.text and "Top authors" in r.text
    assert_no_raw_markup(r.text)
    assert "/cat/cs.CR.atom" in r.text
    paged = small_pages.get("/cat/cs.LG?page=2")
    assert 'aria-current="page">2</a>' in paged.text
    assert client.get("/cat/xx.NOPE").status_code == 404


def test_organisation_pages(client):
    r = client.get("/org/naver-ai-lab")
    assert r.status_code == 200 and "NAVER AI Lab" in r.text and "AdamP" in r.text
    # the HF slug the search page shows resolves to the same organisation
    assert "NAVER AI Lab" in client.get("/org/naver-ai").text
    # the " · amazon-science" suffix of the author-profile page
    assert "Multimodal Data Quality" in client.get("/org/amazon-science").text
    assert client.get("/org/no-such-org").status_code == 404
    # lists link organisations
    assert 'href="/org/naver-ai-lab"' in client.get("/search?q=AdamP&mode=lexical").text


def test_organisations_in_other_scripts_are_linked_to_their_own_pages(tmp_path):
    """Their links went to `/org/` (a 404), or to a page shared with another organisation
    whose Latin part agreed ("清华大学 AI Lab" and "北京大学 AI Lab" were both /org/ai-lab)."""
    from paperscope.model import Author, Paper

    orgs = {
        "Яндекс": "Yandex paper",
        "清华大学 AI Lab": "Tsinghua paper",
        "北京大学 AI Lab": "Peking paper",
    }
    db = tmp_path / "orgs.db"
    with open_store(str(db)) as store:
        store.write_batch(
            [
                Paper(
                    title=title,
                    authors=[Author("Ann Example")],
                    categories=["cs.IR"],
                    published=f"2026-02-2{i}",
                    organization=org,
                    sources=["test"],
                )
                for i, (org, title) in enumerate(orgs.items())
            ],
            origin="test",
        )
    with client_for(db) as client:
        links = re.findall(r'href="(/org/[^"]*)"', client.get("/cat/cs.IR").text)
        assert len(set(links)) == 3 and "/org/" not in links
        for link in links:
            page = client.get(link)
            assert page.status_code == 200
            found = [title for org, title in orgs.items() if title in page.text]
            assert len(found) == 1


def test_an_organisation_without_letters_is_shown_not_linked(tmp_path):
    """A source's organisation of punctuation alone ("—") linked `/org/`, a 404."""
    from paperscope.model import Author, Paper

    db = tmp_path / "orgs.db"
    with open_store(str(db)) as store:
        store.write_batch(
            [
                Paper(
                    title="A paper of nobody's lab",
                    authors=[Author("Ann Example")],
                    categories=["cs.IR"],
                    published="2026-02-20",
                    organization="— · —",
                    sources=["test"],
                )
            ],
            origin="test",
        )
    with client_for(db) as client:
        listing = client.get("/cat/cs.IR").text
        assert '<span class="org">— · —</span>' in listing and 'href="/org/"' not in listing
        link = re.search(r'href="(/paper/[^"]+)"', listing).group(1)
        page = client.get(link).text
        assert '<span class="org">— · —</span>' in page and 'href="/org/"' not in page


#: The whole policy, directive by directive: an added source ('unsafe-inline', a CDN) or a
#: dropped directive is a failure, not only a missing script-src.
STRICT_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    parsed = {words[0]: words[1:] for words in directives}
    assert len(parsed) == len(directives), "a directive appears twice"
    return parsed


def test_pages_send_the_strict_csp_and_no_inline_script_or_style(client):
    for url in ["/", "/search?q=learning", "/paper/" + XSS_ID, "/author/juhua-hu", "/cat/cs.LG"]:
        r = client.get(url)
        assert csp_directives(r.headers["content-security-policy"]) == STRICT_CSP
        assert " style=" not in r.text and " onclick=" not in r.text
        assert re.findall(r"<script(?![^>]*\bsrc=)", r.text) == []


def test_paper_page_names_an_imported_file_without_the_servers_directories(client):
    page = client.get(f"/paper/{XSS_ID}").text
    assert "xss-papers.jsonl" in page
    assert str(WEB) not in page and str(WEB.parent) not in page


def test_a_paper_without_similar_papers_names_no_command(store_copy):
    """A paper with nothing similar yet (a stub added by id) told the reader that "papers get
    vectors with `paperscope embed`", a command of the server's CLI: the server embeds papers
    itself (`serve`'s embedding worker), and a reader of the page runs no command."""
    from paperscope.serve.library_io import import_library
    from paperscope.store.accounts import Accounts
    from paperscope.store.sqlite import SQLiteStore

    with SQLiteStore(store_copy) as store:
        import_library(store, Accounts(store).local_user().id, b"2501.99999", filename="ids.txt")
    with client_for(store_copy) as client:
        html = main_of(client.get("/paper/2501.99999").text)
    similar = html.split('id="similar-title"', 1)[1].split("</section>", 1)[0]
    assert "No similar papers yet" in similar
    assert "paperscope" not in similar and "<code>" not in similar


def test_alerts_name_a_followed_paper_by_its_title_and_link_an_authors_page(store_copy):
    """The table of follows showed a followed paper by its id ("2611.00001") and linked an
    author to a search for the name, though the author has a page."""
    with client_for(store_copy) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/alerts").text)
        for kind, value in [("paper", XSS_ID), ("author", "Juhua Hu")]:
            data = {"kind": kind, "value": value, "csrf_token": token.group(1)}
            assert client.post("/alerts", data=data).status_code == 200
        html = client.get("/alerts").text
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    assert f'<a href="/paper/{XSS_ID}">{XSS_TITLE_HTML}</a>' in table
    assert f'aria-label="Unfollow {XSS_TITLE_HTML}"' in table
    assert '<a href="/author/juhua-hu">Juhua Hu</a>' in table
    assert_no_raw_markup(html)


def test_the_alerts_status_line_shows_only_words_this_site_wrote(store_copy):
    """/alerts?done=added&what=… put any words of a link after "Now following", so a link
    made elsewhere could make the page say what its author liked. The redirect after a
    follow signs its words; words without that signature are not shown."""
    with client_for(store_copy) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/alerts").text)
        data = {"kind": "author", "value": "Juhua Hu", "csrf_token": token.group(1)}
        followed = client.post("/alerts", data=data, follow_redirects=False)
        assert followed.status_code == 303 and "sig=" in followed.headers["location"]
        shown = client.get(followed.headers["location"]).text
        assert "Now following the author Juhua Hu." in shown
        crafted = "/alerts?done=added&what=the+offer+at+evil.example+-+call+now"
        page = client.get(crafted).text
        assert "evil.example" not in page and "Now following it." in page
        forged = client.get(crafted + "&sig=" + "0" * 64).text
        assert "evil.example" not in forged
        follow_id = re.search(r'action="/alerts/(\d+)/delete"', shown).group(1)
        removed = client.post(
            f"/alerts/{follow_id}/delete",
            data={"csrf_token": token.group(1)},
            follow_redirects=False,
        )
        gone = client.get(removed.headers["location"]).text
        assert "No longer following the author Juhua Hu." in gone
