"""The digest's unsubscribe link (RFC 8058 one-click, no login, the signed token is the
authority) and the /alerts page, over HTTP and in a real browser."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from digesttools import FIRST, add_papers
from mailtools import smtp_server
from paperscope.rank.search import SearchEngine
from paperscope.serve.email import digest
from paperscope.serve.email.config import parse_smtp_url
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import Alerts
from paperscope.store.backends import open_store
from webtools import client_for, live_server, new_page

BASE = "http://127.0.0.1"  # the TestClient's own origin, so links can be followed as they are
PASSWORD = "correct horse battery"


@pytest.fixture
def db(store_any):
    add_papers(store_any, FIRST)
    return store_any


def send_digest(db, email="ada@example.org"):
    """Add the user (with a follow), send their digest through aiosmtpd; the received message."""
    with SearchEngine.open(db) as engine:
        user = Accounts(engine.store).add(email, PASSWORD)
        Alerts(engine.store).follow(user.id, "author", "Grace Hopper")
        with smtp_server() as server:
            config = parse_smtp_url(server.url, "digest@example.org")
            [report] = digest.run(engine, config=config, base=BASE, users=[user])
    assert report.status == "sent" and len(server.messages) == 1
    return server.messages[0]


def unsubscribe_link(msg) -> str:
    header = re.fullmatch(r"<([^>]+)>", msg["List-Unsubscribe"]).group(1)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert f'href="{header}"' in html and header in text  # the same link in both parts
    return header


def digest_of(db, email="ada@example.org") -> str:
    with open_store(db) as store:
        return Accounts(store).by_email(email).digest


def test_the_link_shows_a_confirmation_and_a_one_click_post_unsubscribes(db):
    link = unsubscribe_link(send_digest(db))
    path = urlsplit(link).path
    with client_for(db, single_user=False) as client:
        page = client.get(link)
        assert page.status_code == 200
        assert "ada@example.org" in page.text and 'method="post"' in page.text
        assert f'action="{path}"' in page.text
        assert digest_of(db) == "daily"  # looking is not unsubscribing (link scanners GET)
        # what a mail client sends for RFC 8058 one-click: no cookie, no CSRF token
        client.cookies.clear()
        done = client.post(link, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "is unsubscribed" in done.text
        assert "ps_session" not in client.cookies
        assert digest_of(db) == "off"
        assert client.post(link).status_code == 200  # again: still fine, still off
    assert digest_of(db) == "off"
    with SearchEngine.open(db) as engine, smtp_server() as server:
        config = parse_smtp_url(server.url)
        assert [r.status for r in digest.run(engine, config=config, base=BASE)] == ["off"]
    assert server.messages == []


def test_tampered_and_foreign_tokens_are_refused(db, tmp_path):
    link = unsubscribe_link(send_digest(db))
    token = link.rsplit("/", 1)[1]
    # a character inside the signature: the last one may only carry base64's padding bits,
    # which decode to the same bytes whatever they are (a flaky "tampered" token)
    cut = len(token) - 5
    flipped = token[:cut] + ("A" if token[cut] != "A" else "B") + token[cut + 1 :]
    forged = [
        flipped,
        token.split(".")[0] + ".x",
        "not-a-token",
        # a correctly signed token for another user id than the one it names by email
        token.replace(token.split(".")[0], token.split(".")[0][::-1]),
    ]
    with client_for(db, single_user=False) as client:
        for bad in forged:
            assert client.get(f"/unsubscribe/{bad}").status_code == 400
            response = client.post(f"/unsubscribe/{bad}")
            assert response.status_code == 400 and "not valid" in response.text
    assert digest_of(db) == "daily"


def test_a_token_outlives_nothing_it_should_not(db):
    """A deleted account's token does not unsubscribe a new account that got its id."""
    link = unsubscribe_link(send_digest(db))
    with open_store(db) as store:
        accounts = Accounts(store)
        old = accounts.by_email("ada@example.org")
        accounts.delete(old.id)
        new = accounts.add("eve@example.org")
    with client_for(db, single_user=False) as client:
        assert client.post(link).status_code == 400
    with open_store(db) as store:
        assert Accounts(store).get(new.id).digest == "daily"


def test_unsubscribe_in_a_browser_while_logged_out(db, browser):
    link = unsubscribe_link(send_digest(db))
    with live_server(db, single_user=False) as base, new_page(browser) as page:
        page.goto(base + urlsplit(link).path)
        assert "ada@example.org" in page.text_content("main")
        page.get_by_role("button", name="Unsubscribe").click()
        page.wait_for_selector("#unsubscribed")
        assert "is unsubscribed" in page.text_content("#unsubscribed")
        assert not [c for c in page.context.cookies() if c["name"] == "ps_session"]
    assert digest_of(db) == "off"


# --- /alerts ----------------------------------------------------------------------------


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def logged_in(client, email: str):
    with open_store(client.app.state.settings.db_path) as store:
        if Accounts(store).find(email) is None:
            Accounts(store).add(email, PASSWORD)
    token = token_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def test_alerts_page_needs_a_login(db):
    with client_for(db, single_user=False) as client:
        response = client.get("/alerts", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Falerts"
        token = token_of(client.get("/login").text)
        post = client.post(
            "/alerts",
            data={"kind": "author", "value": "X Y", "csrf_token": token},
            follow_redirects=False,
        )
        assert post.status_code == 303 and post.headers["location"].startswith("/login")


def test_follow_and_unfollow_on_the_alerts_page(db):
    with client_for(db, single_user=False) as client:
        logged_in(client, "ada@example.org")
        page = client.get("/alerts")
        assert page.status_code == 200 and "You follow nothing yet" in page.text
        token = token_of(page.text)
        # no CSRF token: refused, nothing changes
        refused = client.post("/alerts", data={"kind": "author", "value": "Grace Hopper"})
        assert refused.status_code == 403
        added = client.post(
            "/alerts",
            data={"kind": "author", "value": "Grace Hopper", "csrf_token": token},
            follow_redirects=False,
        )
        assert added.status_code == 303
        client.post("/alerts", data={"kind": "query", "value": "ti:cats", "csrf_token": token})
        bad = client.post("/alerts", data={"kind": "query", "value": "ti:(", "csrf_token": token})
        assert bad.status_code == 400
        # an empty field (a browser without `required`): the page says what is missing
        empty = client.post("/alerts", data={"kind": "author", "value": "", "csrf_token": token})
        assert empty.status_code == 400 and "an empty author cannot be followed" in empty.text
        assert "Field required" not in empty.text
        page = client.get("/alerts")
        assert "Grace Hopper" in page.text and "ti:cats" in page.text
        with open_store(db) as store:
            ada = Accounts(store).by_email("ada@example.org")
            follows = Alerts(store).follows(ada.id)
        assert {f.value for f in follows} == {"Grace Hopper", "ti:cats"}
        # the digest setting
        client.post("/alerts/digest", data={"digest": "weekly", "csrf_token": token})
        assert digest_of(db) == "weekly"
        # another user cannot remove ada's follows
        client.cookies.clear()
        logged_in(client, "mallory@example.org")
        token = token_of(client.get("/alerts").text)
        response = client.post(f"/alerts/{follows[0].id}/delete", data={"csrf_token": token})
        assert response.status_code == 404
        assert "Grace Hopper" not in client.get("/alerts").text
        # ada can
        client.cookies.clear()
        logged_in(client, "ada@example.org")
        token = token_of(client.get("/alerts").text)
        client.post(f"/alerts/{follows[0].id}/delete", data={"csrf_token": token})
    with open_store(db) as store:
        assert [f.value for f in Alerts(store).follows(ada.id)] == [follows[1].value]


def test_manage_alerts_in_a_browser(db, browser):
    """Single-user mode (the default of `serve`): the local user follows and unfollows."""
    with live_server(db) as base, new_page(browser, width=390) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/alerts")
        page.get_by_label("Kind").select_option("author")
        page.get_by_label("Name, search, category or paper id").fill("Grace Hopper")
        page.get_by_role("button", name="Follow", exact=True).click()
        page.wait_for_selector("text=Now following the author Grace Hopper")
        assert "Grace Hopper" in page.text_content("table")
        page.get_by_label("Kind").select_option("query")
        page.get_by_label("Name, search, category or paper id").fill("ti:compilers")
        page.get_by_role("button", name="Follow", exact=True).click()
        page.get_by_role("link", name="ti:compilers").wait_for()
        # single-user mode: local@localhost gets no mail, so no digest setting is offered
        assert page.get_by_label("Send me a digest").count() == 0
        page.get_by_role("button", name="Unfollow Grace Hopper").click()
        page.wait_for_selector("text=No longer following the author Grace Hopper")
        assert "Grace Hopper" not in page.text_content("table")
        assert errors == []
    with open_store(db) as store:
        local = Accounts(store).local_user()
        assert [f.value for f in Alerts(store).follows(local.id)] == ["ti:compilers"]
