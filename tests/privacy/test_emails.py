"""The email sweep: reminders and digests go out through a real `celery -A tasks worker`
and a real SMTP server, and no email names anything restricted or confidential.

Rule 11 of issue 12: mail is forwarded, synced to phones and kept on servers we do not
control, so no email carries the name or text of a restricted or confidential partner,
contact, interaction or follow-up, whoever the recipient. Every sent message (subject,
every header, the text and the HTML part) is searched for every canary of the world.
The test also fails when the emails show none of the standard canaries they should
(follow-up titles, partner names): a sweep that sent nothing would prove nothing.

Run only this part: `-k emails`.
"""

from __future__ import annotations

import html
import re
import subprocess
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import Celery
from sqlalchemy import select

from tests.support.services import free_port
from tests.support.smtp import SmtpSink
from tests.support.worker import celery_worker, wait_for, worker_env

from .world import World

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def broker():
    """A private redis-server as the broker: no other test's worker can take our tasks,
    and none of theirs (or a stale one of ours) reaches our worker."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        assert wait_for(up, timeout=10), "redis-server did not start"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _reminder_moments(now: datetime, hour: int, escalation_days: int) -> list[datetime]:
    """Sweep moments catching every reminder of the world's two due days: the due
    morning, the overdue morning and the escalation morning (REMINDER_HOUR + 1 h, UTC)."""
    today = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    moments = []
    for due_day in (today - timedelta(days=1), today + timedelta(days=2)):
        for offset in (0, 1, escalation_days):
            moments.append(due_day + timedelta(days=offset, hours=hour + 1))
    return moments


def _digest_moments(now: datetime) -> list[datetime]:
    """Five weekly periods: from a month back (the oldest interaction) to next Monday."""
    return [now + timedelta(days=days) for days in (7, 0, -7, -14, -21)]


def _parts(message) -> list[tuple[str, str]]:
    """(where, text) of everything a reader or a mail server sees in `message`."""
    parts = [("subject", str(message["Subject"] or "")),
             ("headers", "\n".join(f"{k}: {v}" for k, v in message.items()))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append((part.get_content_type(), part.get_content()))
    return parts


def test_emails_carry_no_restricted_or_confidential_canary(crm_app, world: World, database_url,
                                                           tmp_path, broker):
    from crm.celery_app import SEND_TASK
    from crm.extensions import db
    from crm.lib import timeutil
    from crm.models import Delivery
    from crm.services import digests, reminders

    now = timeutil.now_utc()
    config = crm_app.config
    hour, escalation = int(config["REMINDER_HOUR"]), int(config["ESCALATION_DAYS"])
    log = tmp_path / "worker.log"
    started = time.monotonic()
    with SmtpSink() as smtp:
        env = worker_env(database_url, tmp_path, REDIS_URL=broker,
                         SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port))
        with celery_worker(env, log_path=log):
            batches: list[list[int]] = []
            with crm_app.app_context():
                for moment in _reminder_moments(now, hour, escalation):
                    batches += reminders.sweep(moment, hour=hour, escalation_days=escalation)
                    db.session.commit()
                for moment in _digest_moments(now):
                    batches += [[i] for i in digests.sweep(moment)]
                    db.session.commit()
                db.session.remove()
            ids = [i for batch in batches for i in batch]
            sender = Celery(broker=broker)
            for batch in batches:
                sender.send_task(SEND_TASK, args=[batch])

            def settled():
                with crm_app.app_context():
                    rows = db.session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
                    done = [r for r in rows if r.status in ("sent", "failed")]
                    db.session.remove()
                    return len(done) == len(ids) and rows
            rows = wait_for(settled, timeout=240, interval=1.0)
            assert rows, f"deliveries did not settle; worker log:\n{log.read_text()[-3000:]}"
    seconds = time.monotonic() - started
    failed = [f"delivery {r.id} {r.kind}: {r.last_error}" for r in rows if r.status == "failed"]

    secret = {t for t, c in world.canaries.items()
              if world.effective_level(c.record) != "standard"}
    leaks: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for message in smtp.messages:
        to = message["To"].addresses[0].addr_spec
        for where, text in _parts(message):
            found = world.found_in(text)
            seen |= found
            for canary in found & secret:
                leaks[canary].append(f"{where} of {message['Subject']!r} to {to}")
    # the links in the emails open for whoever holds them (mail is forwarded): what they
    # show without a sign-in falls under the same rule
    base = crm_app.config["CRM_BASE_URL"].rstrip("/")
    paths = sorted({html.unescape(m.group(0))[len(base):] for message in smtp.messages
                    for _, text in _parts(message) for m in re.finditer(
                        re.escape(base) + r"/[^\s\"'<>)]*", text)})
    anonymous = crm_app.test_client()
    for path in paths:
        response = anonymous.get(path)
        if response.status_code >= 500:
            failed.append(f"link {path} answers {response.status_code}")
        body = response.get_data().decode("utf-8", "replace")
        for canary in world.found_in(body) & secret:
            leaks[canary].append(f"page behind the emailed link {path} (signed out)")
    # the emails must have said something: every standard follow-up title and partner name
    wanted = {t for t, c in world.canaries.items()
              if world.effective_level(c.record) == "standard"
              and (c.record.kind, c.field) in {("follow_up", "ti"), ("partner", "nm")}}
    missing = sorted(wanted - seen)
    kinds = defaultdict(int)
    for message in smtp.messages:
        kinds[message.get("X-CRM-Kind") or "digest"] += 1
    print(f"\nemails: {len(rows)} ledger rows, {len(smtp.messages)} messages searched "
          f"and {len(paths)} links in them opened signed out "
          f"({dict(kinds)}), {len(world.canaries)} canaries each, {seconds:.1f}s; "
          f"{len(leaks)} restricted/confidential canaries found, "
          f"{len(seen - secret)} standard canaries shown")
    lines = []
    for canary, wheres in sorted(leaks.items()):
        lines.append(f"LEAK in email: {world.describe(canary)}")
        lines += [f"     {w}" for w in wheres[:3]]
        if len(wheres) > 3:
            lines.append(f"     (+{len(wheres) - 3} more)")
    lines += [f"NEVER IN ANY EMAIL: {world.describe(t)}" for t in missing]
    lines += [f"DELIVERY FAILED: {f}" for f in failed]
    assert smtp.messages, f"no email was sent; worker log:\n{log.read_text()[-3000:]}"
    assert not lines, (f"{len(leaks)} restricted/confidential canaries in "
                       f"{len(smtp.messages)} emails:\n" + "\n".join(lines[:200]))
