"""Email digests end to end: compose from alerts, send through a real SMTP server on
127.0.0.1 (aiosmtpd), parse what it received; retries, backoff, and crashes between compose
and send."""

from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from digesttools import FIRST, add_papers, paper
from mailtools import smtp_server
from paperscope.errors import InputError
from paperscope.rank.search import SearchEngine
from paperscope.serve.email import digest, scheduler
from paperscope.serve.email.config import parse_smtp_url
from paperscope.store.accounts import Accounts
from paperscope.store.alerts import MAX_ATTEMPTS, Alerts

BASE = "https://papers.example.org"
FROM = "Paperscope <digest@example.org>"


@pytest.fixture
def first_ids(store_any) -> list[str]:
    """The ids of FIRST, written to the test's store copy."""
    return add_papers(store_any, FIRST)


@pytest.fixture
def db(store_any, first_ids):
    return store_any


@pytest.fixture
def engine(db):
    with SearchEngine.open(db) as engine:
        yield engine


@pytest.fixture
def ada(engine):
    user = Accounts(engine.store).add("ada@example.org", display_name="Ada")
    alerts = Alerts(engine.store)
    alerts.follow(user.id, "author", "Grace Hopper")
    alerts.follow(user.id, "category", "quant-ph")
    alerts.follow(user.id, "query", "diffusion transformers")
    return user


def run(engine, server, **kwargs):
    kwargs.setdefault("retry_delay", 0)
    config = parse_smtp_url(server.url, FROM)
    return digest.run(engine, config=config, base=BASE, **kwargs)


def titles(msg) -> list[str]:
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return re.findall(r"^\* (.+)$", text, re.M)


def test_an_address_with_non_ascii_letters_is_written_as_is_in_to(engine):
    """The outbox stored the message with its To: address in RFC 2047 encoded words
    ("=?utf-8?b?...?=@=?utf-8?q?ex=C3=A4mple?=.org"), which no mail client reads as an
    address; an internationalised address is sent with SMTPUTF8 and written in UTF-8."""
    user = Accounts(engine.store).add("zoë@exämple.org", display_name="Zoë")
    Alerts(engine.store).follow(user.id, "author", "Grace Hopper")
    with smtp_server(smtputf8=True) as server:
        [report] = run(engine, server)
    assert report.status == "sent"
    assert server.envelopes[0][1] == ["zoë@exämple.org"]
    assert "To: Zoë <zoë@exämple.org>".encode() in server.raw[0]
    # read as UTF-8, as an SMTPUTF8 mail client does (Python's bytes parser stops at ASCII)
    parsed = email.message_from_string(server.raw[0].decode(), policy=email.policy.default)
    [to] = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë", "zoë@exämple.org")


def test_a_sender_address_with_non_ascii_letters_is_sent_not_a_traceback(engine, ada):
    """PAPERSCOPE_MAIL_FROM="Näme <ünï@exämple.org>" ended `digest send` in a traceback
    (UnicodeEncodeError) between composing and recording."""
    with smtp_server(smtputf8=True) as server:
        config = parse_smtp_url(server.url, "Näme <ünï@exämple.org>")
        [report] = digest.run(engine, config=config, base=BASE, retry_delay=0)
    assert report.status == "sent"
    assert server.envelopes[0] == ("ünï@exämple.org", ["ada@example.org"])
    assert "From: Näme <ünï@exämple.org>".encode() in server.raw[0]


def test_first_digest_holds_the_latest_day_grouped_by_reason(engine, ada):
    with smtp_server() as server:
        [report] = run(engine, server)
    assert (report.email, report.status, report.papers) == ("ada@example.org", "sent", 4)
    assert len(server.messages) == 1
    msg = server.messages[0]
    assert server.envelopes[0] == ("digest@example.org", ["ada@example.org"])
    # headers
    assert msg["From"] == FROM and msg["To"] == "Ada <ada@example.org>"
    assert msg["Subject"] == "paperscope: 4 new papers for you"
    assert msg["Message-ID"] == report.message_id and msg["Message-ID"].endswith("@example.org>")
    sent_at = msg["Date"].datetime
    assert sent_at.tzinfo is not None and abs(datetime.now(UTC) - sent_at) < timedelta(minutes=5)
    unsub = re.fullmatch(
        r"<(https://papers\.example\.org/unsubscribe/[\w.-]+)>", msg["List-Unsubscribe"]
    )
    assert unsub, msg["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # on the wire the link is a plain <URL> on one line: mail clients do not decode RFC 2047
    # encoded words in List-Unsubscribe, and a folded URL is a broken one
    wire = re.search(rb"^List-Unsubscribe: (.*?)\r?\n(?![ \t])", server.raw[0], re.M | re.S)
    assert wire and wire.group(1).decode() == f"<{unsub.group(1)}>"
    # both parts, the same papers, grouped by the alert that found them
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert sorted(titles(msg)) == sorted(
        ["Compilers for everyone", "Hopper and Lovelace", "Quantum cats in boxes",
         "Diffusion transformers draw graphs"]
    )  # fmt: skip
    assert "An older Hopper paper" not in text  # before the latest announcement day
    for heading in ("By Grace Hopper", "New in quant-ph", "Matching “diffusion transformers”"):
        assert heading in text and heading in html
    # "Hopper and Lovelace" is by a followed author and in a followed category: listed once
    assert text.count("Hopper and Lovelace") == 1 and html.count("Hopper and Lovelace") == 1
    assert text.index("By Grace Hopper") < text.index("Compilers for everyone")
    assert unsub.group(1) in text and unsub.group(1) in html
    assert f"{BASE}/paper/" in text and f'href="{BASE}/alerts"' in html
    # recorded: sent, the user's last digest moved, the papers remembered
    [row] = Alerts(engine.store).digests(ada.id)
    assert row.status == "sent" and row.message_id == report.message_id and row.attempts == 1
    assert Accounts(engine.store).get(ada.id).last_digest_at == row.created_at
    assert len(Alerts(engine.store).sent_rowids(ada.id)) == 4


def test_paper_links_point_at_the_papers(engine, ada, first_ids):
    with smtp_server() as server:
        run(engine, server)
    html = server.messages[0].get_body(("html",)).get_content()
    links = set(re.findall(r'href="https://papers\.example\.org/paper/([^"]+)"', html))
    assert links == set(first_ids[:4])


def test_a_second_run_with_nothing_new_sends_nothing(engine, ada):
    with smtp_server() as server:
        assert run(engine, server)[0].papers == 4
        [again] = run(engine, server)
    assert (again.status, again.papers) == ("nothing new", 0), titles(server.messages[-1])
    assert len(server.messages) == 1


def test_later_papers_come_in_the_next_digest_and_never_twice(engine, ada, db):
    with smtp_server() as server:
        run(engine, server)
        add_papers(
            db,
            [
                paper(6, "Hopper returns", ["Grace Hopper"], ["cs.PL"], "2026-12-02"),
                # harvested late: an old date, but new to the store
                paper(7, "Old quantum cats", ["Erwin Katz"], ["quant-ph"], "2025-01-10"),
                FIRST[0],  # seen again by a harvest: already sent
            ],
        )
        [report] = run(engine, server)
        [third] = run(engine, server)
    assert (report.status, report.papers) == ("sent", 2), titles(server.messages[1])
    assert sorted(titles(server.messages[1])) == ["Hopper returns", "Old quantum cats"]
    assert server.messages[1]["Message-ID"] != server.messages[0]["Message-ID"]
    assert third.status == "nothing new" and len(server.messages) == 2


def test_no_follows_and_no_ratings_means_no_email(engine):
    Accounts(engine.store).add("idle@example.org")
    with smtp_server() as server:
        [report] = run(engine, server)
    assert (report.status, report.papers) == ("nothing new", 0)
    assert server.messages == []


def test_unsubscribed_and_disabled_users_get_nothing(engine, ada):
    accounts = Accounts(engine.store)
    accounts.set_digest(ada.id, "off")
    with smtp_server() as server:
        assert [r.status for r in run(engine, server)] == ["off"]
    assert server.messages == []


def test_only_the_named_user(engine, ada):
    bob = Accounts(engine.store).add("bob@example.org")
    Alerts(engine.store).follow(bob.id, "category", "cs.PL")
    with smtp_server() as server:
        [report] = run(engine, server, users=[bob])
    assert report.email == "bob@example.org" and report.papers == 1
    assert [m["To"] for m in server.messages] == ["bob@example.org"]


@pytest.mark.parametrize("code", ["cs.P_", "__.PL", "cs.%", "%"])
def test_a_category_code_is_matched_as_written_not_as_a_pattern(engine, code):
    """`follow --category` takes "_" (LIKE's any-character): it matched cs.PL as "cs.P_"."""
    alerts = Alerts(engine.store)
    assert alerts.category_matches(code, None) == []
    assert alerts.category_matches("cs.PL", None) != []
    assert alerts.category_matches("cs", None) != []  # an archive still finds its categories


def test_hostile_titles_are_escaped_in_html_and_plain_in_text(engine, ada, db):
    with smtp_server() as server:
        run(engine, server)
        add_papers(
            db, [paper(8, "<script>alert(1)</script> & co", ["Grace Hopper"], [], "2026-12-02")]
        )
        run(engine, server)
    msg = server.messages[1]
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "* <script>alert(1)</script> & co" in msg.get_body(("plain",)).get_content()


def test_dry_run_composes_without_sending_or_recording(engine, ada):
    with smtp_server() as server:
        [report] = run(engine, server, dry_run=True)
        assert (report.status, report.papers) == ("dry run", 4)
        assert "Compilers for everyone" in report.composed.message.as_string()
        assert server.messages == [] and Alerts(engine.store).digests(ada.id) == []
        assert Accounts(engine.store).get(ada.id).last_digest_at is None
        [real] = run(engine, server)  # the dry run used up nothing
    assert real.papers == 4 and len(server.messages) == 1


# --- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["451 4.3.0 try again later", "554 5.6.0 rejected", "drop"])
def test_a_refusal_is_retried_and_sent_once(engine, ada, failure):
    slept = []
    with smtp_server([failure]) as server:
        [report] = run(engine, server, retries=2, retry_delay=0.5, sleep=slept.append)
    assert (report.status, report.papers, report.error) == ("sent", 4, None)
    assert server.attempts == 2 and len(server.messages) == 1
    assert slept == [0.5]
    [row] = Alerts(engine.store).digests(ada.id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_refusing_server_backs_off_and_later_runs_send_once(engine, ada):
    t0 = datetime.now(UTC)
    alerts = Alerts(engine.store)
    with smtp_server(["451 busy", "451 busy"]) as server:
        [first] = run(engine, server, retries=0, now=t0)
        assert first.status == "pending" and "451 busy" in first.error
        [row] = alerts.digests(ada.id)
        assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
        assert row.next_attempt_at == (t0 + timedelta(seconds=300)).isoformat(
            timespec="seconds"
        ).replace("+00:00", "Z")
        # not due yet: nothing is attempted, nothing new is composed
        [waiting] = run(engine, server, retries=0, now=t0 + timedelta(seconds=60))
        assert waiting.status == "waiting" and server.attempts == 1
        # due: fails again, and the next wait is twice as long
        [second] = run(engine, server, retries=0, now=t0 + timedelta(seconds=301))
        assert second.status == "pending"
        [row] = alerts.digests(ada.id)
        assert row.attempts == 2
        assert row.next_attempt_at > (t0 + timedelta(seconds=301 + 599)).isoformat()
        [third] = run(engine, server, retries=0, now=t0 + timedelta(hours=1))
    assert (third.status, third.papers) == ("sent", 4)
    assert len(server.messages) == 1 and server.messages[0]["Message-ID"] == row.message_id
    assert [d.status for d in alerts.digests(ada.id)] == ["sent"]


def test_gives_up_after_max_attempts_and_keeps_the_papers(engine, ada):
    now = datetime.now(UTC)
    with smtp_server(["554 no"] * MAX_ATTEMPTS) as server:
        for _ in range(MAX_ATTEMPTS):
            [report] = run(engine, server, retries=0, now=now)
            now += timedelta(hours=7)
        assert report.status == "failed" and "554" in report.error
        [row] = Alerts(engine.store).digests(ada.id)
        assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
        # the failed digest's papers are not put in a new one
        [after] = run(engine, server, now=now)
        assert after.status == "nothing new" and server.messages == []
        # after fixing the mail settings, the given-up digest can be queued again
        assert Alerts(engine.store).retry_failed(ada.id) == 1
        [resent] = run(engine, server, now=now)
    assert (resent.status, resent.papers) == ("sent", 4)
    assert server.messages[0]["Message-ID"] == row.message_id


def test_a_crash_between_compose_and_send_loses_nothing_and_sends_once(engine, ada):
    # the first half of a run: composed and recorded, then the process dies
    composed = digest.compose(engine, ada, base=BASE, mail_from=FROM)
    digest_id = digest.record(engine.store, composed)
    [row] = Alerts(engine.store).digests(ada.id)
    assert (row.id, row.status, row.attempts) == (digest_id, "pending", 0)
    with smtp_server() as server:
        [report] = run(engine, server)
        [again] = run(engine, server)
    assert (report.status, report.papers) == ("sent", 4)
    assert again.status == "nothing new"
    assert len(server.messages) == 1
    assert server.messages[0]["Message-ID"] == composed.message_id == report.message_id


def test_a_composed_digest_is_not_composed_twice(engine, ada):
    composed = digest.compose(engine, ada, base=BASE, mail_from=FROM)
    assert digest.record(engine.store, composed) is not None
    # a second process composing meanwhile records nothing
    other = digest.compose(engine, ada, base=BASE, mail_from=FROM)
    assert other is None or digest.record(engine.store, other) is None
    assert len(Alerts(engine.store).digests(ada.id)) == 1


# --- schedule ---------------------------------------------------------------------------


def test_daily_and_weekly_users_are_due_by_their_frequency(engine, ada):
    accounts = Accounts(engine.store)
    t0 = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    with smtp_server() as server:
        assert run(engine, server, due_only=True, now=t0)[0].status == "sent"
        ada = accounts.get(ada.id)
        assert not digest.is_due(ada, t0 + timedelta(hours=10))
        assert digest.is_due(ada, t0 + timedelta(days=1))
        assert run(engine, server, due_only=True, now=t0 + timedelta(hours=1))[0].status == (
            "not due"
        )
    accounts.set_digest(ada.id, "weekly")
    ada = accounts.get(ada.id)
    assert not digest.is_due(ada, t0 + timedelta(days=6))
    assert digest.is_due(ada, t0 + timedelta(days=7))


# --- the scheduler of `serve` -------------------------------------------------------------


def test_schedule_parsing_and_moments():
    schedule = scheduler.parse_schedule("07:30", "mon, wed,Fri")
    assert schedule.days == {0, 2, 4} and (schedule.at.hour, schedule.at.minute) == (7, 30)
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # a Wednesday
    assert schedule.last_before(wednesday) == datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    assert schedule.next_after(wednesday) == datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    early = wednesday.replace(hour=6)
    assert schedule.last_before(early) == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)
    assert scheduler.schedule_from_env({}).days == {0, 1, 2, 3, 4}
    for at, days in (("25:00", "mon"), ("7", "mon"), ("07:00", "someday"), ("07:00", "")):
        with pytest.raises(InputError):
            scheduler.parse_schedule(at, days or ",")


def test_scheduler_sends_at_the_scheduled_time_once_per_day(db, ada, monkeypatch):
    wednesday = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    schedule = scheduler.parse_schedule("07:00", "wed,thu")
    worker = scheduler.DigestScheduler(db, base_url=BASE, schedule=schedule, retry_delay=0)
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        [report] = worker.tick(wednesday + timedelta(minutes=1))
        assert (report.status, report.papers) == ("sent", 4)
        assert worker.tick(wednesday + timedelta(hours=3)) == []  # between runs: retries only
        add_papers(db, [paper(9, "Hopper on Thursday", ["Grace Hopper"], [], "2026-12-03")])
        [thursday] = worker.tick(wednesday + timedelta(days=1, minutes=5))
        assert (thursday.status, thursday.papers) == ("sent", 1)
        # Friday is not a scheduled day: nothing composed
        assert worker.tick(wednesday + timedelta(days=2, hours=1)) == []
    assert len(server.messages) == 2


def test_scheduler_started_on_a_day_off_waits_for_the_next_day(db, ada, monkeypatch):
    schedule = scheduler.parse_schedule("07:00", "mon")
    worker = scheduler.DigestScheduler(db, base_url=BASE, schedule=schedule)
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        assert worker.tick(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == []  # a Wednesday
        [report] = worker.tick(datetime(2026, 12, 7, 7, 0, tzinfo=UTC))  # Monday
    assert report.status == "sent" and len(server.messages) == 1


#: A Wednesday noon (UTC) the scheduler threads' clock is set to, with a schedule a minute
#: before it. On the real clock "a minute ago" is yesterday between 00:00 and 00:01 UTC, and a
#: thread started just after midnight sees yesterday's time as a day off and waits for the next.
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def set_scheduler_clock(monkeypatch, at: datetime) -> None:
    """The scheduler module's clock runs on from `at` (real seconds pass as usual)."""
    offset = at - datetime.now(UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + offset

    monkeypatch.setattr(scheduler, "datetime", Clock)


def test_scheduler_thread_catches_up_and_stops(db, ada, monkeypatch):
    set_scheduler_clock(monkeypatch, NOON)
    schedule = scheduler.parse_schedule("11:59", "wed")
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        worker = scheduler.DigestScheduler(db, base_url=BASE, schedule=schedule).start()
        try:
            deadline = time.monotonic() + 60
            while not server.messages and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            worker.stop()
    assert len(server.messages) == 1 and not worker._thread.is_alive()


def test_serve_starts_the_scheduler_when_asked(db, ada, monkeypatch):
    from webtools import client_for

    set_scheduler_clock(monkeypatch, NOON)
    monkeypatch.setenv("PAPERSCOPE_DIGEST_TIME", "11:59")
    monkeypatch.setenv("PAPERSCOPE_DIGEST_DAYS", "wed")
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        with client_for(db, digest_scheduler=False):
            time.sleep(0.5)
        assert server.messages == []  # off unless asked
        with client_for(db, digest_scheduler=True):
            deadline = time.monotonic() + 60
            while not server.messages and time.monotonic() < deadline:
                time.sleep(0.1)
    assert len(server.messages) == 1


def test_recommendations_come_in_the_digest_with_their_reason(db, engine):
    from paperscope.index.embedding import embed_missing
    from paperscope.store.library import Library

    embed_missing(engine.store, engine.embedder)  # the papers of FIRST get vectors too
    bob = Accounts(engine.store).add("bob@example.org")  # no follows: recommendations only
    liked = next(r for r, p in engine.store.iter_papers() if "compil" not in p.title.lower())
    Library(engine.store).rate(bob.id, liked, 1)
    with smtp_server() as server:
        [report] = run(engine, server)
        [again] = run(engine, server)
    assert report.status == "sent" and report.papers >= 1
    assert again.status == "nothing new" and len(server.messages) == 1
    sent = Alerts(engine.store).digest_papers(Alerts(engine.store).digests(bob.id)[0].id)
    assert liked not in {rowid for rowid, _ in sent}
    reasons = {reason for _, reason in sent}
    assert all(reason.startswith(("Close to", "Recommended")) for reason in reasons), reasons
    text = server.messages[0].get_body(("plain",)).get_content()
    assert all(reason in text for reason in reasons)
    # only papers of the latest day (the first digest's window)
    papers = engine.store.load_rowids([rowid for rowid, _ in sent])
    assert {p.published[:10] for p in papers.values()} == {"2026-12-01"}


def test_a_first_digest_holds_each_alerts_newest_day(engine):
    """An alert with nothing on the store's latest day still brings its newest papers once."""
    dream = engine.store.get("2602.18940")  # a Hugging Face daily paper, by Roy Ganz
    user = Accounts(engine.store).add("roy@example.org")
    Alerts(engine.store).follow(user.id, "author", "Roy Ganz")
    with smtp_server() as server:
        [first] = run(engine, server)
        [second] = run(engine, server)
    assert first.status == "sent" and second.status == "nothing new"
    sent = engine.store.load_rowids(
        r
        for r, _ in Alerts(engine.store).digest_papers(Alerts(engine.store).digests(user.id)[0].id)
    )
    assert dream.id in {p.id for p in sent.values()}
    assert {p.published[:10] for p in sent.values()} == {dream.published[:10]}


def test_a_process_killed_between_compose_and_send(engine, ada, db):
    """SIGKILL right after the digest is recorded: the next run sends it once, same Message-ID."""
    script = f"""
import os, signal
from paperscope.rank.search import SearchEngine
from paperscope.serve.email import digest
from paperscope.store.accounts import Accounts
engine = SearchEngine.open({str(db)!r})
user = Accounts(engine.store).by_email("ada@example.org")
composed = digest.compose(engine, user, base={BASE!r}, mail_from={FROM!r})
assert digest.record(engine.store, composed)
print(composed.message_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    message_id = proc.stdout.strip()
    [row] = Alerts(engine.store).digests(ada.id)
    assert (row.status, row.message_id) == ("pending", message_id)
    with smtp_server() as server:
        [report] = run(engine, server)
        [again] = run(engine, server)
    assert (report.status, report.papers, again.status) == ("sent", 4, "nothing new")
    assert [m["Message-ID"] for m in server.messages] == [message_id]


@pytest.mark.parametrize(
    "name", ["D\rE", "D\nBcc: x@evil.example", "a\tb", "\x1b[31mred", "\u202eevil"]
)
def test_a_display_name_with_a_control_character_is_refused(engine, name):
    accounts = Accounts(engine.store)
    with pytest.raises(InputError, match="control character"):
        accounts.add("d@example.org", display_name=name)
    assert accounts.find("d@example.org") is None
    user = accounts.add("d@example.org", display_name="  Dee  ")
    assert user.display_name == "Dee"
    with pytest.raises(InputError, match="control character"):
        accounts.set_display_name(user.id, name)
    assert accounts.get(user.id).display_name == "Dee"


def test_a_name_stored_before_the_check_still_gets_its_digest(engine, ada):
    """A line break in a stored name used to stop the run for every user."""
    engine.store.conn.execute(
        "UPDATE users SET display_name = ? WHERE id = ?", ("Ada\r\nBcc: x@evil.example", ada.id)
    )
    engine.store.conn.commit()
    with smtp_server() as server:
        [report] = run(engine, server)
    assert report.status == "sent"
    # one header, the name quoted: no Bcc header smuggled in
    assert server.messages[0]["To"] == '"Ada Bcc: x@evil.example" <ada@example.org>'
    assert server.messages[0]["Bcc"] is None
    assert server.envelopes[0] == ("digest@example.org", ["ada@example.org"])
