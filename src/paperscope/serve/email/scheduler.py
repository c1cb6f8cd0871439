"""The daily digest scheduler of `serve`: a background thread that sends digests at a set time
on set weekdays (UTC), and retries failed sends in between.

    PAPERSCOPE_DIGEST_TIME=07:00                  HH:MM, UTC (default 07:00)
    PAPERSCOPE_DIGEST_DAYS=mon,tue,wed,thu,fri    weekdays it runs on (default: Monday-Friday,
                                                  the days arXiv announces new papers)

On each scheduled day, daily users get one digest and weekly users one if their last was at
least 7 days ago (`digest.is_due`); nothing new means no email. A server started after the
day's time catches up at once (users already served that day are not due). Between scheduled
runs it sends pending digests whose backoff is over. With `serve --workers N`, or several
serve nodes on one database, only the process holding the store's job lease runs it
(store/jobs.py). Each run opens its own store and engine.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from paperscope.errors import InputError, PaperscopeError
from paperscope.serve.background import LockedThread
from paperscope.store.backends import open_store

log = logging.getLogger("paperscope.digest.scheduler")

TIME_ENV = "PAPERSCOPE_DIGEST_TIME"
DAYS_ENV = "PAPERSCOPE_DIGEST_DAYS"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIME = "07:00"
DEFAULT_DAYS = "mon,tue,wed,thu,fri"
#: Seconds between looks for pending digests whose retry is due.
RETRY_POLL = 300.0


@dataclass(frozen=True, slots=True)
class Schedule:
    at: dtime
    days: frozenset[int]  # 0 = Monday

    def occurrence(self, day: datetime) -> datetime:
        return datetime.combine(day.date(), self.at, tzinfo=UTC)

    def last_before(self, now: datetime) -> datetime | None:
        """The latest scheduled moment at or before `now` (within the last 8 days)."""
        for back in range(8):
            moment = self.occurrence(now - timedelta(days=back))
            if moment.weekday() in self.days and moment <= now:
                return moment
        return None

    def next_after(self, now: datetime) -> datetime:
        for ahead in range(8):
            moment = self.occurrence(now + timedelta(days=ahead))
            if moment.weekday() in self.days and moment > now:
                return moment
        raise AssertionError("a schedule has at least one day")


def parse_schedule(at: str = DEFAULT_TIME, days: str = DEFAULT_DAYS) -> Schedule:
    try:
        hours, minutes = at.strip().split(":")
        moment = dtime(int(hours), int(minutes))
    except ValueError:
        raise InputError(f"{TIME_ENV}: not a time {at!r}", hint="HH:MM in UTC, as 07:00") from None
    names = [d.strip().lower()[:3] for d in days.split(",") if d.strip()]
    unknown = [n for n in names if n not in DAY_NAMES]
    if unknown or not names:
        raise InputError(
            f"{DAYS_ENV}: unknown weekday {', '.join(unknown) or '(none)'}",
            hint="a comma-separated list of mon,tue,wed,thu,fri,sat,sun",
        )
    return Schedule(moment, frozenset(DAY_NAMES.index(n) for n in names))


def schedule_from_env(environ: dict[str, str] | None = None) -> Schedule:
    env = os.environ if environ is None else environ
    return parse_schedule(
        env.get(TIME_ENV, "").strip() or DEFAULT_TIME, env.get(DAYS_ENV, "").strip() or DEFAULT_DAYS
    )


class DigestScheduler(LockedThread):
    """The thread; `tick(now)` is one look (send what is due), `stop()` ends it."""

    name = "digest-scheduler"

    def __init__(
        self,
        db_path: Path,
        *,
        base_url: str | None = None,
        schedule: Schedule | None = None,
        poll: float = RETRY_POLL,
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(db_path)
        self.base_url = base_url
        self.schedule = schedule or schedule_from_env()
        self.poll = poll
        self.retry_delay = retry_delay
        self.last_scheduled: datetime | None = None  # the scheduled moment last served
        self.runs = 0

    def lock_wait(self) -> float:
        return self.poll

    def work(self) -> None:
        while not self.stopping():
            now = datetime.now(UTC)
            try:
                self.tick(now)
            except Exception:  # a bad run must not end the scheduler; it is logged
                log.exception("digest run failed")
            wait = (self.schedule.next_after(now) - now).total_seconds()
            self.wait(max(1.0, min(wait, self.poll)))

    def tick(self, now: datetime) -> list:
        """Run the digests if a scheduled moment passed that was not served yet, else retry
        due pending digests. Returns the reports (or send results) of what it did."""
        from paperscope.rank.search import SearchEngine
        from paperscope.serve.email import digest
        from paperscope.serve.email.config import mail_config_from_env

        try:
            config = mail_config_from_env()
        except InputError as exc:
            if self.runs == 0:
                log.warning("digest scheduler idle: %s", exc)
            self.runs += 1
            return []
        moment = self.schedule.last_before(now)
        scheduled = moment is not None and moment != self.last_scheduled
        if scheduled and self.last_scheduled is None and moment.date() != now.date():
            scheduled = False  # started on a day off: wait for the next scheduled day
        kwargs = {} if self.retry_delay is None else {"retry_delay": self.retry_delay}
        self.runs += 1
        if not scheduled:
            with open_store(self.db_path) as store:
                try:
                    return digest.send_pending(store, config, now=now, **kwargs)
                except PaperscopeError as exc:
                    log.warning("digest retry failed: %s", exc)
                    return []
        self.last_scheduled = moment
        with SearchEngine.open(self.db_path) as engine:
            reports = digest.run(
                engine, config=config, base=self.base_url, due_only=True, now=now, **kwargs
            )
        _log_reports(reports)
        return reports


def _log_reports(reports) -> None:
    for report in reports:
        if report.status == "sent":
            log.info("digest to %s: %d papers", report.email, report.papers)
        elif report.status in ("pending", "failed"):
            log.warning("digest to %s not delivered (%s): %s", report.email, report.status,
                        report.error)  # fmt: skip


def start(site_settings) -> DigestScheduler:
    """Start the scheduler for `serve` (settings: db_path, base_url); `.stop()` ends it."""
    return DigestScheduler(site_settings.db_path, base_url=site_settings.base_url or None).start()
