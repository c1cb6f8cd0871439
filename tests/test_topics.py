"""Topics and aspects on the real sample store: the hierarchy, labels, CLI and API contracts,
the topic: filter, regrouping by aspect, incremental assignment and the topic pages."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape, unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from conftest import XSS_ID
from paperscope.errors import QueryError
from paperscope.index.embedder import default_embedder
from paperscope.index.embedding import DOC_PASSAGE
from paperscope.rank import topics as topics_rank
from paperscope.rank.topic_labels import STOP_WORDS, label, terms
from paperscope.serve.cli import app
from paperscope.store import topics as topic_store
from paperscope.store.sqlite import SQLiteStore
from webtools import client_for, copy_store

runner = CliRunner()
HOSTILE = '<script>alert("t")</script> & co'


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def db(pristine_store, tmp_path_factory):
    """The sample store with topics (main hierarchy and the method aspect) built once."""
    path = copy_store(pristine_store, tmp_path_factory.mktemp("topics") / "papers.db")
    result = cli(
        "topics",
        "rebuild",
        "--db",
        str(path),
        "--aspect",
        "topic",
        "--aspect",
        "method",
        "--json",
        "--seed",
        "3",
    )
    body = json.loads(result.stdout)
    assert [a["aspect"] for a in body["aspects"]] == ["topic", "method"]
    # the full re-layout comes with it: every embedded paper gets a point on the map
    assert body["map"]["papers"] == body["aspects"][0]["papers"] > 0
    return path


def _topics(db, aspect="topic"):
    with SQLiteStore(db) as store:
        return topic_store.list_topics(store, aspect)


def test_hierarchy_covers_every_embedded_paper(db):
    topics = _topics(db)
    tops = [t for t in topics if t.level == 1]
    subs = [t for t in topics if t.level == 2]
    assert len(tops) >= 2 and subs
    by_id = {t.id: t for t in topics}
    with SQLiteStore(db) as store:
        rowids, _ = topic_store.doc_vectors(store, default_embedder().version, DOC_PASSAGE)
        finest = topic_store.topics_of(store, rowids.tolist())
    assert set(finest) == set(rowids.tolist())  # every paper with a vector has a topic
    assert sum(t.size for t in tops) == len(rowids)
    for s in subs:
        assert by_id[s.parent].level == 1
    for t in tops:
        kids = [s for s in subs if s.parent == t.id]
        if kids:  # a split topic's papers all sit in its sub-topics
            assert sum(k.size for k in kids) == t.size
        assert t.central and len(t.central) <= topics_rank.CENTRAL


def test_labels_read_like_vocabulary_not_stop_words(db):
    for t in _topics(db) + _topics(db, "method"):
        assert t.label and t.label != "(untitled)"
        for term in t.label.split(" · "):
            for word in term.split():
                assert word not in STOP_WORDS, (t.label, word)
                assert not word.endswith("ly") or word in ("anomaly", "family")
    # the c-TF-IDF picks distinctive pairs: two classes sharing generic words apart
    ranked_a, ranked_b = topics_rank.topic_labels.class_tfidf(
        [
            sum((terms(t) for t in texts), start=terms(""))
            for texts in (
                [
                    "Graph neural networks use message passing.",
                    "Message passing on graph neural networks for molecules.",
                ],
                [
                    "We propose a new method: diffusion models for image synthesis.",
                    "Diffusion models improve image synthesis results.",
                ],
            )
        ]
    )
    assert label(ranked_a).startswith(("graph neural", "message passing"))
    assert "propose" not in label(ranked_b) and "method" not in label(ranked_b)


def test_cli_and_api_list_the_same_topics(db):
    listed = json.loads(cli("topics", "--db", str(db), "--json").stdout)
    assert listed and all(set(row) == {"id", "label", "size", "parent"} for row in listed)
    method = json.loads(cli("topics", "--db", str(db), "--json", "--aspect", "method").stdout)
    assert method and all(row["aspect"] == "method" for row in method)
    assert not {r["id"] for r in method} & {r["id"] for r in listed}
    with client_for(db) as client:
        assert client.get("/api/v1/topics").json() == listed
        assert client.get("/api/v1/topics?aspect=method").json() == method
        assert client.get("/api/v1/topics?aspect=nope").status_code in (400, 422)
        one = client.get(f"/api/v1/topics/{listed[0]['id']}").json()
        assert one["id"] == listed[0]["id"] and one["subtopics"] and one["central"]
        assert client.get("/api/v1/topics/987654").status_code == 404
    shown = json.loads(
        cli("topics", "show", str(listed[0]["id"]), "--db", str(db), "--json").stdout
    )
    for paper in one["central"]:  # the API adds each paper's page on this server
        assert paper.pop("url").endswith("/paper/" + paper["id"])
    assert shown == one
    assert runner.invoke(app, ["topics", "show", "987654", "--db", str(db)]).exit_code != 0


def test_show_json_and_paper_api_carry_the_topic(db):
    with SQLiteStore(db) as store:
        rowid = store.resolve(XSS_ID)
        finest = topic_store.topic_of(store, rowid)
    assert finest is not None
    shown = json.loads(cli("show", XSS_ID, "--db", str(db), "--json").stdout)
    assert shown["topic"] == finest
    with client_for(db) as client:
        assert client.get(f"/api/v1/paper/{XSS_ID}").json()["topic"] == finest


def test_topic_filter_narrows_search(db):
    top = next(t for t in _topics(db) if t.level == 1)
    with SQLiteStore(db) as store:
        members = set(topic_store.topic_rowids(store, top.id))
    assert len(members) == top.size
    alone = json.loads(
        cli("search", f"topic:{top.id}", "--db", str(db), "--json", "-n", "200", "--facets").stdout
    )
    assert alone["total"] == top.size
    assert alone["facets"]["topic"] == {str(top.id): top.size}
    everything = json.loads(
        cli("search", "learning", "--db", str(db), "--json", "-n", "200", "--facets").stdout
    )
    narrowed = json.loads(
        cli(
            "search", f"learning topic:{top.id}", "--db", str(db), "--json", "-n", "200", "--facets"
        ).stdout
    )
    assert 0 < narrowed["total"] < everything["total"]
    assert set(everything["facets"]["topic"]) > {str(top.id)}
    with SQLiteStore(db) as store:
        ids = {store.resolve(h["id"]) for h in narrowed["results"]}
    assert ids <= members
    none = json.loads(cli("search", "learning topic:987654", "--db", str(db), "--json").stdout)
    assert none == []
    bad = runner.invoke(app, ["search", "topic:abc", "--db", str(db), "--strict"])
    assert isinstance(bad.exception, QueryError) and "topic id" in str(bad.exception)


def test_regroup_search_and_library_by_aspect(db):
    plain = json.loads(cli("search", "learning", "--db", str(db), "--json", "-n", "30").stdout)
    grouped = json.loads(
        cli("search", "learning", "--db", str(db), "--json", "-n", "30", "--group", "method").stdout
    )
    assert grouped["aspect"] == "method" and len(grouped["groups"]) >= 2
    flat = [h["id"] for g in grouped["groups"] for h in g["results"]]
    assert sorted(flat) == sorted(h["id"] for h in plain)
    method_tops = {t.id for t in _topics(db, "method") if t.level == 1}
    assert {g["id"] for g in grouped["groups"]} <= method_tops | {None}
    # groups come in the order of their best hit
    firsts = [
        plain.index(next(h for h in plain if h["id"] == g["results"][0]["id"]))
        for g in grouped["groups"]
    ]
    assert firsts == sorted(firsts)
    with client_for(db) as client:
        page = client.get("/search", params={"q": "learning", "group": "method", "size": 30})
        assert page.status_code == 200
        assert page.text.count('class="hit-group"') == len(grouped["groups"])
        assert client.get("/search", params={"q": "learning", "group": "x"}).status_code == 400
        lib = client.get("/library", params={"group": "topic"})
        assert lib.status_code == 200


def test_new_paper_joins_nearest_topic_without_rebuild(db, tmp_path):
    path = copy_store(db, tmp_path / "papers.db")
    before = {t.id: t.size for t in _topics(path)}
    record = {
        "id": "2612.00077",
        "title": "Message passing graph neural networks for molecular property prediction",
        "abstract": "We propose a graph neural network with message passing over molecular "
        "graphs, trained to predict molecular properties from atoms and bonds.",
        "authors": "Ada Example, Bo Sample",
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "Mon, 7 Dec 2026 10:00:00 GMT"}],
        "update_date": "2026-12-07",
        "authors_parsed": [["Example", "Ada", ""], ["Sample", "Bo", ""]],
    }
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps(record) + "\n")
    cli("import", str(source), "--db", str(path), "-q")
    with SQLiteStore(path) as store:
        rowid = store.resolve("2612.00077")
        finest = topic_store.topic_of(store, rowid)
        method = topic_store.topic_of(store, rowid, "method")
        info = topic_store.build_info(store)
    assert finest is not None and method is not None
    assert info.assigned == 1 and info.assigned_distance > 0
    after = {t.id: t.size for t in _topics(path)}
    assert set(after) == set(before)  # no rebuild: the same topics
    changed = {t for t in after if after[t] != before[t]}
    chain = {finest} | {t.parent for t in _topics(path) if t.id == finest and t.parent}
    assert changed == chain and all(after[t] == before[t] + 1 for t in changed)
    drift = json.loads(cli("topics", "--db", str(path), "--json").stdout)
    assert drift  # the list still reads
    with SQLiteStore(path) as store:
        report = topics_rank.drift(store)
    assert report["assigned_since"] == 1 and report["rebuild_advised"] in (True, False)


def test_topic_pages_and_feed_render_and_escape(db, tmp_path):
    path = copy_store(db, tmp_path / "papers.db")
    with SQLiteStore(path) as store:
        rowid = store.resolve(XSS_ID)
        finest = topic_store.topic_of(store, rowid)
        store.conn.execute("UPDATE topics SET label = ? WHERE id = ?", (HOSTILE, finest))
        top = topic_store.get_topic(store, finest)
    with client_for(path) as client:
        listing = client.get("/topics")
        assert listing.status_code == 200 and f'href="/topic/{finest}"' in listing.text
        assert "<script>alert" not in listing.text and "&lt;script&gt;" in listing.text
        page = client.get(f"/topic/{finest}")
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
        assert f"/topic/{finest}/feed.atom" in page.text and "Papers per month" in page.text
        # top authors link to their author pages, as a category's do
        top_authors = page.text.split('class="plain top-authors">', 1)[1].split("</ol>", 1)[0]
        assert top_authors.count('<a href="/author/') >= 1
        # the month bars' labels agree in number with their counts ("1 paper in 2015-11")
        labels = []
        for other in sorted(set(re.findall(r'href="/topic/(\d+)"', listing.text))):
            shown = client.get(f"/topic/{other}").text
            labels += re.findall(r'aria-label="(\d+) (papers?) in \d{4}-\d\d"', shown)
        assert ("1", "paper") in labels
        assert all((n == "1") == (word == "paper") for n, word in labels)
        if top.parent:
            assert f'href="/topic/{top.parent}"' in page.text
        feed = client.get(f"/topic/{finest}/feed.atom")
        assert feed.status_code == 200 and "atom" in feed.headers["content-type"]
        root = ET.fromstring(feed.content)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        assert HOSTILE in root.find("a:title", ns).text
        assert len(root.findall("a:entry", ns)) == min(top.size, 50)
        paper = client.get(f"/paper/{XSS_ID}")
        assert (
            f'href="/topic/{finest}"' in paper.text and "&lt;script&gt;alert(&#34;t" in paper.text
        )
        assert client.get("/topic/987654").status_code == 404
        assert client.get("/topics?aspect=method").status_code == 200


def test_coverage_puts_one_paper_of_each_topic_first(db):
    # ranked best first; topics a a b a c b -> a b c first, then the rest by rank
    ranked = [1, 2, 3, 4, 5, 6]
    topic = {1: 10, 2: 10, 3: 11, 4: 10, 5: 12, 6: 11}
    assert topics_rank.cover(ranked, topic) == [1, 3, 5, 2, 4, 6]
    assert topics_rank.cover([7, 8], {}) == [7, 8]  # no topics: the order stands
    with SQLiteStore(db) as store:
        rowids = [r for (r,) in store.conn.execute("SELECT rowid FROM papers ORDER BY rowid")]
        covered = topics_rank.diversify(store, rowids)
        tops = topics_rank.top_topics(store, rowids)
    assert sorted(covered) == rowids
    distinct = len({tops[r].id for r in rowids if r in tops})
    with_topic = [r for r in covered if r in tops]
    assert len({tops[r].id for r in with_topic[:distinct]}) == distinct


def test_recommendations_spread_across_topics(db, tmp_path):
    """`spread=topics` on the recommendations page and API: the same papers, the best paper
    of every top topic before a second of any (greedy coverage of the plain order)."""
    from test_library import csrf, paper_ids

    path = copy_store(db, tmp_path / "papers.db")
    with client_for(path) as client:
        token = csrf(client)
        for _, ident in paper_ids(path, 3):
            client.post("/library/rate", data={"paper": ident, "rating": "1", "csrf_token": token})
        plain = client.get("/api/v1/recommendations?limit=20").json()["recommendations"]
        spread = client.get("/api/v1/recommendations?limit=20&spread=topics")
        assert spread.status_code == 200
        spread = spread.json()["recommendations"]
        assert client.get("/api/v1/recommendations?spread=nope").status_code in (400, 422)
        page = client.get("/recommendations?spread=topics")
        assert page.status_code == 200 and "Spread across topics" in page.text
    assert len(plain) > 5
    assert sorted(r["id"] for r in spread) == sorted(r["id"] for r in plain)
    with SQLiteStore(path) as store:
        rowid_of = {p.id: rowid for rowid, p in store.iter_papers()}
        order = [rowid_of[r["id"]] for r in plain]
        tops = topics_rank.top_topics(store, order)
    expected = topics_rank.cover(order, {r: t.id for r, t in tops.items()})
    assert [rowid_of[r["id"]] for r in spread] == expected
    firsts = [tops[rowid_of[r["id"]]].id for r in spread[: len({t.id for t in tops.values()})]]
    assert len(set(firsts)) == len(firsts)  # one paper per topic until every topic has one
    if len({t.id for t in tops.values()}) > 1:
        assert spread != plain or order == expected


def test_topic_facet_counts_match_the_rows_and_follow_a_write_elsewhere(db, tmp_path):
    """The facet counts from a copy of the assignments kept per store object: the same counts
    as reading the rows of the matches, and a write through another connection (another
    process, as an import beside `serve`) is counted at the next facet."""
    from collections import Counter

    from paperscope.rank.topics import topic_facet

    path = copy_store(db, tmp_path / "papers.db")
    with SQLiteStore(path) as reader, SQLiteStore(path) as writer:
        rowids = [r for r, _ in reader.iter_papers()]

        def by_rows() -> dict[str, int]:
            finest = topic_store.topics_of(reader, rowids)
            parents = {t.id: t.parent or t.id for t in topic_store.list_topics(reader)}
            return {str(t): n for t, n in Counter(parents[t] for t in finest.values()).items()}

        before = topic_facet(reader, rowids, top=1000)
        assert before == by_rows() and sum(before.values()) > 0
        tops = [t for t in topic_store.list_topics(reader) if t.parent is None]
        assert len(tops) >= 2
        # move one paper of the first top topic into the second, through the other store
        moved = topic_store.topic_rowids(writer, tops[0].id)[0]
        topic_store.assign(writer, "topic", [(moved, tops[1].id, 0.1)])
        after = topic_facet(reader, rowids, top=1000)
        assert after == by_rows()
        assert after[str(tops[0].id)] == before[str(tops[0].id)] - 1
        assert after[str(tops[1].id)] == before[str(tops[1].id)] + 1


def test_a_topic_says_how_many_of_its_papers_have_no_month(db, tmp_path):
    """The topic page said "N papers" over bars per month that added up to far fewer (papers
    without a date, or with a year alone, are in no month), with nothing to say why."""
    from urllib.request import urlopen

    from test_cli import run_cli
    from webtools import live_server

    path = copy_store(db, tmp_path / "papers.db")
    top = next(t for t in _topics(path) if t.level == 1)
    with SQLiteStore(path) as store:
        rowids = topic_store.topic_rowids(store, top.id)
        # one paper of the topic dated by its year alone, another with no date
        store.conn.execute("UPDATE papers SET published = '2019' WHERE rowid = ?", (rowids[0],))
        store.conn.execute("UPDATE papers SET published = NULL WHERE rowid = ?", (rowids[1],))
        store.conn.commit()
    with live_server(path) as url:
        detail = json.loads(urlopen(f"{url}/api/v1/topics/{top.id}").read())
        page = urlopen(f"{url}/topic/{top.id}").read().decode()
    undated = len(rowids) - sum(m["papers"] for m in detail["months"])
    assert undated >= 2 and detail["months"]
    assert f"{undated} of the {len(rowids)} papers have no month of publication" in page
    shown = run_cli("topics", "show", str(top.id), "--db", str(path))
    assert shown.returncode == 0, shown.stderr
    assert f"; no month {undated}\n" in shown.stdout


def test_labels_keep_words_with_accents_and_other_scripts_whole():
    """Words were [a-z] runs: "Schrödinger equation" gave the pair "schr dinger" and
    "Poincaré" gave "poincar", and they reached labels; a Cyrillic word gave nothing."""
    physics = [
        "Solving the time-dependent Schrödinger equation on a lattice.",
        "Numerical Schrödinger equation solvers for bound states.",
        "A Poincaré inequality for the Schrödinger equation.",
    ]
    other = ["Diffusion models for image synthesis.", "Image synthesis with diffusion models."]
    ranked, _ = topics_rank.topic_labels.class_tfidf(
        [sum((terms(t) for t in texts), start=terms("")) for texts in (physics, other)]
    )
    text = label(ranked)
    assert text.split(" · ")[0] == "schrödinger equation", text
    words = {w for t, _ in ranked for w in t.split()}
    assert not words & {"schr", "dinger", "poincar"}, words
    assert terms("Корпус казахского языка")["казахского языка"] == 1


def test_a_topic_asked_for_before_any_is_built_says_to_build_them(pristine_store, tmp_path):
    """Before `topics rebuild`, `topics show 1` and /topic/1 answered "no topic 1" with the
    hint that `paperscope topics` (or /topics) lists them, a list that was empty."""
    from urllib.error import HTTPError
    from urllib.request import urlopen

    from test_cli import run_cli
    from webtools import live_server

    path = copy_store(pristine_store, tmp_path / "papers.db")
    shown = run_cli("topics", "show", "1", "--db", str(path))
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert "no topics yet" in shown.stderr
    assert f"paperscope topics rebuild --db {path}" in shown.stderr
    with live_server(path) as url:
        with pytest.raises(HTTPError) as api:
            urlopen(f"{url}/api/v1/topics/1")
        with pytest.raises(HTTPError) as page:
            urlopen(f"{url}/topic/1")
        # a reader of a shared server cannot run commands: the pages say who can
        listing = urlopen(f"{url}/topics").read().decode()
        map_page = urlopen(f"{url}/map").read().decode()
    assert api.value.code == page.value.code == 404
    assert "topics rebuild" in json.loads(api.value.read())["error"]["hint"]
    assert "operator builds them: paperscope topics rebuild" in page.value.read().decode()
    assert "operator builds them with <code>paperscope topics rebuild</code>" in listing
    assert "operator lays out every embedded paper" in map_page


def test_a_topic_gone_since_the_last_rebuild_links_the_topics_page(db):
    """The page of a topic id that is no more (a link saved before a rebuild) said "/topics
    lists them": a path to type, on a page that could link it."""
    with client_for(db) as client:
        page = client.get("/topic/987654")
        assert page.status_code == 404 and "no topic 987654" in page.text
        assert "/topics lists them" not in page.text
        assert '<a href="/topics">Browse the topics</a>' in page.text
        assert client.get("/topics").status_code == 200
        # the API keeps its hint
        api = client.get("/api/v1/topics/987654").json()["error"]
        assert api["hint"] == "/topics lists them"


def test_the_tab_of_a_grouping_says_what_its_heading_says(db):
    """/topics?aspect=method was headed "Papers grouped by method" in a tab titled "Topics"."""
    with client_for(db) as client:
        html = client.get("/topics", params={"aspect": "method"}).text
        assert "<title>Papers grouped by method · paperscope</title>" in html
        assert "<title>Topics · paperscope</title>" in client.get("/topics").text


def test_the_build_line_gives_no_distance_ratio_before_any_paper_is_assigned(db):
    """Right after a rebuild, `paperscope topics` ended with "distance ratio 0.00": no paper
    had been assigned, so there was no ratio, and 0.00 reads as "new papers sit closer"."""
    from test_cli import run_cli

    listed = run_cli("topics", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    line = listed.stderr.strip().splitlines()[-1]
    assert re.match(r"built \S+ on \d+ papers; 0 assigned since \(0%\)$", line), line


def test_the_topic_facet_marks_a_topic_the_query_holds_instead_of_adding_it_again(db):
    """With `topic:N` in the query, the Topics facet linked topic N to `... topic:N topic:N`."""
    top = next(t for t in _topics(db) if t.level == 1 and t.size > 3)
    with client_for(db) as client:
        page = client.get("/search", params={"q": f"learning topic:{top.id}"})
        assert page.status_code == 200
        facet = page.text.split('class="topic-facet"', 1)[1].split("</ul>", 1)[0]
        assert f'<strong aria-current="true">{escape(top.label)}</strong>' in facet
        for href in re.findall(r'href="([^"]+)"', facet):
            query = parse_qs(urlsplit(unescape(href)).query)["q"][0]
            assert query.split().count(f"topic:{top.id}") == 1, query
        # without it in the query, the same topic is a link that adds it
        plain = client.get("/search", params={"q": "learning"}).text
        facet = plain.split('class="topic-facet"', 1)[1].split("</ul>", 1)[0]
        assert 'aria-current="true"' not in facet
