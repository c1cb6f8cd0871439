"""Accounts over HTTP: sign-up, sessions, CSRF, throttling, API tokens, password reset by email
(real aiosmtpd server), single-user mode, export and deletion of one's data."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

import pytest

from mailtools import smtp_server
from paperscope.serve.web.auth import safe_next
from paperscope.store.accounts import LOCAL_EMAIL, Accounts
from paperscope.store.backends import open_store
from paperscope.store.library import Library
from webtools import client_for

PASSWORD = "correct horse battery"


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def csrf(client) -> str:
    """A CSRF token for this client's browser (a page with forms sets the cookie)."""
    return token_of(client.get("/login" if "ps_session" not in client.cookies else "/account").text)


def signup(client, email: str, password: str = PASSWORD):
    token = token_of(client.get("/signup").text)
    return client.post(
        "/signup",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def login(client, email: str, password: str = PASSWORD):
    token = token_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/library"},
        follow_redirects=False,
    )


@pytest.fixture
def multi(store_any):
    with client_for(store_any, single_user=False) as client:
        yield client


def test_signup_sets_a_hardened_session_cookie_and_logs_in(multi):
    response = signup(multi, "ada@example.org")
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("ps_session="))
    assert "HttpOnly" in session and "samesite=lax" in session.lower()
    assert "Max-Age=" in session and "Secure" not in session
    page = multi.get("/account")
    assert page.status_code == 200 and "ada@example.org" in page.text


def test_secure_cookie_behind_https(store_any):
    with client_for(store_any, single_user=False, https=True) as client:
        cookies = signup(client, "ada@example.org").headers.get_list("set-cookie")
    assert all("Secure" in c for c in cookies)


def test_signup_refuses_bad_input_and_duplicates(multi):
    assert signup(multi, "not-an-email").status_code == 400
    assert signup(multi, "bob@example.org", "short").status_code == 400
    assert signup(multi, "bob@example.org").status_code == 303
    multi.cookies.clear()
    again = signup(multi, "BOB@example.org")
    assert again.status_code == 400 and "already exists" in again.text


@pytest.mark.parametrize(
    "address",
    ["ada@example.org<x>", "ada@example.org>", "Ada <ada@example.org>", "ada@example.org,bob"],
)
def test_signup_refuses_an_address_a_mail_header_reads_as_another(multi, address):
    # "ada@example.org<x>" was an account whose password-reset mail went to ada@example.org
    refused = signup(multi, address)
    assert refused.status_code == 400 and "not an email address" in refused.text
    assert signup(multi, "o'brien+tag@example.org").status_code == 303


def test_signup_can_be_closed(store_any, monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_SIGNUP", "0")
    with client_for(store_any, single_user=False) as client:
        assert client.get("/signup").status_code == 403
        token = token_of(client.get("/login").text)
        response = client.post(
            "/signup", data={"email": "x@example.org", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 403
        assert "Sign up" not in client.get("/login").text


def test_login_logout_and_the_old_cookie_is_dead(multi):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    assert login(multi, "ada@example.org", "wrong password").status_code == 401
    response = login(multi, "ada@example.org")
    assert response.status_code == 303 and response.headers["location"] == "/library"
    old_session = multi.cookies["ps_session"]
    token = token_of(multi.get("/account").text)
    assert (
        multi.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )
    assert multi.get("/account", follow_redirects=False).status_code == 303
    # replaying the cookie captured before logging out does not bring the session back
    multi.cookies.set("ps_session", old_session)
    response = multi.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Faccount"


def test_a_forged_session_cookie_is_ignored(multi):
    multi.cookies.set("ps_session", "1.forged.signature")
    assert multi.get("/account", follow_redirects=False).status_code == 303


def test_login_throttling_answers_429_with_retry_after(multi):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    for _ in range(5):
        assert login(multi, "ada@example.org", "wrong password").status_code == 401
    blocked = login(multi, "ada@example.org")  # even the right password waits now
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "too many failed logins" in blocked.text


def test_login_redirects_only_to_local_paths(multi):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    token = token_of(multi.get("/login").text)
    response = multi.post(
        "/login",
        data={
            "email": "ada@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/library?tag=3", "/library?tag=3"),
        ("https://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
    ],
)
def test_safe_next(value, expected):
    assert safe_next(value) == expected


#: The tables an account's posts can change: a refused post must leave every row as it was.
ACCOUNT_TABLES = (
    "users",
    "sessions",
    "api_tokens",
    "password_resets",
    "login_failures",
    "follows",
    "user_papers",
    "tags",
    "paper_tags",
    "upvotes",
    "digests",
)


def account_state(db) -> dict[str, list[tuple]]:
    with open_store(db) as store:
        return {
            table: sorted(map(tuple, store.conn.execute(f"SELECT * FROM {table}")))
            for table in ACCOUNT_TABLES
        }


def test_state_changing_post_without_csrf_token_is_refused(multi, store_any):
    signup(multi, "ada@example.org")
    multi.post(  # a profile to compare against: weekly digests, a display name
        "/account/profile",
        data={"digest": "weekly", "display_name": "Ada", "csrf_token": csrf(multi)},
    )
    before = account_state(store_any)
    assert before["users"] and before["sessions"]
    for path, data in [
        ("/account/profile", {"digest": "off", "display_name": "Mallory"}),
        ("/account/tokens", {"name": "x"}),
        ("/logout", {}),
        ("/account/delete", {"confirm": "ada@example.org"}),
    ]:
        response = multi.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, path
        assert "CSRF" in response.text
        bad = multi.post(path, data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
        assert bad.status_code == 403, path
    # nothing changed: every row of every account table is as it was
    assert account_state(store_any) == before
    # and the page still shows the account as saved (without SMTP the digest menu is hidden,
    # so the saved display name stands for the profile)
    page = multi.get("/account").text
    assert "ada@example.org" in page and 'value="Ada"' in page


def test_login_signup_and_reset_refuse_posts_without_csrf_and_change_nothing(
    multi, store_any, monkeypatch
):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    before = account_state(store_any)
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        monkeypatch.setenv("PAPERSCOPE_MAIL_FROM", "paperscope@example.net")
        multi.get("/login")  # a browser that has the CSRF cookie, posting without the token
        for path, data in [
            ("/login", {"email": "ada@example.org", "password": PASSWORD}),
            ("/signup", {"email": "eve@example.org", "password": PASSWORD}),
            ("/reset", {"email": "ada@example.org"}),
        ]:
            for token in ({}, {"csrf_token": "0" * 64}):
                response = multi.post(path, data={**data, **token}, follow_redirects=False)
                assert response.status_code == 403, (path, token)
                assert "CSRF" in response.text
                assert not [
                    c for c in response.headers.get_list("set-cookie") if "ps_session=" in c
                ]
        assert server.messages == []  # no reset email
    assert account_state(store_any) == before  # no session, user, reset token or failure
    assert multi.get("/account", follow_redirects=False).status_code == 303  # not logged in


def test_csrf_token_of_another_browser_does_not_work(multi, store_any):
    signup(multi, "ada@example.org")
    with client_for(store_any, single_user=False) as other:
        foreign = token_of(other.get("/login").text)
    response = multi.post("/account/profile", data={"digest": "off", "csrf_token": foreign})
    assert response.status_code == 403


def test_csrf_header_works_for_scripts_using_the_cookie(multi):
    signup(multi, "ada@example.org")
    token = token_of(multi.get("/account").text)
    response = multi.post(
        "/account/profile",
        data={"digest": "weekly", "display_name": "Ada"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    # the form's change took (the digest menu shows only when mail is configured)
    assert 'name="display_name" maxlength="100" value="Ada"' in multi.get("/account").text


def test_api_token_shown_once_used_without_csrf_and_revocable(multi, store_any):
    signup(multi, "ada@example.org")
    token = token_of(multi.get("/account").text)
    page = multi.post("/account/tokens", data={"name": "script", "csrf_token": token})
    api_token = re.search(r"ps_[\w-]{20,}", page.text).group(0)
    assert page.headers["Cache-Control"] == "no-store"
    assert api_token not in multi.get("/account").text  # shown once
    with open_store(store_any) as store:  # kept hashed only
        rows = store.conn.execute("SELECT token_hash FROM api_tokens").fetchall()
        assert rows and all(api_token not in r[0] for r in rows)
    with client_for(store_any, single_user=False) as script:  # no cookies at all
        auth = {"Authorization": f"Bearer {api_token}"}
        export = script.get("/api/v1/me/export", headers=auth)
        assert export.status_code == 200 and export.json()["account"]["email"] == "ada@example.org"
        with open_store(store_any) as store:
            paper_id = store.get(str(next(iter(store.iter_papers()))[1].id)).id
        saved = script.post(f"/api/v1/library/papers/{paper_id}", json={"tag": "x"}, headers=auth)
        assert saved.status_code == 200 and saved.json()["saved"]
        assert (
            script.get("/api/v1/me/export", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
    token_id = re.search(r"/account/tokens/(\d+)/revoke", multi.get("/account").text).group(1)
    token = token_of(multi.get("/account").text)
    multi.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    with client_for(store_any, single_user=False) as script:
        assert script.get("/api/v1/me/export", headers=auth).status_code == 401


def test_token_table_names_its_columns_and_which_token_each_revoke_revokes(multi):
    """The tokens' table had an empty header over its buttons (axe: empty-table-header), and
    every button read "Revoke" alone: a screen reader's list of buttons could not tell them
    apart."""
    signup(multi, "ada@example.org")
    for name in ("<b>ci</b>", ""):
        multi.post("/account/tokens", data={"name": name, "csrf_token": csrf(multi)})
    html = multi.get("/account").text
    table = html.split('id="tokens-title"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<th>(.*?)</th>", table) == [
        "Name",
        "Created",
        "Last used",
        '<span class="visually-hidden">Action</span>',
    ]
    labels = re.findall(r'aria-label="([^"]+)">Revoke<', table)
    today = re.search(r"<td[^>]*>(\d{4}-\d\d-\d\d)</td>", table).group(1)
    assert sorted(labels) == [
        "Revoke the token without a name of " + today,
        "Revoke token &lt;b&gt;ci&lt;/b&gt;",
    ]


def test_anonymous_visitors_read_pages_but_personal_ones_need_login(multi):
    assert multi.get("/submissions").status_code == 200
    response = multi.get("/library?tag=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Flibrary%3Ftag%3D2"
    api = multi.get("/api/v1/library")
    assert api.status_code == 401 and api.json()["error"]["status"] == 401


def test_password_reset_by_emailed_one_time_token(multi, monkeypatch):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        monkeypatch.setenv("PAPERSCOPE_MAIL_FROM", "paperscope@example.net")
        token = token_of(multi.get("/reset").text)
        nobody = multi.post("/reset", data={"email": "nobody@example.org", "csrf_token": token})
        asked = multi.post("/reset", data={"email": "ada@example.org", "csrf_token": token})
    # the same answer whether or not the account exists; one email, to ada only
    assert nobody.status_code == asked.status_code == 200
    assert "If an account" in asked.text and "If an account" in nobody.text
    assert len(server.messages) == 1
    mail = server.messages[0]
    assert mail["To"] == "ada@example.org"
    link = re.search(r"http://127\.0\.0\.1/reset/\S+", mail.get_content()).group(0)
    path = link.removeprefix("http://127.0.0.1")
    form = multi.get(path)
    assert form.status_code == 200
    done = multi.post(
        path,
        data={"password": "a brand new secret", "csrf_token": token_of(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    multi.cookies.clear()
    assert login(multi, "ada@example.org").status_code == 401
    assert login(multi, "ada@example.org", "a brand new secret").status_code == 303
    # the token works once
    again = multi.post(path, data={"password": "yet another one", "csrf_token": csrf(multi)})
    assert again.status_code == 400 and "invalid, used or expired" in again.text


def test_a_reset_with_the_mail_server_down_answers_as_for_an_unknown_address(multi, monkeypatch):
    """With the SMTP server down, a reset for an existing account answered 502 naming the mail
    server: a visitor learnt which addresses have accounts (docs: the page answers the same)."""
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    with socket.socket() as closed:  # a port nothing listens on: the server is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PAPERSCOPE_SMTP_URL", f"smtp://127.0.0.1:{port}")
    pages = []
    for address in ("ada@example.org", "nobody@example.org"):
        asked = multi.post("/reset", data={"email": address, "csrf_token": csrf(multi)})
        pages.append((asked.status_code, asked.text.replace(address, "ADDRESS")))
    assert pages[0] == pages[1] and pages[0][0] == 200
    assert "If an account" in pages[0][1] and str(port) not in pages[0][1]


def test_single_user_mode_needs_no_login(store_any):
    with client_for(store_any) as client:
        assert client.get("/login", follow_redirects=False).status_code == 303
        page = client.get("/account")
        assert page.status_code == 200 and LOCAL_EMAIL in page.text
        assert client.get("/library").status_code == 200
        # still CSRF-protected: another site could post to localhost
        assert client.post("/account/profile", data={"digest": "off"}).status_code == 403
    with open_store(store_any) as store:
        local = Accounts(store).by_email(LOCAL_EMAIL)
        assert local.is_admin


def test_export_then_delete_account_and_all_its_data(multi, store_any):
    signup(multi, "ada@example.org")
    with open_store(store_any) as store:
        user = Accounts(store).by_email("ada@example.org")
        rowid = next(iter(store.iter_papers()))[0]
        library = Library(store)
        library.save(user.id, rowid, "reading")
        library.set_note(user.id, rowid, "my note")
        library.upvote(user.id, rowid)
    export = multi.get("/account/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    data = export.json()
    assert data["account"]["email"] == "ada@example.org"
    assert data["library"][0]["note"] == "my note" and data["library"][0]["tags"] == ["reading"]
    assert len(data["upvotes"]) == 1
    assert {"follows", "submissions", "tags"} <= set(data)
    wrong = multi.post(
        "/account/delete", data={"confirm": "someone@else.org", "csrf_token": csrf(multi)}
    )
    assert wrong.status_code == 400
    gone = multi.post(
        "/account/delete",
        data={"confirm": "ada@example.org", "csrf_token": csrf(multi)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    with open_store(store_any) as store:
        assert Accounts(store).find("ada@example.org") is None
        for table in ("user_papers", "tags", "upvotes", "sessions"):
            assert store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    assert multi.get("/account", follow_redirects=False).status_code == 303


def test_disabled_account_loses_its_session(multi, store_any):
    signup(multi, "ada@example.org")
    with open_store(store_any) as store:
        accounts = Accounts(store)
        accounts.set_disabled(accounts.by_email("ada@example.org").id)
    assert multi.get("/account", follow_redirects=False).status_code == 303
    assert login(multi, "ada@example.org").status_code == 401


def _expire(db, table: str) -> None:
    """Move every expiry of `table` one second into the past, as time passing would."""
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    with open_store(db) as store:
        store.conn.execute(f"UPDATE {table} SET expires_at = ?", (past.replace("+00:00", "Z"),))


def test_an_expired_session_no_longer_logs_in(multi, store_any):
    signup(multi, "ada@example.org")
    assert multi.get("/account", follow_redirects=False).status_code == 200
    _expire(store_any, "sessions")
    response = multi.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert multi.get("/api/v1/library").status_code == 401


def test_an_expired_reset_token_is_refused_and_changes_nothing(multi, store_any):
    signup(multi, "ada@example.org")
    multi.cookies.clear()
    with open_store(store_any) as store:
        _, token = Accounts(store).create_reset("ada@example.org")
    live = multi.get(f"/reset/{token}")
    assert live.status_code == 200 and 'name="password"' in live.text
    _expire(store_any, "password_resets")
    form = multi.get(f"/reset/{token}")
    assert form.status_code == 400 and "invalid, already used or expired" in form.text
    assert 'name="password"' not in form.text
    refused = multi.post(
        f"/reset/{token}", data={"password": "a brand new secret", "csrf_token": csrf(multi)}
    )
    assert refused.status_code == 400 and "invalid, used or expired" in refused.text
    assert login(multi, "ada@example.org", "a brand new secret").status_code == 401
    assert login(multi, "ada@example.org").status_code == 303  # the old password still works
