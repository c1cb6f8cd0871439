"""The pages in a real browser (Debian's chromium via playwright): the reader's main path at
desktop and phone width, the hostile papers as text, and nothing fetched from elsewhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import XSS_AUTHOR, XSS_TITLE
from webtools import live_server, new_context, new_page


@pytest.fixture(scope="module")
def base_url(sample_store):
    with live_server(sample_store) as url:
        yield url


def record_requests(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def assert_fits(page, width: int | None) -> None:
    if width is not None:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{page.url} scrolls sideways: {scroll} px > {width} px"


def reader_flow(page, base_url: str, width: int | None = None) -> None:
    urls = record_requests(page)

    # the feed: the latest day, hostile papers shown as text
    page.goto(base_url + "/")
    assert page.locator("h1").inner_text() == "Monday, 2 November 2026"
    assert page.get_by_role("link", name=XSS_TITLE).count() == 1
    assert XSS_AUTHOR in page.locator("main").inner_text()
    assert page.locator("main img").count() == 0
    assert_fits(page, width)

    # a search through the labelled form
    page.goto(base_url + "/search")
    page.get_by_label("Query", exact=True).fill('au:"Juhua Hu" clustering')
    page.get_by_label("Mode", exact=True).select_option("lexical")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url("**/search?q=*")
    hits = page.locator("main ol.papers h3 a")
    assert hits.count() >= 5
    assert page.locator("main mark").count() > 0
    assert_fits(page, width)

    # a paper, its author, back, a similar paper
    first = hits.first.inner_text()
    hits.first.click()
    page.wait_for_url("**/paper/**")
    assert page.locator("h1").inner_text() == first
    assert page.locator("#bibtex").inner_text().startswith("@")
    assert page.get_by_role("button", name="Copy BibTeX").is_visible()  # app.js unhid it
    assert_fits(page, width)
    paper_url = page.url
    page.get_by_role("link", name="Juhua Hu", exact=True).first.click()
    page.wait_for_url("**/author/juhua-hu")
    assert page.locator("h1").inner_text() == "Juhua Hu"
    assert page.locator("meter").count() >= 1
    assert_fits(page, width)
    page.goto(paper_url)
    similar = page.locator("section[aria-labelledby=similar-title] h3 a")
    assert similar.count() >= 3
    target = similar.first.inner_text()
    similar.first.click()
    page.wait_for_url(lambda url: url != paper_url)
    assert page.locator("h1").inner_text() == target
    assert_fits(page, width)

    # paging through results
    page.goto(base_url + "/search?q=learning&mode=lexical&sort=newest")
    first_page = page.locator("main ol.papers h3 a").all_inner_texts()
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**page=2*")
    assert page.locator("nav.pager [aria-current=page]").inner_text() == "2"
    second_page = page.locator("main ol.papers h3 a").all_inner_texts()
    assert second_page and set(first_page).isdisjoint(second_page)
    assert_fits(page, width)

    # the hostile paper's own page
    page.goto(base_url + "/paper/2611.00001")
    assert page.locator("h1").inner_text() == XSS_TITLE
    assert page.locator("main img").count() == 0
    assert_fits(page, width)

    foreign = [u for u in urls if not u.startswith(base_url + "/")]
    assert not foreign, f"requests to other origins: {foreign}"


def test_reader_flow_desktop(page, base_url):
    reader_flow(page, base_url)


def test_reader_flow_phone_width(browser, base_url):
    with new_page(browser, width=390) as page:
        reader_flow(page, base_url, width=390)


def test_feed_menus_from_the_keyboard_wait_for_enter_and_keep_focus(page, base_url):
    """An arrow key on the feed's Sort menu loaded the page at once (the menus submit on
    change), with focus back at the top: a keyboard reader could not go through the options,
    and lost their place at each one."""
    page.goto(base_url + "/month/2026-11")
    page.evaluate("window.__notReloaded = true")
    sort = page.locator("#feed-sort")
    sort.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)  # time for a submit on change to load the page
    assert page.evaluate("window.__notReloaded === true")
    assert sort.input_value() == "newest"
    page.keyboard.press("Enter")
    page.wait_for_url("**/month/2026-11?sort=newest*")
    # "every category" left no "&cat=" in the address (the form's empty field)
    assert page.url == base_url + "/month/2026-11?sort=newest"
    expect(page.locator("#feed-sort")).to_be_focused()
    assert page.locator("#feed-sort").input_value() == "newest"
    # a choice made with the mouse in the open list still applies at once
    code = page.locator("#feed-cat option").nth(1).get_attribute("value")
    page.locator("#feed-cat").select_option(code)
    page.wait_for_url(f"**cat={code}*")
    assert page.locator("#feed-cat").input_value() == code


def test_copy_bibtex_says_it_copied_in_a_status_line(browser, base_url):
    """ "Copy BibTeX" became "Copied" for good, a change of the button's name that screen
    readers do not read out; a status line after it says so, each time."""
    context = new_context(browser)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    try:
        page = context.new_page()
        page.goto(base_url + "/paper/2611.00001")
        button = page.get_by_role("button", name="Copy BibTeX")
        button.press("Enter")
        status = page.locator("section[aria-labelledby=cite-title] [role=status]")
        expect(status).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()").startswith("@")
        expect(button).to_be_focused()  # its name unchanged, a second copy says it again
        button.press("Enter")
        expect(status).to_have_text("Copied.")
    finally:
        context.close()


def test_feed_controls_work_without_javascript(browser, base_url):
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + "/month/2026-02")
        page.get_by_label("Sort").select_option("newest")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**sort=newest*")
        assert page.locator("#feed-sort").input_value() == "newest"
        assert page.locator("main ol.papers li").count() == 20
    finally:
        context.close()
