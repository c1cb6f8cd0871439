"""Live harvesters against a real HTTP server on 127.0.0.1 serving recorded responses.

The server answers from the fixture bodies in samples/formats/ and logs every request
(arrival time, path, query, User-Agent), so the tests can check paging, the rate limit, retries
and resuming from what the server actually saw. Small intervals and retry delays keep it fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from conftest import FORMATS
from paperscope.ingest.harvesters.arxiv_api import ApiParams, harvest_arxiv_api, split_id_list
from paperscope.ingest.harvesters.arxiv_oai import OaiParams, harvest_arxiv_oai
from paperscope.ingest.harvesters.hf_daily import HfParams, harvest_hf_daily
from paperscope.ingest.harvesters.http import RetryPolicy, make_client, parse_retry_after
from paperscope.ingest.harvesters.state import load_state, resolve_base_url
from paperscope.ingest.importers.arxiv_atom import recorded_body
from paperscope.serve.cli import app
from paperscope.store.sqlite import SQLiteStore

OAI_DIR = FORMATS / "arxiv-oai-pmh"
API_DIR = FORMATS / "arxiv-api-atom"
HF_DAILY = FORMATS / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json"

# A three-page ListRecords sequence made of real responses chained by their real tokens:
# oai_dc page (5 records, token 6960524|1001) -> arXivRaw page (6, token 726959|1001) ->
# arXiv page (3, no token: the list is complete).
OAI_PAGE1 = (OAI_DIR / "listrecords-oai_dc-set-cs-from-2024-01-25-resumptiontoken.xml").read_bytes()
OAI_PAGE2 = (OAI_DIR / "listrecords-arXivRaw-from-2014-10-01-resumptiontoken.xml").read_bytes()
OAI_PAGE3 = (OAI_DIR / "listrecords-arXiv-set-physics-hep-ex-2017-12-14.xml").read_bytes()
TOKEN1, TOKEN2 = "6960524|1001", "726959|1001"
OAI_PAPERS = (5, 6, 3)

FAST = RetryPolicy(retries=2, backoff=0.01)
INTERVAL = 0.15


def _cassette(name: str) -> bytes:
    # The recorder stored the UTF-8 body decoded as Latin-1; this gives the original bytes.
    body, _ = recorded_body((API_DIR / name).read_bytes(), name)
    return body


API_BODIES = {
    0: (API_DIR / "query-au-del_maestro-10-entries-2016.xml").read_bytes(),  # total 31
    10: _cassette("cassette-query-testing-10-entries-2026.json"),  # 10 entries
    20: (API_DIR / "query-all-attention-or-mechanism-3-entries-2026.xml").read_bytes(),
}
API_EMPTY = _cassette("cassette-idlist-no-results.json")  # totalResults 0, no entries
API_ERROR = _cassette("cassette-error-400-incorrect-id-format.json")


# ---------------------------------------------------------------------- the server


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection without answering.
    drop: bool = False
    #: Send the headers (with the full Content-Length) and half the body, then close.
    cut: bool = False


@dataclass(frozen=True)
class Request:
    at: float
    path: str
    query: dict[str, str]
    user_agent: str


Route = Callable[[str, dict[str, str]], Reply]


class FixtureServer:
    """ThreadingHTTPServer on a random port; `route` decides each answer, `log` records all."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.log: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fixture = self  # type: ignore[attr-defined]
        # A short poll interval so shutdown() returns quickly at the end of each test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, request: Request) -> None:
        with self._lock:
            self.log.append(request)

    def take_log(self) -> list[Request]:
        with self._lock:
            log, self.log = self.log, []
        return log

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        fixture: FixtureServer = self.server.fixture  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        ua = self.headers.get("User-Agent", "")
        fixture.record(Request(time.monotonic(), parts.path, query, ua))
        reply = fixture.route(parts.path, query)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.cut:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


def oai_route(*, page2: Callable[[], Reply] | None = None, token_reply: Reply | None = None):
    """The three-page sequence; `page2`/`token_reply` replace answers to simulate failures."""

    def route(path: str, q: dict[str, str]) -> Reply:
        assert path == "/oai" and q["verb"] == "ListRecords"
        token = q.get("resumptionToken")
        if token is None:
            return Reply(body=OAI_PAGE1, headers={"Content-Type": "text/xml"})
        if token_reply is not None:
            return token_reply
        if token == TOKEN1:
            return page2() if page2 else Reply(body=OAI_PAGE2)
        if token == TOKEN2:
            return Reply(body=OAI_PAGE3)
        return Reply(body=(OAI_DIR / "error-bad-resumption-token.xml").read_bytes())

    return route


def api_route(path: str, q: dict[str, str]) -> Reply:
    assert path == "/api/query"
    return Reply(body=API_BODIES.get(int(q["start"]), API_EMPTY))


def hf_route(days: dict[str, bytes]) -> Route:
    def route(path: str, q: dict[str, str]) -> Reply:
        assert path == "/api/daily_papers"
        if q.get("p"):
            return Reply(body=b"[]")
        return Reply(body=days.get(q["date"], b"[]"), headers={"Content-Type": "application/json"})

    return route


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "papers.db") as s:
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # generous: a request that times out on a busy machine would be retried, and the request
    # counts and logs the tests check would change (no test waits for a timeout)
    with make_client(timeout=60.0) as c:
        yield c


def oai(store, client, server, **kw):
    params = OaiParams(prefix="arXiv", set="cs", from_date="2024-01-25")
    kw.setdefault("interval", 0.01)
    kw.setdefault("policy", FAST)
    return harvest_arxiv_oai(store, client, params, base_url=server.url + "/oai", **kw)


def gaps(log: list[Request]) -> list[float]:
    return [b.at - a.at for a, b in pairwise(log)]


# ---------------------------------------------------------------------- arXiv OAI-PMH


def test_oai_full_harvest_pages_by_token_with_rate_limit(store, client):
    with FixtureServer(oai_route()) as server:
        summary = oai(store, client, server, interval=INTERVAL)
        log = server.take_log()
    assert summary.error is None
    assert (summary.pages, summary.added, summary.deleted) == (3, sum(OAI_PAPERS), 0)
    assert summary.completed and summary.requests == 3
    assert store.count() == 14
    assert store.get("0704.0471").arxiv_id == "0704.0471"  # from page 2 (arXivRaw)
    assert store.get("1706.05371").title  # from page 3
    # The first request carries the parameters, the later ones only the token (OAI-PMH rule).
    assert log[0].query == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2024-01-25",
    }
    assert [r.query for r in log[1:]] == [
        {"verb": "ListRecords", "resumptionToken": TOKEN1},
        {"verb": "ListRecords", "resumptionToken": TOKEN2},
    ]
    assert all(r.user_agent.startswith("paperscope/") for r in log)
    assert all(gap >= INTERVAL for gap in gaps(log)), gaps(log)
    state = load_state(store, summary.key)
    assert state["done"] is True and state["position"] == {"token": None}
    assert state["pages"] == 3 and state["completed_at"]
    assert summary.key.startswith("arxiv-oai http://127.0.0.1:")
    assert summary.key.endswith("/oai prefix=arXiv set=cs from=2024-01-25 until=-")


def test_oai_retries_503_with_retry_after_and_a_dropped_connection(store, client):
    answers = iter(
        [
            Reply(503, b"busy", {"Retry-After": "0.4"}),
            Reply(drop=True),
        ]
    )

    def route(path: str, q: dict[str, str]) -> Reply:
        if "resumptionToken" not in q:
            reply = next(answers, None)
            if reply:
                return reply
        return oai_route()(path, q)

    retries: list[tuple[str, float]] = []
    with FixtureServer(route) as server:
        summary = oai(
            store,
            client,
            server,
            policy=RetryPolicy(retries=3, backoff=0.01),
            on_retry=lambda problem, delay, *_: retries.append((problem, delay)),
        )
        log = server.take_log()
    assert summary.error is None and summary.completed
    assert store.count() == 14
    assert len(log) == 5  # 503, dropped, page 1, page 2, page 3
    assert retries[0] == ("HTTP 503", 0.4)
    assert retries[1][0].startswith("RemoteProtocolError")
    # Retry-After was honoured: the retry came no sooner than the server asked.
    assert log[1].at - log[0].at >= 0.4


def test_oai_429_and_503_with_retry_after_then_a_page_cut_midway(store, client):
    """Rate limited, then unavailable, then each page's connection cut halfway through its
    body: every wait honoured, and every paper lands once."""
    first_answers = iter(
        [
            Reply(429, b"slow down", {"Retry-After": "0.3"}),
            Reply(503, b"busy", {"Retry-After": "0.2"}),
            Reply(body=OAI_PAGE1, cut=True),
        ]
    )
    cut_page2 = iter([Reply(body=OAI_PAGE2, cut=True)])
    pages = oai_route()

    def route(path: str, q: dict[str, str]) -> Reply:
        token = q.get("resumptionToken")
        answers = first_answers if token is None else cut_page2 if token == TOKEN1 else None
        reply = next(answers, None) if answers else None
        return reply or pages(path, q)

    retries: list[tuple[str, float]] = []
    with FixtureServer(route) as server:
        summary = oai(
            store,
            client,
            server,
            policy=RetryPolicy(retries=3, backoff=0.01),
            on_retry=lambda problem, delay, *_: retries.append((problem, delay)),
        )
        log = server.take_log()
    assert summary.error is None and summary.completed
    assert (summary.pages, summary.added) == (3, sum(OAI_PAPERS))
    assert store.count() == sum(OAI_PAPERS)  # nothing lost, nothing doubled
    # 429, 503, page 1 cut, page 1, page 2 cut, page 2, page 3
    assert [r.query.get("resumptionToken") for r in log] == [None] * 4 + [TOKEN1] * 2 + [TOKEN2]
    assert retries[0] == ("HTTP 429", 0.3) and retries[1] == ("HTTP 503", 0.2)
    assert len(retries) == 4  # and the two cut pages
    assert log[1].at - log[0].at >= 0.3 and log[2].at - log[1].at >= 0.2


def test_oai_interrupted_harvest_resumes_from_committed_token(store, client):
    # One server throughout: the cursor belongs to the base URL (tokens are per service).
    with FixtureServer(oai_route(page2=lambda: Reply(500, b"internal error"))) as server:
        first = oai(store, client, server)
        failed_log = server.take_log()
        server.route = oai_route()
        second = oai(store, client, server)
        resumed_log = server.take_log()
        # Completion is recorded: the same harvest again sends nothing.
        third = oai(store, client, server)
        assert server.take_log() == []
        # --restart starts from the top again.
        fourth = oai(store, client, server, restart=True)
        restart_log = server.take_log()
    assert "HTTP 500" in first.error and "gave up after 3 attempts" in first.error
    assert "resume" in first.hint
    assert not first.completed
    # Page 1 and its cursor were committed; page 2 never landed.
    assert (first.pages, first.added) == (1, 5)
    assert [r.query.get("resumptionToken") for r in failed_log] == [None, TOKEN1, TOKEN1, TOKEN1]

    assert second.error is None and second.completed
    assert second.resumed_from == {"token": TOKEN1}
    assert [r.query.get("resumptionToken") for r in resumed_log] == [TOKEN1, TOKEN2]
    assert not any("metadataPrefix" in r.query for r in resumed_log)  # page 1 not asked again
    assert (second.pages, second.added) == (2, 9)
    assert load_state(store, second.key)["done"] is True
    assert third.nothing_to_do and third.completed and third.requests == 0
    assert fourth.completed and fourth.added == 0 and fourth.pages == 3
    assert "metadataPrefix" in restart_log[0].query
    assert store.count() == 14


def test_oai_failed_run_keeps_page_one_and_its_cursor(store, client):
    with FixtureServer(oai_route(page2=lambda: Reply(drop=True))) as server:
        summary = oai(store, client, server)
    assert "RemoteProtocolError" in summary.error
    assert store.count() == 5
    state = load_state(store, summary.key)
    assert state["position"] == {"token": TOKEN1} and state["done"] is False


def test_oai_bad_resumption_token_on_resume_says_restart(store, client):
    with FixtureServer(oai_route(page2=lambda: Reply(503, b""))) as server:
        oai(store, client, server)
        server.take_log()
        bad = Reply(body=(OAI_DIR / "error-bad-resumption-token.xml").read_bytes())
        server.route = oai_route(token_reply=bad)
        summary = oai(store, client, server)
        assert [r.query.get("resumptionToken") for r in server.take_log()] == [TOKEN1]
        assert "badResumptionToken" in summary.error
        assert "saved resumptionToken" in summary.error
        assert "--restart" in summary.hint
        assert store.count() == 5
        # The hint works: --restart gets past it (with a healthy server).
        server.route = oai_route()
        again = oai(store, client, server, restart=True)
    assert again.completed and store.count() == 14


def test_oai_error_response_is_a_clear_error(store, client):
    body = (OAI_DIR / "error-bad-argument.xml").read_bytes()
    with FixtureServer(lambda path, q: Reply(body=body)) as server:
        summary = oai(store, client, server)
    assert "OAI-PMH error badArgument" in summary.error
    assert "illegal argument 'identifier'" in summary.error
    assert summary.pages == 0 and store.count() == 0
    assert store.get_cursor(summary.key) is None


def test_oai_no_records_match_completes_empty(store, client):
    body = (OAI_DIR / "error-no-records-match.xml").read_bytes()
    with FixtureServer(lambda path, q: Reply(body=body)) as server:
        summary = oai(store, client, server)
    assert summary.error is None and summary.completed
    assert (summary.pages, summary.added) == (1, 0)


def test_oai_rejects_bad_options_before_any_request(store, client):
    with FixtureServer(oai_route()) as server:
        bad_date = harvest_arxiv_oai(
            store, client, OaiParams(from_date="2024-13-01"), base_url=server.url
        )
        bad_prefix = harvest_arxiv_oai(store, client, OaiParams(prefix="marc"), base_url=server.url)
        future = harvest_arxiv_oai(
            store, client, OaiParams(from_date="2999-01-01"), base_url=server.url
        )
        assert server.take_log() == []
    assert "--from '2024-13-01' is not a date" in bad_date.error
    assert "--from 2999-01-01 is in the future" in future.error
    assert "unknown metadata prefix 'marc'" in bad_prefix.error


# ---------------------------------------------------------------------- arXiv API


def api(store, client, server, params: ApiParams, **kw):
    kw.setdefault("interval", 0.01)
    kw.setdefault("policy", FAST)
    return harvest_arxiv_api(store, client, params, base_url=server.url + "/api/query", **kw)


def test_api_pages_by_start_until_an_empty_page(store, client):
    params = ApiParams(query="au:del_maestro", page_size=10)
    with FixtureServer(api_route) as server:
        summary = api(store, client, server, params, interval=INTERVAL)
        log = server.take_log()
    assert summary.error is None and summary.completed
    assert (summary.pages, summary.added) == (4, 23)
    assert store.count() == 23
    assert [int(r.query["start"]) for r in log] == [0, 10, 20, 23]
    assert {r.query["search_query"] for r in log} == {"au:del_maestro"}
    assert log[0].query["max_results"] == "10" and log[0].query["sortBy"] == "submittedDate"
    assert all(gap >= INTERVAL for gap in gaps(log)), gaps(log)
    # The cassette body was served as the original UTF-8 bytes.
    assert "José Raúl Romero" in [a.name for a in store.get("2405.13786").authors]
    assert load_state(store, summary.key)["position"] == {"start": 23}


def test_api_stops_at_max_and_resumes_at_next_start(store, client):
    failing = {"on": True}

    def route(path: str, q: dict[str, str]) -> Reply:
        if q["start"] == "10" and failing["on"]:
            return Reply(502, b"bad gateway")
        return api_route(path, q)

    params = ApiParams(query="all:testing", page_size=10, max_papers=15)
    with FixtureServer(route) as server:
        first = api(store, client, server, params)
        assert "HTTP 502" in first.error and first.added == 10
        failing["on"] = False
        server.take_log()
        second = api(store, client, server, params)
        log = server.take_log()
    assert second.resumed_from == {"start": 10}
    assert [(r.query["start"], r.query["max_results"]) for r in log] == [("10", "5")]
    # The server sent 10 entries for a request of 5: only 5 are kept.
    assert second.completed and second.added == 5 and store.count() == 15


def test_api_error_feed_is_a_clear_error(store, client):
    with FixtureServer(lambda path, q: Reply(400, API_ERROR)) as server:
        summary = api(store, client, server, ApiParams(id_list=["2301.00001"]))
        log = server.take_log()
    assert len(log) == 1  # a 400 is not retried
    assert log[0].query["id_list"] == "2301.00001" and "search_query" not in log[0].query
    assert "arXiv API error" in summary.error
    assert "incorrect id format for abc" in summary.error
    assert store.count() == 0


def test_api_id_list_is_checked_locally():
    assert split_id_list(["2301.00001,2301.00002", "hep-th/9901001v2"]) == [
        "2301.00001",
        "2301.00002",
        "hep-th/9901001v2",
    ]
    params = ApiParams(id_list=["https://arxiv.org/abs/2301.00001v3", "hep-th/9901001"])
    params.validate()
    assert params.id_list == ["2301.00001v3", "hep-th/9901001"]
    with pytest.raises(Exception, match="'abc' is not an arXiv id"):
        ApiParams(id_list=["abc"]).validate()


# ---------------------------------------------------------------------- Hugging Face


def hf(store, client, server, params: HfParams, **kw):
    kw.setdefault("interval", 0.01)
    kw.setdefault("policy", FAST)
    return harvest_hf_daily(store, client, params, base_url=server.url + "/api", **kw)


def test_hf_one_request_per_day_and_completion(store, client):
    route = hf_route({"2026-02-25": HF_DAILY.read_bytes()})
    params = HfParams(from_day="2026-02-24", until="2026-02-26")
    with FixtureServer(route) as server:
        summary = hf(store, client, server, params, interval=INTERVAL)
        log = server.take_log()
        again = hf(store, client, server, params)
        assert server.take_log() == []
    assert summary.error is None and summary.completed
    assert (summary.pages, summary.added) == (3, 50)
    assert store.count() == 50
    assert [r.query for r in log] == [
        {"date": d, "limit": "100"} for d in ("2026-02-24", "2026-02-25", "2026-02-26")
    ]
    assert all(gap >= INTERVAL for gap in gaps(log)), gaps(log)
    assert load_state(store, summary.key)["position"] == {"day": "2026-02-26"}
    assert again.nothing_to_do


def test_hf_today_is_fetched_but_not_final(store, client):
    route = hf_route({"2026-02-25": HF_DAILY.read_bytes()})
    params = HfParams(from_day="2026-02-24", until="2026-03-31")
    with FixtureServer(route) as server:
        # "today" is 2026-02-25: later days are not asked for, today is not completed.
        first = hf(store, client, server, params, today=date(2026, 2, 25))
        assert [r.query["date"] for r in server.take_log()] == ["2026-02-24", "2026-02-25"]
        second = hf(store, client, server, params, today=date(2026, 2, 26))
        assert [r.query["date"] for r in server.take_log()] == ["2026-02-25", "2026-02-26"]
    assert not first.completed and first.error is None
    assert first.added == 50 and second.added == 0 and second.unchanged == 50
    assert not second.completed
    assert load_state(store, second.key)["position"] == {"day": "2026-02-25"}


def test_hf_full_day_is_read_in_pages(store, client):
    # A day with exactly `limit` entries may have more: the next page (p=1) is asked for.
    entries = orjson.loads(HF_DAILY.read_bytes())
    route = hf_route({"2026-02-25": orjson.dumps(entries + entries)})
    with FixtureServer(route) as server:
        summary = hf(store, client, server, HfParams("2026-02-25", "2026-02-25"))
        log = server.take_log()
    assert [r.query.get("p") for r in log] == [None, "1"]
    assert summary.added == 50 and store.count() == 50  # the repeats merged into the first


def test_hf_error_response_is_a_clear_error(store, client):
    error = Reply(400, b'{"error":"Invalid date"}')
    with FixtureServer(lambda path, q: error) as server:
        summary = hf(store, client, server, HfParams("2026-02-25", "2026-02-25"))
    assert summary.error.startswith("Hugging Face API: HTTP 400")
    assert summary.error.endswith(": Invalid date")


# ---------------------------------------------------------------------- HTTP helpers


def test_parse_retry_after():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_base_url_from_option_env_or_default(monkeypatch):
    monkeypatch.setenv("PAPERSCOPE_TEST_URL", "http://127.0.0.1:9/x/")
    assert resolve_base_url(None, "PAPERSCOPE_TEST_URL", "https://a") == "http://127.0.0.1:9/x"
    assert resolve_base_url("http://b/", "PAPERSCOPE_TEST_URL", "https://a") == "http://b"
    monkeypatch.delenv("PAPERSCOPE_TEST_URL")
    assert resolve_base_url(None, "PAPERSCOPE_TEST_URL", "https://a") == "https://a"


def test_a_server_asking_for_a_long_wait_fails_the_run(store, client):
    reply = Reply(503, b"", {"Retry-After": "3600"})
    with FixtureServer(lambda path, q: reply) as server:
        summary = oai(store, client, server)
        assert len(server.take_log()) == 1
    assert "asks to wait 3600 s" in summary.error


# ---------------------------------------------------------------------- CLI


def test_cli_harvest_commands_against_the_local_server(tmp_path: Path):
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    with FixtureServer(oai_route()) as server:
        base = ["--db", db, "--base-url", server.url + "/oai", "--interval", "0.01"]
        result = runner.invoke(app, ["harvest", "arxiv", *base, "--set", "cs", "--json"])
        assert result.exit_code == 0, result.output
        out = orjson.loads(result.stdout)
        assert (out["added"], out["pages"], out["completed"]) == (14, 3, True)

        result = runner.invoke(app, ["harvest", "arxiv", *base, "--set", "cs"])
        assert result.exit_code == 0
        assert "already complete" in result.stderr and "nothing to do" in result.stderr

    api_error = FixtureServer(lambda path, q: Reply(400, API_ERROR))
    with api_error as server:
        result = runner.invoke(
            app,
            ["harvest", "arxiv", "--db", db, "--query", "ti:x", "--interval", "0.01"],
            env={"PAPERSCOPE_ARXIV_API_URL": server.url + "/api/query"},
        )
        assert len(server.take_log()) == 1
    assert result.exit_code == 1
    assert "error: " in result.stderr and "incorrect id format for abc" in result.stderr
    assert "hint: check the query" in result.stderr

    route = hf_route({"2026-02-25": HF_DAILY.read_bytes()})
    with FixtureServer(route) as server:
        result = runner.invoke(
            app,
            ["harvest", "hf", "--db", db, "--date", "2026-02-25", "--interval", "0.01"],
            env={"PAPERSCOPE_HF_API_URL": server.url + "/api"},
        )
    assert result.exit_code == 0, result.output
    assert "hf-daily 2026-02-25: 50 papers so far" in result.stderr
    assert "complete" in result.stdout and "hf-daily" in result.stdout
