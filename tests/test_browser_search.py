"""The search page in a real browser (chromium via playwright), as the reader of issue 15 saw
it: the count stays put while paging, a facet click gives the count it showed, nonsense says
"No papers match", a pasted arXiv URL opens the paper, and filters work with an empty box."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from webtools import live_server, new_page

NONSENSE = "zzqqxxnonexistentword"
ARXIV_ID = "2602.18940"


@pytest.fixture(scope="module")
def base_url(sample_store):
    with live_server(sample_store) as url:
        yield url


def count_line(page) -> str:
    return page.locator("main p.count").inner_text()


def shown_total(page) -> int:
    match = re.match(r"(\d+) results?", count_line(page))
    assert match, count_line(page)
    return int(match.group(1))


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "semantic"])
def test_the_count_stays_put_while_paging(page, base_url, mode):
    page.goto(f"{base_url}/search?q=learning&mode={mode}&size=5")
    total = shown_total(page)
    assert total > 15
    assert page.locator("main ol.papers > li").count() == 5
    for number in (2, 3):
        page.locator("nav[aria-label='Result pages']").get_by_role(
            "link", name=str(number), exact=True
        ).click()
        page.wait_for_url(f"**page={number}*")
        assert shown_total(page) == total
    last = -(-total // 5)
    page.goto(f"{base_url}/search?q=learning&mode={mode}&size=5&page={last}")
    assert page.locator("main ol.papers > li").count() == total - (last - 1) * 5
    page.goto(f"{base_url}/search?q=learning&mode={mode}&size=5&page=999")
    assert shown_total(page) == total
    notice = page.locator("#past-end").inner_text()
    assert f"No results on page 999: the {total} results end on page {last}" in notice
    page.locator("#past-end a").click()
    expect(page.locator("#past-end")).to_have_count(0)  # counted at once: page 999's none
    assert page.locator("main ol.papers > li").count() == total - (last - 1) * 5


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_facet_clicks_give_the_counts_shown(page, base_url, mode):
    page.goto(f"{base_url}/search?q=learning&mode={mode}&size=100")
    for heading in ("Years", "Categories"):
        items = page.locator("aside.facets h2", has_text=heading).locator(
            "xpath=following-sibling::ul[1]/li[a and span]"
        )
        first = items.first
        label = first.locator("a").inner_text()
        shown = int(first.locator("span").inner_text())
        first.locator("a").click()
        page.wait_for_load_state()
        assert shown_total(page) == shown, (heading, label)
        assert page.locator("main ol.papers > li").count() == shown
        page.go_back()


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_nonsense_says_no_papers_match(page, base_url, mode):
    page.goto(f"{base_url}/search")
    page.get_by_label("Query", exact=True).fill(NONSENSE)
    page.get_by_label("Mode", exact=True).select_option(mode)
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url("**/search?q=*")
    assert count_line(page).startswith("No papers match")
    assert page.locator("#no-match").is_visible()
    # at most a few nearest papers, under a heading that says they are only related
    related = page.locator("section.related ol.papers > li")
    assert 0 < related.count() <= 5
    assert page.get_by_role("heading", name="Related").is_visible()
    assert "results" not in count_line(page)


def test_a_pasted_arxiv_url_opens_the_paper(page, base_url):
    page.goto(f"{base_url}/search")
    page.get_by_label("Query", exact=True).fill(f"https://arxiv.org/abs/{ARXIV_ID}v1")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url(f"**/paper/{ARXIV_ID}")
    assert page.locator("h1").inner_text()
    page.goto(f"{base_url}/search?q={ARXIV_ID}")
    assert page.url.endswith(f"/paper/{ARXIV_ID}")


def test_filters_with_an_empty_box_list_the_papers(page, base_url):
    page.goto(f"{base_url}/search")
    page.get_by_label("Category", exact=True).fill("cs.CV")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url("**/search?*cat=cs.CV*")
    assert "q=" not in page.url  # the empty box stays out of the address
    total = shown_total(page)
    assert total > 0
    cats = page.locator("main ol.papers > li .cats")
    assert cats.count() == min(total, 20)
    for i in range(cats.count()):
        assert "cs.CV" in cats.nth(i).inner_text()


def test_on_a_phone_the_first_result_is_on_the_first_screen(browser, base_url):
    """At 390 px the header's search box sat above the page's own form, which stacked its five
    options one a row: the first result began 770 px down, under a second copy of the query.
    The header box gives way to the page's form, and the options go two a row."""
    with new_page(browser, width=390, height=844) as phone:
        phone.goto(f"{base_url}/search?q=hyperspherical+energy")
        assert not phone.locator("header .quick-search").is_visible()
        top = {
            name: phone.locator(f"#s-{name}").bounding_box()["y"]
            for name in ("mode", "sort", "cat", "from", "until")
        }
        assert top["mode"] == top["sort"] and top["cat"] == top["from"] < top["until"]
        # the first result's title, and the first line of why it matched, without scrolling
        first = phone.locator("main ol.papers > li").first
        line = first.locator("p.snippet").bounding_box()
        assert line["y"] + 24 < 844, line
        phone.goto(f"{base_url}/")  # other pages keep the header's box
        assert phone.locator("header .quick-search").is_visible()
    with new_page(browser, width=1280, height=900) as desk:
        desk.goto(f"{base_url}/search?q=hyperspherical+energy")
        assert desk.locator("header .quick-search").is_visible()
