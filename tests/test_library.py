"""The library: store-level behaviour, the web forms, isolation between users (tests try to
read and write another user's tags, notes and library), import/export, community submissions
fetched from a real local HTTP server standing in for the arXiv API, and recommendations."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

from conftest import FORMATS
from paperscope.serve.library_io import import_library, parse_csl_json, parse_id_list
from paperscope.store.accounts import Accounts
from paperscope.store.backends import open_store
from paperscope.store.library import Library
from test_accounts import PASSWORD, signup, token_of
from webtools import client_for

CASSETTE = FORMATS / "arxiv-api-atom" / "cassette-idlist-astro-ph-0601001-affiliations.json"
EMPTY = FORMATS / "arxiv-api-atom" / "cassette-idlist-no-results.json"


def paper_ids(db: Path, n: int = 3) -> list[tuple[int, str]]:
    with open_store(db) as store:
        return [(rowid, p.id) for rowid, p in list(store.iter_papers())[:n]]


def csrf(client) -> str:
    return token_of(client.get("/account").text)


# ---------------------------------------------------------------------- store


def test_library_store_actions(store_any):
    with open_store(store_any) as store:
        accounts, library = Accounts(store), Library(store)
        ada = accounts.add("ada@example.org", PASSWORD)
        bob = accounts.add("bob@example.org", PASSWORD)
        (r1, _), (r2, _), (r3, _) = paper_ids(store_any)
        library.save(ada.id, r1, "graphs")
        library.save(ada.id, r2, "graphs")
        library.save(ada.id, r2, "vision")
        library.save(ada.id, r3)
        library.rate(ada.id, r1, 1)
        library.mark_read(ada.id, r1)
        library.set_note(ada.id, r2, "  read section 3  ")
        state = library.state(ada.id, r2)
        assert state.saved and state.note == "read section 3"
        assert [t.name for t in state.tags] == ["graphs", "vision"]
        assert {t.name: t.papers for t in library.tags(ada.id)} == {"graphs": 2, "vision": 1}
        items, total = library.items(ada.id, limit=2)
        assert total == 3 and len(items) == 2
        rest, _ = library.items(ada.id, limit=2, offset=2)
        assert {i.rowid for i in items + rest} == {r1, r2, r3}
        graphs = library.tag_named(ada.id, "graphs")
        assert library.items(ada.id, tag_id=graphs.id)[1] == 2
        assert library.items(ada.id, unread=True)[1] == 2
        # upvotes: one per user per paper
        assert library.upvote(ada.id, r1) == 1
        assert library.upvote(ada.id, r1) == 1
        assert library.upvote(bob.id, r1) == 2
        assert library.upvote(ada.id, r1, on=False) == 1
        # unsave drops the tags, keeps the rating
        library.unsave(ada.id, r1)
        assert library.state(ada.id, r1).tags == [] and library.state(ada.id, r1).rating == 1
        with pytest.raises(Exception, match="rating"):
            library.rate(ada.id, r1, 5)
        # bob sees nothing of ada's
        assert library.tags(bob.id) == [] and library.items(bob.id)[1] == 0
        assert library.state(bob.id, r2).note == ""


# ---------------------------------------------------------------------- web forms


@pytest.fixture
def two_users(store_any):
    """Ada and Bob, each logged in in a client of their own; Ada has a tagged note."""
    with (
        client_for(store_any, single_user=False) as ada,
        client_for(store_any, single_user=False) as bob,
    ):
        assert signup(ada, "ada@example.org").status_code == 303
        assert signup(bob, "bob@example.org").status_code == 303
        (_rowid, ident), *_ = paper_ids(store_any)
        token = csrf(ada)
        ada.post("/library/save", data={"paper": ident, "tag": "secret", "csrf_token": token})
        ada.post("/library/note", data={"paper": ident, "note": "ada's note", "csrf_token": token})
        with open_store(store_any) as store:
            ada_id = Accounts(store).by_email("ada@example.org").id
            tag_id = Library(store).tag_named(ada_id, "secret").id
        yield ada, bob, ident, tag_id


def test_actions_redirect_back_to_a_safe_next(two_users):
    ada, _, ident, _ = two_users
    token = csrf(ada)
    for target, expected in [("/search?q=x", "/search?q=x"), ("https://evil.example", "/")]:
        response = ada.post(
            "/library/upvote",
            data={"paper": ident, "next": target, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == expected


def test_library_page_shows_tags_notes_and_actions(two_users):
    ada, _, _ident, tag_id = two_users
    page = ada.get(f"/library?tag={tag_id}")
    assert page.status_code == 200
    assert "ada&#39;s note" in page.text and "secret" in page.text
    assert 'action="/library/upvote"' in page.text and 'action="/library/rate"' in page.text
    assert '<link rel="stylesheet" href="/static/personal.css">' in page.text


def test_posts_without_csrf_token_are_refused(two_users):
    ada, _, ident, tag_id = two_users
    for path, data in [
        ("/library/save", {"paper": ident, "tag": "x"}),
        ("/library/rate", {"paper": ident, "rating": "1"}),
        ("/library/note", {"paper": ident, "note": "overwritten"}),
        ("/library/upvote", {"paper": ident}),
        ("/library/read", {"paper": ident}),
        (f"/library/tags/{tag_id}/delete", {}),
        ("/submit", {"paper": "2401.00001"}),
    ]:
        assert ada.post(path, data=data).status_code == 403, path
    assert ada.post(f"/api/v1/library/papers/{ident}", json={"note": "x"}).status_code == 403
    assert "ada&#39;s note" in ada.get("/library").text


def test_another_user_can_neither_read_nor_write_ada_s_library(two_users, store_any):
    ada, bob, ident, tag_id = two_users
    token = csrf(bob)
    # reading ada's tag through ids in the URL
    assert bob.get(f"/library?tag={tag_id}").status_code == 404
    assert bob.get(f"/library/export.bib?tag={tag_id}").status_code == 404
    assert bob.get(f"/library/export.json?tag={tag_id}").status_code == 404
    assert bob.get(f"/api/v1/library?tag={tag_id}").status_code == 404
    mine = bob.get("/library")
    assert "ada&#39;s note" not in mine.text and "secret" not in mine.text
    # writing to ada's tag ids
    for path, data in [
        (f"/library/tags/{tag_id}/rename", {"name": "pwned"}),
        (f"/library/tags/{tag_id}/delete", {}),
        ("/library/untag", {"paper": ident, "tag_id": str(tag_id)}),
    ]:
        assert bob.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    # bob's note on the same paper is bob's own
    bob.post("/library/note", data={"paper": ident, "note": "bob's note", "csrf_token": token})
    api = bob.get(f"/api/v1/library/papers/{ident}").json()
    assert api["note"] == "bob's note" and api["tags"] == []
    # bob's API token on ada's data sees bob's state only
    page = bob.post("/account/tokens", data={"name": "b", "csrf_token": token})
    api_token = re.search(r"ps_[\w-]{20,}", page.text).group(0)
    with client_for(store_any, single_user=False) as script:
        auth = {"Authorization": f"Bearer {api_token}"}
        listing = script.get("/api/v1/library", headers=auth).json()
        assert listing["tags"] == [] and listing["total"] == 0
        assert script.get(f"/api/v1/library?tag={tag_id}", headers=auth).status_code == 404
        state = script.get(f"/api/v1/library/papers/{ident}", headers=auth).json()
        assert state["note"] == "bob's note"
        export = script.get("/api/v1/me/export", headers=auth).json()
        assert "ada's note" not in json.dumps(export)
    # ada's library is untouched
    page = ada.get(f"/library?tag={tag_id}")
    assert page.status_code == 200 and "ada&#39;s note" in page.text and "secret" in page.text


def test_upvote_count_and_toggle_shown_in_the_snippet(two_users, store_any):
    ada, bob, ident, _ = two_users
    for client in (ada, bob, bob):  # bob twice: still one vote
        client.post("/library/upvote", data={"paper": ident, "on": "1", "csrf_token": csrf(client)})
    page = ada.get("/library").text
    assert re.search(r'class="upvote-count">2<', page)
    assert 'aria-pressed="true"' in page
    ada.post("/library/upvote", data={"paper": ident, "on": "0", "csrf_token": csrf(ada)})
    with open_store(store_any) as store:
        rowid = store.resolve(ident)
        assert Library(store).upvote_counts([rowid]) == {rowid: 1}


def test_library_paginates_without_a_cap(store_any):
    with open_store(store_any) as store:
        user = Accounts(store).local_user()
        library = Library(store)
        rowids = [rowid for rowid, _ in store.iter_papers()]
        for rowid in rowids:
            library.save(user.id, rowid)
    with client_for(store_any, page_size=20) as client:
        first = client.get("/library")
        assert f"{len(rowids)} papers" in first.text and 'rel="next"' in first.text
        last_page = -(-len(rowids) // 20)
        last = client.get(f"/library?page={last_page}")
        assert last.text.count('class="paper-actions"') == len(rowids) - 20 * (last_page - 1)


def _save_three(store_any) -> None:
    """The local reader's library: the store's first three papers."""
    with open_store(store_any) as store:
        user = Accounts(store).local_user()
        library = Library(store)
        for rowid, _ in list(store.iter_papers())[:3]:
            library.save(user.id, rowid)


def test_library_pager_and_unread_switch_keep_the_grouping(store_any):
    """Next, Previous and "Only unread" of a library grouped by topic dropped the grouping:
    page 2 came ungrouped."""
    _save_three(store_any)
    with client_for(store_any, page_size=2) as client:
        first = client.get("/library?group=method").text.replace("&amp;", "&")
        assert '<a href="/library?group=method&page=2" rel="next">' in first
        assert '<a href="/library?group=method&unread=1">Only unread</a>' in first
        second = client.get("/library?group=method&page=2").text.replace("&amp;", "&")
        assert '<a href="/library?group=method&page=1" rel="prev">' in second


def test_a_library_page_past_the_end_says_so(store_any):
    """/library?page=50 of a library of 3 said "3 papers", then "Nothing here yet. Save
    papers ...": it says where the papers end, as the feed and search pages do."""
    _save_three(store_any)
    with client_for(store_any, page_size=2) as client:
        html = client.get("/library?unread=1&page=50").text.replace("&amp;", "&")
        assert "Nothing here yet" not in html and "You have read every" not in html
        assert (
            "No papers on page 50: the 3 papers end on page 2. "
            '<a href="/library?unread=1&page=2">Go to page 2</a>'
        ) in html


# ---------------------------------------------------------------------- import / export


def test_import_bibtex_ids_and_csl_json(store_any):
    with open_store(store_any) as store:
        user = Accounts(store).local_user()
        existing = next(p for _, p in store.iter_papers() if p.arxiv_id)
        bib = sorted((FORMATS / "bibtex").glob("*.bib"))[0].read_bytes()
        result = import_library(store, user.id, bib, filename="refs.bib", tag="bib")
        assert result.format == "bibtex" and result.saved > 0
        assert result.saved == result.found + result.stubs
        ids = f"{existing.arxiv_id}\nhttps://arxiv.org/abs/2411.99999v2\n10.1234/abc.def\nnonsense"
        result = import_library(store, user.id, ids.encode(), tag="ids")
        assert (result.format, result.found, result.stubs) == ("ids", 1, 2)
        assert result.rejected == ["'nonsense': not an arXiv id or DOI"]
        stub = store.get("2411.99999")
        assert next(s[0] for s in store.paper_sources("2411.99999")) == "library"
        assert stub.title == ""
        csl = json.dumps(
            [
                {
                    "type": "article",
                    "title": "A Zotero Paper on Graphs",
                    "author": [{"family": "Lovelace", "given": "Ada"}],
                    "issued": {"date-parts": [[2024, 3, 5]]},
                    "URL": "https://arxiv.org/abs/2403.01234",
                },
                {"type": "book"},
            ]
        ).encode()
        result = import_library(store, user.id, csl, filename="zotero.json")
        assert (result.format, result.stubs, len(result.rejected)) == ("csl-json", 1, 1)
        paper = store.get("2403.01234")
        assert paper.title == "A Zotero Paper on Graphs" and paper.published == "2024-03-05"
        assert Library(store).state(user.id, store.resolve("2403.01234")).saved


def test_a_title_only_record_of_a_stored_arxiv_paper_is_saved(store_any):
    """A Zotero item without its arXiv URL matches the stored paper by title; it was reported
    "not stored" and left out of the library."""
    with open_store(store_any) as store:
        user = Accounts(store).local_user()
        stored = next(p for _, p in store.iter_papers() if p.arxiv_id and len(p.title) > 30)
        csl = json.dumps([{"type": "article", "title": stored.title}]).encode()
        result = import_library(store, user.id, csl, filename="zotero.json")
        assert result.rejected == []
        assert (result.saved, result.found, result.stubs) == (1, 1, 0)
        assert Library(store).state(user.id, store.resolve(stored.arxiv_id)).saved


def test_library_import_strips_terminal_controls_like_every_importer(store_any):
    """The library upload wrote its stubs past the importers' gate."""
    with open_store(store_any) as store:
        user = Accounts(store).local_user()
        csl = json.dumps(
            [
                {
                    "type": "article",
                    "title": "Graphs \u001b[31mred\u001b[0m and \u202eevil",
                    "author": [{"family": "Love\u001b]0;x\u0007lace", "given": "Ada"}],
                    "URL": "https://arxiv.org/abs/2403.04321",
                },
                {
                    "type": "article",
                    "title": "x" * 5_000,
                    "URL": "https://arxiv.org/abs/2403.05555",
                },
            ]
        ).encode()
        result = import_library(store, user.id, csl, filename="zotero.json")
        assert result.stubs == 1
        assert result.rejected == [
            "record 2: 2403.05555: title is 5,000 characters long (at most 2,000)"
        ]
        paper = store.get("2403.04321")
        assert paper.title == "Graphs red and evil"
        assert [a.name for a in paper.authors] == ["Ada Lovelace"]


def test_parsers_reject_clearly():
    papers, rejected = parse_id_list("hep-th/9901001, 10.1000/xyz ; garbage")
    assert [p.arxiv_id or p.doi for p in papers] == ["hep-th/9901001", "10.1000/xyz"]
    assert len(rejected) == 1
    with pytest.raises(Exception, match="not valid JSON"):
        parse_csl_json(b"[{")


def test_import_and_export_through_the_web(store_any):
    with client_for(store_any) as client:
        with open_store(store_any) as store:
            arxiv = next(p.arxiv_id for _, p in store.iter_papers() if p.arxiv_id)
        token = csrf(client)
        page = client.post(
            "/library/import",
            data={"csrf_token": token, "tag": "up"},
            files={"file": ("ids.txt", f"{arxiv}\n2412.00001\n".encode(), "text/plain")},
        )
        assert page.status_code == 200 and "Imported 2 papers" in page.text
        bib = client.get("/library/export.bib")
        assert bib.headers["content-type"].startswith("application/x-bibtex")
        assert bib.text.count("@") == 2
        records = client.get("/library/export.json").json()
        assert {r["library"]["tags"][0] for r in records} == {"up"}
        empty = client.post("/library/import", data={"csrf_token": token})
        assert empty.status_code == 400


def test_a_paperscope_export_imports_back_with_tags_notes_ratings_and_read_marks(store_any):
    """Moving to another server: the library's and the account's JSON exports were read as
    CSL-JSON, which kept only titles (arXiv ids, authors, tags, notes and ratings were lost)."""
    with open_store(store_any) as store:
        r1, r2, r3 = [r for r, p in store.iter_papers() if p.arxiv_id and len(p.title) > 20][:3]
    with client_for(store_any, single_user=False) as client:
        signup(client, "ada@example.org")
        with open_store(store_any) as store:
            ada = Accounts(store).by_email("ada@example.org").id
            library = Library(store)
            library.save(ada, r1, "graphs & <nets>")
            library.set_note(ada, r1, "read section 3")
            library.rate(ada, r1, 1)
            library.mark_read(ada, r1)
            library.save(ada, r2)
            library.rate(ada, r3, -1)  # not saved: only in the account export
        exports = {
            "library.json": client.get("/library/export.json").content,
            "export.json": client.get("/account/export.json").content,
        }
        for number, (name, data) in enumerate(exports.items()):
            client.cookies.clear()
            email = f"user{number}@example.org"
            signup(client, email)
            page = client.post(
                "/library/import",
                data={"csrf_token": csrf(client)},
                files={"file": (name, data, "application/json")},
            )
            assert page.status_code == 200 and "paperscope-json" in page.text, name
            with open_store(store_any) as store:
                user = Accounts(store).by_email(email).id
                library = Library(store)
                first = library.state(user, r1)
                assert first.saved and [t.name for t in first.tags] == ["graphs & <nets>"]
                assert (first.note, first.rating) == ("read section 3", 1) and first.read_at
                assert library.state(user, r2).saved
                assert set(library.saved_rowids(user)) == {r1, r2}
                if name == "export.json":
                    disliked = library.state(user, r3)
                    assert disliked.rating == -1 and not disliked.saved


def test_a_bad_tag_in_a_paperscope_export_skips_the_tag_not_the_rest(store_any):
    """A tag name the server refuses (hand-edited file: over 60 characters) stopped the import
    with a 400 halfway, the papers after it not saved."""
    with open_store(store_any) as store:
        user = Accounts(store).local_user().id
        (r1, p1), (r2, p2) = [(r, p) for r, p in store.iter_papers() if p.arxiv_id][:2]
        records = [
            {"title": p.title, "arxiv_id": p.arxiv_id, "library": {"tags": tags, "rating": 1}}
            for p, tags in ((p1, ["x" * 61, "ok"]), (p2, ["fine"]))
        ]
        result = import_library(store, user, json.dumps(records).encode(), filename="l.json")
        assert result.saved == 2 and result.restored == 2
        too_long = "a tag name has at most 60 characters"
        assert result.rejected == [f"tag {'x' * 61!r} not kept: {too_long}"]
        library = Library(store)
        assert [t.name for t in library.state(user, r1).tags] == ["ok"]
        assert [t.name for t in library.state(user, r2).tags] == ["fine"]
        assert library.state(user, r2).rating == 1


def test_a_zotero_csv_export_imports_its_papers(store_any):
    """A CSV file was read as a list of ids: every word of it a rejected "not an arXiv id"."""
    with open_store(store_any) as store:
        stored = next(p for _, p in store.iter_papers() if p.arxiv_id and len(p.title) > 20)
    csv_export = (
        '"Key","Item Type","Publication Year","Author","Title","DOI","Url","Extra"\n'
        f'"K1","preprint","","","{stored.title}","","",""\n'
        '"K2","journalArticle","2023","Turing, Alan; Hopper, Grace","Computable Numbers, Again",'
        '"10.1234/turing.2023","",""\n'
        '"K3","preprint","2024","","A Preprint Known by Its Link","",'
        '"https://arxiv.org/abs/2403.07777v2",""\n'
        '"K4","note","","","","","",""\n'
    )
    with client_for(store_any) as client:
        page = client.post(
            "/library/import",
            data={"csrf_token": csrf(client), "tag": "zotero"},
            files={"file": ("My Library.csv", csv_export.encode(), "text/csv")},
        )
        assert page.status_code == 200
        assert "Imported 3 papers (csv): 1 already in the store, 2 added as stubs" in page.text
        assert "line 5: no title, DOI or arXiv id" in page.text
        no_header = client.post(
            "/library/import",
            data={"csrf_token": csrf(client)},
            files={"file": ("list.csv", b"foo,bar\n1,2\n", "text/csv")},
        )
        assert no_header.status_code == 400 and "no header row naming a Title" in no_header.text
    with open_store(store_any) as store:
        user = Accounts(store).local_user().id
        assert Library(store).state(user, store.resolve(stored.arxiv_id)).saved
        turing = store.get("10.1234/turing.2023")
        assert turing.title == "Computable Numbers, Again"
        assert [a.name for a in turing.authors] == ["Alan Turing", "Grace Hopper"]
        assert store.get("2403.07777").title == "A Preprint Known by Its Link"


def test_gzipped_excel_and_wrong_uploads_are_read_or_explained(store_any):
    """A .bib.gz (which `paperscope import` reads) came out as a list of ids, each byte run a
    rejected "not an arXiv id"; an Excel CSV (Windows-1252) lost its accents; a .bib without
    entries told the web user to pass `--format NAME`."""
    bib = b"@article{k, title = {Gzipped Graphs of Things}, doi = {10.1234/gz.1}}\n"
    excel = "Title;DOI\n\u00dcber Graphen im Alltag;10.1234/excel.1\n".encode("cp1252")
    with client_for(store_any) as client:

        def upload(name: str, data: bytes):
            files = {"file": (name, data, "application/octet-stream")}
            return client.post("/library/import", data={"csrf_token": csrf(client)}, files=files)

        gz = upload("refs.bib.gz", gzip.compress(bib))
        assert gz.status_code == 200 and "Imported 1 paper (bibtex)" in gz.text
        csv_page = upload("export.csv", excel)
        assert csv_page.status_code == 200 and "Imported 1 paper (csv)" in csv_page.text
        not_bib = upload("notes.bib", b"just some notes, no entries here\n")
        assert not_bib.status_code == 400 and "no BibTeX entries" in not_bib.text
        assert "--format" not in not_bib.text and "export the library as BibTeX" in not_bib.text
        binary = upload("scan.pdf", b"%PDF-1.7\n\x00\x01\x02 binary")
        assert binary.status_code == 400 and "this file is not text" in binary.text
    with open_store(store_any) as store:
        assert store.get("10.1234/gz.1").title == "Gzipped Graphs of Things"
        assert store.get("10.1234/excel.1").title == "\u00dcber Graphen im Alltag"


# ---------------------------------------------------------------------- submissions


@contextlib.contextmanager
def fake_arxiv(body_by_id: dict[str, bytes]):
    """A real HTTP server on 127.0.0.1 answering id_list queries with recorded feeds."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            from urllib.parse import parse_qs, urlsplit

            ident = parse_qs(urlsplit(self.path).query).get("id_list", [""])[0]
            body = body_by_id.get(ident, body_by_id.get("*", b""))
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/query", seen
    finally:
        server.shutdown()
        server.server_close()


def cassette_body(path: Path) -> bytes:
    body = json.loads(path.read_text())["body"]
    return body.encode() if isinstance(body, str) else bytes(body)


def test_submission_fetched_from_arxiv_featured_once_and_hidden_by_admin(store_any, monkeypatch):
    bodies = {"astro-ph/0601001": cassette_body(CASSETTE), "*": cassette_body(EMPTY)}
    with (
        fake_arxiv(bodies) as (url, seen),
        client_for(store_any, single_user=False) as ada,
        client_for(store_any, single_user=False) as admin,
        client_for(store_any, single_user=False) as anonymous,
    ):
        monkeypatch.setenv("PAPERSCOPE_ARXIV_API_URL", url)
        signup(ada, "ada@example.org")
        token = csrf(ada)
        bad = ada.post("/submit", data={"paper": "not a paper", "csrf_token": token})
        assert bad.status_code == 400 and "is not an arXiv id or arXiv URL" in bad.text
        missing = ada.post("/submit", data={"paper": "2501.00000", "csrf_token": token})
        assert missing.status_code == 404 and "arXiv has no paper 2501.00000" in missing.text
        ok = ada.post(
            "/submit",
            data={"paper": "https://arxiv.org/abs/astro-ph/0601001v1", "csrf_token": token},
        )
        assert ok.status_code == 200 and "It is featured on today" in ok.text
        assert any("astro-ph%2F0601001" in path for path in seen)
        again = ada.post("/submit", data={"paper": "astro-ph/0601001", "csrf_token": token})
        assert again.status_code == 400 and "already submitted" in again.text
        listing = anonymous.get("/submissions")
        assert "submitted by ada" in listing.text
        sub_id = re.search(r"/submissions/(\d+)/hide", admin.get("/submissions").text or "")
        assert sub_id is None  # anonymous visitors and users get no hide button
        with open_store(store_any) as store:
            Accounts(store).add("root@example.org", PASSWORD, is_admin=True)
            sub = Library(store).submissions()[0]
        assert (
            ada.post(f"/submissions/{sub.id}/hide", data={"csrf_token": token}).status_code == 403
        )
        token = token_of(admin.get("/login").text)
        admin.post(
            "/login", data={"email": "root@example.org", "password": PASSWORD, "csrf_token": token}
        )
        page = admin.get("/submissions").text
        assert f"/submissions/{sub.id}/hide" in page
        hidden = admin.post(
            f"/submissions/{sub.id}/hide",
            data={"csrf_token": token_of(page), "hidden": "1"},
            follow_redirects=False,
        )
        assert hidden.status_code == 303
        assert "submitted by ada" not in anonymous.get("/submissions").text
        assert "hidden" in admin.get("/submissions").text


# ---------------------------------------------------------------------- recommendations


def test_recommendations_page_and_api(store_any):
    with client_for(store_any) as client:
        (_, ident), *_ = paper_ids(store_any, 1)
        token = csrf(client)
        client.post("/library/save", data={"paper": ident, "tag": "t1", "csrf_token": token})
        client.post("/library/rate", data={"paper": ident, "rating": "1", "csrf_token": token})
        page = client.get("/recommendations")
        assert page.status_code == 200
        recs = client.get("/api/v1/recommendations").json()["recommendations"]
        assert recs and ident not in {r["id"] for r in recs}  # never a rated paper
        assert all(r["reason"] for r in recs)
        assert client.get("/recommendations?tag=t1").status_code == 200
        assert client.get("/recommendations?tag=nope").status_code == 404


def test_another_users_tag_in_recommendations_is_not_found_and_reveals_nothing(
    two_users, store_any
):
    ada, bob, ident, _ = two_users
    with open_store(store_any) as store:
        title = store.get(ident).title
    mine = ada.get("/recommendations?tag=secret")
    assert mine.status_code == 200 and "<h1>Recommended for you: secret</h1>" in mine.text
    # Bob asks for Ada's tag by name: no such tag of his, and nothing of Ada's shows
    page = bob.get("/recommendations?tag=secret")
    assert page.status_code == 404 and "you have no tag" in page.text
    # her address, not the bare letters: a CSRF token in hex can hold "ada" (it did)
    assert title not in page.text and "ada@example.org" not in page.text.lower()
    api = bob.get("/api/v1/recommendations", params={"tag": "secret"})
    reasons = [r["reason"] for r in api.json().get("recommendations", [])]
    assert not any(title in reason for reason in reasons)
