"""The personal flows in a real browser (Debian chromium via playwright), multi-user mode:
sign up, log out and in, save a paper to a tag, rate, and see recommendations change."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import expect

from paperscope.rank.search import SearchEngine
from webtools import ACTION_TIMEOUT_MS, live_server

PASSWORD = "a long enough password"


def rec_ids(page, base: str) -> list[str]:
    page.goto(f"{base}/recommendations")
    links = page.locator("ol.recommendations .title a")
    return [
        href.removeprefix("/paper/")
        for href in links.evaluate_all("l => l.map(a => a.getAttribute('href'))")
    ]


def import_to_tag(page, base: str, ident: str, tag: str) -> None:
    page.goto(f"{base}/library/import")
    page.fill("textarea[name=ids]", ident)
    page.fill("input[name=tag]", tag)
    page.click("form.import-form button[type=submit]")
    # the answer is a page at the same URL: wait for its text rather than read the page at
    # once, which may still be the form
    expect(page.locator("main")).to_contain_text("Imported 1 paper", timeout=ACTION_TIMEOUT_MS)


def thumbs_up(page, base: str, ident: str) -> None:
    page.goto(f"{base}/library")
    row = page.locator(
        "ol.library-papers > li", has=page.locator(f'a[href="/paper/{quote(ident, safe="")}"]')
    )
    row.locator("button.thumb-up").click()
    # the form redirects back to /library: the URL does not change and the old page counts as
    # loaded, so wait for the new page's button state (the locator is looked up again each try)
    expect(row.locator("button.thumb-up")).to_have_attribute(
        "aria-pressed", "true", timeout=ACTION_TIMEOUT_MS
    )


def test_sign_up_log_in_save_rate_and_recommendations_change(page, store_copy):
    with SearchEngine.open(store_copy) as engine:
        papers = [p for _, p in engine.store.iter_papers() if p.arxiv_id and p.id == p.arxiv_id]
        first = papers[0]
        # papers from nearest to farthest from the first one
        ids = {p.id for p in papers}
        order = [h.paper.id for h in engine.similar(first.id, limit=200) if h.paper.id in ids]
    with live_server(store_copy, single_user=False) as base:
        # sign up
        page.goto(f"{base}/signup")
        page.fill("input[name=email]", "ada@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")  # signed up: a new page now would cancel the form
        page.goto(f"{base}/account")
        assert page.locator("text=ada@example.org").first.is_visible()
        # log out, then log in through the redirect from a personal page
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{base}/")  # logged out before the next page is asked for
        page.goto(f"{base}/library")
        assert "/login?next=%2Flibrary" in page.url
        page.fill("input[name=email]", "ada@example.org")
        page.fill("input[name=password]", "wrong password")
        page.click("form.stacked button[type=submit]")
        assert page.locator("[role=alert]").inner_text().startswith("wrong email or password")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/library")
        # save a paper to a tag, then rate it
        import_to_tag(page, base, first.id, "reading")
        page.goto(f"{base}/library")
        page.click("a.tag:has-text('reading')")
        page.wait_for_url(f"{base}/library?tag=*")
        assert page.locator("ol.library-papers > li").count() == 1
        thumbs_up(page, base, first.id)
        before = rec_ids(page, base)
        assert before and first.id not in before
        # a thumbs-up on a different topic: the farthest paper not recommended yet
        other = next(i for i in reversed(order) if i not in before and i != first.id)
        import_to_tag(page, base, other, "other topic")
        thumbs_up(page, base, other)
        after = rec_ids(page, base)
        assert after and other not in after and first.id not in after
        assert set(after) != set(before)
        assert set(after) - set(before)  # new papers, not only a reshuffle
        # per-tag recommendations page
        page.goto(f"{base}/recommendations?tag=reading")
        assert page.locator("h1").inner_text().endswith("reading")
