"""Email digests: per user, the papers that are new for them, grouped by why, sent safely.

    reports = run(engine, config=mail_config_from_env(), base_url="https://papers.example.org")

What a digest holds (`collect`): new papers matching the user's alerts (followed authors and
categories, saved queries run through `SearchEngine.search` with an ``after:`` filter) and
their recommendations (`Recommender.recommend(since=...)`), never a paper already sent to
them, grouped by reason and interleaved across groups so one busy interest does not crowd out
the others. "New" means published on or after the day of the user's last digest, or added to
the store after it (a late harvest). A user's first digest holds, per alert, the papers of
the newest day that alert has any (recommendations: the store's latest announcement day), not
their whole history. Nothing new (a weekend, a holiday) means no email.

How it is sent (`run`, `send_pending`): composed and recorded in the outbox with its papers in
one transaction (`Alerts.record_digest`), then sent; marked sent only after the SMTP server
accepted it. A failed attempt is retried a few times in the same run, then later runs retry it
with exponential backoff (`Alerts.mark_failed_attempt`). A process killed between compose and
send leaves a pending digest that the next run sends once, with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import quote

import jinja2
from itsdangerous import BadData, URLSafeSerializer

from paperscope.errors import InputError, NotFoundError, QueryError
from paperscope.model import Paper
from paperscope.rank.query import parse as parse_query
from paperscope.rank.search import SearchEngine
from paperscope.rank.topics import diversify, top_topics
from paperscope.serve.email.config import MailConfig, mail_from_env
from paperscope.serve.email.smtp import MailError, send_message
from paperscope.serve.records import authors_line
from paperscope.store.accounts import LOCAL_EMAIL, Accounts, User, safe_display_name
from paperscope.store.alerts import Alerts, iso, parse_iso
from paperscope.store.secrets import get_or_create_secret
from paperscope.store.sqlite import SQLiteStore

#: Header lines up to RFC 5322's 998 characters: the default (78) folds a long
#: List-Unsubscribe URL into RFC 2047 encoded words, which mail clients do not decode there.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)

log = logging.getLogger("paperscope.digest")

BASE_URL_ENV = "PAPERSCOPE_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
#: Most papers in one digest, and most from one reason (author, category, query, rec reason).
MAX_PAPERS = 30
PER_GROUP = 10
#: Matches taken from each alert before interleaving.
ALERT_LIMIT = 50
#: In-run retries of a failed send and the first delay between them (seconds, doubling).
RETRIES = 2
RETRY_DELAY = 2.0
_SALT = "paperscope-unsubscribe"
_HERE = Path(__file__).parent


def base_url(configured: str | None = None) -> str:
    """Links in emails: the configured base URL, else $PAPERSCOPE_BASE_URL, else the default."""
    value = configured or os.environ.get(BASE_URL_ENV, "") or DEFAULT_BASE_URL
    return value.rstrip("/")


# --- unsubscribe tokens -------------------------------------------------------------------


def _serializer(store: SQLiteStore) -> URLSafeSerializer:
    return URLSafeSerializer(get_or_create_secret(store, "unsubscribe"), salt=_SALT)


def unsubscribe_token(store: SQLiteStore, user: User) -> str:
    """A signed token naming the user (id and address): whoever holds it may unsubscribe them,
    which is what a link in their own mailbox is for. It does not expire."""
    return _serializer(store).dumps([user.id, user.email.lower()])


def user_for_token(store: SQLiteStore, token: str) -> User:
    """The user a token names; InputError for a forged, damaged or stale one."""
    invalid = InputError(
        "this unsubscribe link is not valid",
        hint="use the link of a recent digest, or change the digest setting on /alerts",
    )
    try:
        user_id, address = _serializer(store).loads(token)
    except (BadData, ValueError, TypeError):
        raise invalid from None
    try:
        user = Accounts(store).get(int(user_id))
    except (NotFoundError, ValueError, TypeError):
        raise invalid from None
    if user.email.lower() != str(address):  # the account was deleted and the id reused
        raise invalid
    return user


def unsubscribe(store: SQLiteStore, token: str) -> User:
    """Turn the token's user's digests off (idempotent)."""
    user = user_for_token(store, token)
    Accounts(store).set_digest(user.id, "off")
    return Accounts(store).get(user.id)


def unsubscribe_url(store: SQLiteStore, user: User, base: str) -> str:
    return f"{base}/unsubscribe/{unsubscribe_token(store, user)}"


# --- alerts ------------------------------------------------------------------------------


def follow(store: SQLiteStore, user_id: int, kind: str, value: str) -> int:
    """Follow something; a saved query must parse (QueryError says where it does not)."""
    if kind == "query":
        parse_query(value)
    return Alerts(store).follow(user_id, kind, value)


# --- what goes in a digest ----------------------------------------------------------------


@dataclass(slots=True)
class Item:
    rowid: int
    paper: Paper
    reason: str  # the group heading: "By Jane Doe", "New in cs.LG", "Close to <title>"...
    kind: str  # author | category | query | similar | seed | recommended
    topic: str | None = None  # the label of the paper's top topic, when topics are built


@dataclass(slots=True)
class Composed:
    user: User
    items: list[Item]
    message: EmailMessage
    message_id: str
    created_at: str
    paper_mark: int = 0

    @property
    def groups(self) -> list[tuple[str, list[Item]]]:
        return group_items(self.items)


def group_items(items: Sequence[Item]) -> list[tuple[str, list[Item]]]:
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.reason, []).append(item)
    return list(groups.items())


def since_of(alerts: Alerts, user: User) -> tuple[str | None, int | None]:
    """(first day that counts as new, paper mark of the last digest) for the user's next
    digest; (None, None) for their first digest."""
    mark = alerts.paper_mark(user.id)
    if user.last_digest_at:
        return user.last_digest_at[:10], mark
    if mark is not None:  # composed before but never delivered: from that composition on
        return None, mark
    return None, None


def _alert_candidates(
    engine: SearchEngine,
    alerts: Alerts,
    user: User,
    since_day: str | None,
    added_after: int | None,
) -> list[tuple[str, str, list[int]]]:
    """(reason, kind, rowids best first) per alert of the user; since_day None (a first
    digest): each alert's papers of the newest day it has any."""
    out = []
    for follow in alerts.follows(user.id):
        if follow.kind == "author":
            rowids = alerts.author_matches(follow.value, since_day, added_after, ALERT_LIMIT)
            out.append((f"By {follow.value}", "author", rowids))
        elif follow.kind == "category":
            rowids = alerts.category_matches(follow.value, since_day, added_after, ALERT_LIMIT)
            out.append((f"New in {follow.value}", "category", rowids))
        elif follow.kind == "query":
            try:
                day = since_day or _newest_match_day(engine, follow.value)
                if day is None:
                    continue
                text = f"({follow.value}) AND after:{day}"
                result = engine.search(text, mode="lexical", limit=ALERT_LIMIT, sort="newest")
            except QueryError as exc:  # saved before the language changed: skip, say so
                log.warning("saved query %r of user %s fails: %s", follow.value, user.id, exc)
                continue
            out.append((f"Matching “{follow.value}”", "query", [h.rowid for h in result.hits]))
    return out


def _newest_match_day(engine: SearchEngine, query: str) -> str | None:
    result = engine.search(query, mode="lexical", limit=1, sort="newest")
    if not result.hits or not result.hits[0].paper.published:
        return None
    return result.hits[0].paper.published[:10]


def _rec_candidates(
    engine: SearchEngine, user: User, since_day: str, exclude: set[int], limit: int
) -> list[tuple[str, str, list[int]]]:
    try:
        from paperscope.rank.recs import Recommender
    except ImportError:  # recommendations not installed in this build: alerts only
        return []
    recs = Recommender(engine).recommend(user.id, limit=limit, since=since_day, exclude=exclude)
    # topic coverage: the best paper of every topic before a second of any (docs/topics.md)
    by_rowid = {rec.rowid: rec for rec in recs}
    recs = [by_rowid[r] for r in diversify(engine.store, list(by_rowid))]
    groups: dict[tuple[str, str], list[int]] = {}
    for rec in recs:
        reason = rec.reason[:1].upper() + rec.reason[1:] if rec.reason else "Recommended for you"
        groups.setdefault((reason, rec.kind or "recommended"), []).append(rec.rowid)
    return [(reason, kind, rowids) for (reason, kind), rowids in groups.items()]


def interleave(
    candidates: Sequence[tuple[str, str, list[int]]], skip: set[int], limit: int, per_group: int
) -> list[tuple[int, str, str]]:
    """Round-robin over the groups (each paper once, under its first group), so every interest
    gets its best papers in before any gets its tenth."""
    seen = set(skip)
    queues = [(reason, kind, list(rowids)) for reason, kind, rowids in candidates]
    taken = dict.fromkeys((reason for reason, _, _ in queues), 0)
    picked: list[tuple[int, str, str]] = []
    while len(picked) < limit and any(queue for _, _, queue in queues):
        for reason, kind, queue in queues:
            if len(picked) >= limit:
                break
            while queue and queue[0] in seen:
                queue.pop(0)
            if queue and taken[reason] >= per_group:
                queue.clear()
            if not queue:
                continue
            rowid = queue.pop(0)
            seen.add(rowid)
            taken[reason] += 1
            picked.append((rowid, reason, kind))
    return picked


def collect(engine: SearchEngine, user: User, *, limit: int = MAX_PAPERS) -> list[Item]:
    """The papers of the user's next digest, grouped by reason (group order = first
    appearance); empty when nothing is new."""
    store = engine.store
    alerts = Alerts(store)
    since_day, added_after = since_of(alerts, user)
    latest = alerts.latest_day()
    if latest is None:  # an empty store
        return []
    sent = alerts.sent_rowids(user.id)
    candidates = _alert_candidates(engine, alerts, user, since_day, added_after)
    in_alerts = {r for _, _, rowids in candidates for r in rowids}
    rec_since = since_day or latest  # first digest: recommendations of the latest day
    candidates += _rec_candidates(engine, user, rec_since, sent | in_alerts, limit)
    picked = interleave(candidates, sent, limit, PER_GROUP)
    papers = store.load_rowids([rowid for rowid, _, _ in picked])
    tops = top_topics(store, [r for r, _, _ in picked])
    items = [
        Item(r, papers[r], reason, kind, tops[r].label if r in tops else None)
        for r, reason, kind in picked
        if r in papers
    ]
    # list group by group (the interleaving decided who got in, not the reading order)
    order = {reason: i for i, (reason, _) in enumerate(group_items(items))}
    return sorted(items, key=lambda item: order[item.reason])


# --- the message --------------------------------------------------------------------------


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["authors_line"] = authors_line
    return env


_HTML = _environment(autoescape=True)
#: Plain text is not HTML: escaping it would show "&lt;" to the reader.
_TEXT = _environment(autoescape=False)


def _to_address(user: User) -> str:
    local, _, domain = parseaddr(user.email)[1].rpartition("@")
    # a name stored before names were checked may hold a line break, which the header refuses
    name = safe_display_name(user.display_name)
    return str(Address(display_name=name, username=local, domain=domain))


def render(
    store: SQLiteStore,
    user: User,
    items: Sequence[Item],
    *,
    base: str,
    mail_from: str,
    now: datetime,
) -> tuple[EmailMessage, str]:
    """The multipart message (plain text + HTML) and its Message-ID."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring="digest", domain=domain)
    unsub = unsubscribe_url(store, user, base)
    count = len(items)
    subject = f"paperscope: {count} new paper{'s' if count != 1 else ''} for you"
    context = {
        "user": user,
        "groups": group_items(items),
        "count": count,
        "day": now.strftime("%Y-%m-%d"),
        "base": base,
        "paper_link": lambda p: f"{base}/paper/{quote(p.id, safe='')}",
        "unsubscribe_url": unsub,
        "alerts_url": f"{base}/alerts",
        "subject": subject,
    }
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = mail_from
    msg["To"] = _to_address(user)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now.astimezone(UTC), usegmt=True)
    msg["Message-ID"] = message_id
    msg["List-Id"] = f"paperscope digest <digest.{domain}>"
    msg["List-Unsubscribe"] = f"<{unsub}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    # quoted-printable: 7-bit safe for any server, and readable in the raw message
    msg.set_content(_TEXT.get_template("digest.txt").render(context), cte="quoted-printable")
    msg.add_alternative(
        _HTML.get_template("digest.html").render(context), subtype="html", cte="quoted-printable"
    )
    return msg, message_id


def compose(
    engine: SearchEngine, user: User, *, base: str, mail_from: str, now: datetime | None = None
) -> Composed | None:
    """The user's next digest, or None when nothing is new for them."""
    now = now or datetime.now(UTC)
    mark = Alerts(engine.store).max_paper_rowid()  # before collecting: nothing slips between
    items = collect(engine, user)
    if not items:
        return None
    msg, message_id = render(engine.store, user, items, base=base, mail_from=mail_from, now=now)
    return Composed(user, items, msg, message_id, iso(now), mark)


def _as_bytes(msg: EmailMessage, address: str) -> bytes:
    """The message as sent. An address with non-ASCII letters (RFC 6531) can only go through
    a server offering SMTPUTF8, and only as UTF-8: RFC 2047 encoded words, which an ASCII
    serialisation writes for the recipient's, are not allowed in an address and no mail
    client reads them; a sender's (PAPERSCOPE_MAIL_FROM) cannot be serialised as ASCII at all."""
    if address.isascii():
        with contextlib.suppress(UnicodeEncodeError):
            return msg.as_bytes()
    return msg.as_bytes(policy=MAIL_POLICY.clone(utf8=True))


def record(store: SQLiteStore, composed: Composed) -> int | None:
    """Put a composed digest in the outbox (pending), with its papers, in one transaction."""
    return Alerts(store).record_digest(
        composed.user.id,
        composed.message_id,
        _as_bytes(composed.message, composed.user.email),
        [(item.rowid, item.reason) for item in composed.items],
        composed.created_at,
        composed.paper_mark,
    )


# --- sending ------------------------------------------------------------------------------


@dataclass(slots=True)
class SendResult:
    digest_id: int
    user_id: int
    message_id: str
    papers: int
    status: str  # sent | pending (retried later) | failed (given up)
    attempts: int
    error: str | None = None
    next_attempt_at: str | None = None
    hint: str | None = None  # what to check (the mail settings), with the error


def send_pending(
    store: SQLiteStore,
    config: MailConfig,
    *,
    now: datetime | None = None,
    user_ids: Sequence[int] | None = None,
    retries: int = RETRIES,
    retry_delay: float = RETRY_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SendResult]:
    """Send every due pending digest (of `user_ids`, else of everyone), as stored."""
    now = now or datetime.now(UTC)
    alerts = Alerts(store)
    results = []
    for digest in alerts.due_digests(now, user_ids):
        if not alerts.claim(digest.id, now):
            continue  # another process is sending it
        papers = len(alerts.digest_papers(digest.id))
        error = hint = None
        for attempt in range(retries + 1):
            if attempt:
                sleep(retry_delay * 2 ** (attempt - 1))
                alerts.count_attempt(digest.id, now)
            msg = email.message_from_bytes(digest.message, policy=MAIL_POLICY)
            try:
                send_message(msg, config)
            except MailError as exc:
                error, hint = str(exc), exc.hint
                log.warning("digest %s to user %s: %s", digest.id, digest.user_id, exc)
                continue
            error = None
            break
        if error is None:
            alerts.mark_sent(digest.id, now)
            done = alerts.get_digest(digest.id)
        else:
            done = alerts.mark_failed_attempt(digest.id, error, now)
        results.append(
            SendResult(
                digest.id,
                digest.user_id,
                digest.message_id,
                papers,
                done.status,
                done.attempts,
                error,
                done.next_attempt_at,
                hint if error else None,
            )
        )
    return results


# --- one run: compose for every user, then send -------------------------------------------


@dataclass(slots=True)
class UserReport:
    email: str
    user_id: int
    # sent | pending | failed | nothing new | not due | off | no address | dry run | waiting
    status: str
    papers: int = 0
    error: str | None = None
    message_id: str | None = None
    composed: Composed | None = field(default=None, repr=False)
    next_attempt_at: str | None = None  # waiting: when the earlier digest is tried again
    hint: str | None = None  # with an error: what to check

    def as_json(self) -> dict:
        out = {"email": self.email, "status": self.status, "papers": self.papers}
        if self.error:
            out["error"] = self.error
        if self.message_id:
            out["message_id"] = self.message_id
        if self.next_attempt_at:
            out["next_attempt_at"] = self.next_attempt_at
        return out


def _waiting(alerts: Alerts, user: User) -> UserReport:
    """The report of a user whose earlier digest waits for its retry: when, and why."""
    report = UserReport(user.email, user.id, "waiting")
    pending = alerts.pending_digest(user.id)
    if pending is not None:
        report.error, report.next_attempt_at = pending.last_error, pending.next_attempt_at
        report.message_id = pending.message_id
    return report


def is_due(user: User, now: datetime) -> bool:
    """Daily users: not yet today; weekly users: not in the last 7 days (UTC days)."""
    if user.digest == "off":
        return False
    if not user.last_digest_at:
        return True
    last = parse_iso(user.last_digest_at).date()
    days = 1 if user.digest == "daily" else 7
    return (now.astimezone(UTC).date() - last) >= timedelta(days=days)


def run(
    engine: SearchEngine,
    *,
    config: MailConfig | None,
    base: str | None = None,
    users: Sequence[User] | None = None,
    dry_run: bool = False,
    due_only: bool = False,
    now: datetime | None = None,
    retries: int = RETRIES,
    retry_delay: float = RETRY_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> list[UserReport]:
    """Compose and send the digests of `users` (default: everyone subscribed).

    `due_only` applies the daily/weekly frequency (the scheduler); without it every subscribed
    user gets what is new for them. `dry_run` composes without sending or recording (config
    may then be None). Pending digests of these users (an earlier run was killed, or a send
    failed and its backoff is over) are sent first; a user who still has one waiting gets no
    new digest until it is sent.
    """
    now = now or datetime.now(UTC)
    store = engine.store
    alerts = Alerts(store)
    base = base_url(base)
    if not dry_run and config is None:
        raise InputError("no SMTP server configured", hint="set PAPERSCOPE_SMTP_URL")
    mail_from = config.mail_from if config else mail_from_env()
    engine.lexical.ensure()  # saved queries must see papers added since the engine opened
    chosen = list(users) if users is not None else Accounts(store).list()
    reports: dict[int, UserReport] = {}
    for user in chosen:
        if user.email == LOCAL_EMAIL:  # single-user mode's account: no mailbox behind it
            reports[user.id] = UserReport(user.email, user.id, "no address")
        elif user.digest == "off" or user.disabled:
            reports[user.id] = UserReport(user.email, user.id, "off")
        elif due_only and not is_due(user, now):
            reports[user.id] = UserReport(user.email, user.id, "not due")
    active = [u for u in chosen if u.id not in reports]
    if not dry_run:
        _merge(reports, active, _send(store, config, now, active, retries, retry_delay, sleep))
    for user in active:
        if user.id in reports:  # a pending digest was just handled
            continue
        if alerts.has_pending(user.id):
            reports[user.id] = _waiting(alerts, user)
            continue
        user = Accounts(store).get(user.id)  # last_digest_at may have moved
        composed = compose(engine, user, base=base, mail_from=mail_from, now=now)
        if composed is None:
            reports[user.id] = UserReport(user.email, user.id, "nothing new")
        elif dry_run:
            reports[user.id] = UserReport(
                user.email,
                user.id,
                "dry run",
                len(composed.items),
                None,
                composed.message_id,
                composed,
            )
        elif record(store, composed) is None:
            reports[user.id] = _waiting(alerts, user)
    if not dry_run:
        fresh = [u for u in active if u.id not in reports]
        _merge(reports, fresh, _send(store, config, now, fresh, retries, retry_delay, sleep))
        for user in fresh:
            if user.id not in reports:
                reports[user.id] = _waiting(alerts, user)
    return [reports[u.id] for u in chosen]


def _send(store, config, now, users, retries, retry_delay, sleep) -> list[SendResult]:
    if not users:
        return []
    return send_pending(
        store,
        config,
        now=now,
        user_ids=[u.id for u in users],
        retries=retries,
        retry_delay=retry_delay,
        sleep=sleep,
    )


def _merge(reports: dict[int, UserReport], users: Sequence[User], results) -> None:
    by_id = {u.id: u for u in users}
    for result in results:
        user = by_id[result.user_id]
        report = reports.setdefault(user.id, UserReport(user.email, user.id, "sent"))
        if result.status == "sent":
            report.papers += result.papers
        else:
            report.status, report.error, report.hint = result.status, result.error, result.hint
        report.message_id = result.message_id
