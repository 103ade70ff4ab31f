"""Agreement reminders: expiry and reporting duties, through the follow-ups' sweep and ledger.

Two tracks per live agreement (status in LIVE_STATUSES), each a list of thresholds, each
a local day at REMINDER_HOUR in the partner owner's zone (the recipient of the track):

- expiry (`expires_on`): the renewal-notice day (expires_on − renewal_notice_days), 30 and
  7 days before, to the partner's owner (`agreement_reminder`); the day after expiry, an
  `agreement_escalation` to the managers whose region covers the partner;
- report (`next_report_due_on`): 30 days before, on the due day (owner), and 14 days after
  (escalation).

Only the latest threshold whose moment has come is owed: an agreement entered late or a
sweep that was down sends that one once, never the earlier ones, and the ledger's unique
dedupe key `agreement:<id>:<threshold>:<date>[:<recipient>]` keeps each to one row. The
key holds the date, so editing it (or a report received, which moves the next due date)
re-arms the track. No marker column is needed: the latest passed threshold is a function
of the dates and `now`, so an earlier one can never come back.

The owner's rows go to the covering managers (else the admins) when the partner has no
active owner; an escalation of a confidential agreement goes to the admins (managers may
not see it). Rows join the follow-up reminders' INSERT and their per-recipient batches
(`crm.services.reminders.sweep`); `items` renders them into the same email, re-checking
each at send time (renewed, terminated, date changed, recipient can no longer see it →
the row is closed unsent). Names leave the application only as crm.services.outside allows.

Two SELECTs (one per track, through the partial indexes ix_agreements_live_expires_on and
ix_agreements_live_next_report_due_on) and one of the possible recipients, whatever the
number of agreements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased, joinedload

from crm import urls
from crm.extensions import db
from crm.lib import timeutil
from crm.models import Delivery, Partner, User
from crm.models.agreement import LIVE_STATUSES, Agreement
from crm.services import access, deliveries, outside

REMINDER = "agreement_reminder"
ESCALATION = "agreement_escalation"
KINDS = (REMINDER, ESCALATION)
#: the report track's escalation comes this many days after the due day
REPORT_ESCALATION_DAYS = 14
#: the longest renewal notice (ck_agreements_renewal_notice_range)
MAX_NOTICE_DAYS = 3650
#: the two tracks: the date column each threshold is counted from
TRACKS = ("expiry", "report")

#: threshold → (badge, what the email says)
WORDS: dict[str, tuple[str, str]] = {
    "renewal-notice": ("Renewal notice", "Time to prepare the renewal"),
    "expiry-30": ("Expires in 30 days", "Expires in 30 days"),
    "expiry-7": ("Expires in 7 days", "Expires in 7 days"),
    "expired": ("Expired", "Expired and not renewed"),
    "report-30": ("Report in 30 days", "A report is due in 30 days"),
    "report-due": ("Report due", "A report is due today"),
    "report-overdue": ("Report overdue", "The report is 14 days overdue"),
}


@dataclass(frozen=True)
class Threshold:
    name: str
    day: date
    escalation: bool = False


def thresholds(track: str, on: date, renewal_notice_days: int = 90) -> list[Threshold]:
    """The thresholds of a track counted from `on` (expires_on or next_report_due_on), in
    order of their day; a renewal notice of 30 or 7 days is the 30- or 7-day reminder."""
    if track == "report":
        return [Threshold("report-30", on - timedelta(days=30)),
                Threshold("report-due", on),
                Threshold("report-overdue", on + timedelta(days=REPORT_ESCALATION_DAYS), True)]
    steps = [Threshold("expiry-30", on - timedelta(days=30)),
             Threshold("expiry-7", on - timedelta(days=7)),
             Threshold("expired", on + timedelta(days=1), True)]
    if renewal_notice_days not in (30, 7):
        steps.append(Threshold("renewal-notice", on - timedelta(days=renewal_notice_days)))
    return sorted(steps, key=lambda step: (step.day, step.escalation))


def latest_passed(steps: list[Threshold], now: datetime, hour: int,
                  tz: str | None) -> Threshold | None:
    """The last threshold whose moment (`hour`:00 local on its day) is at or before `now`."""
    passed = [step for step in steps if timeutil.local_day_at(step.day, hour, tz) <= now]
    return passed[-1] if passed else None


def dedupe_key(agreement_id: int, threshold: str, on: date,
               recipient_id: int | None = None) -> str:
    key = f"agreement:{agreement_id}:{threshold}:{on.isoformat()}"
    return f"{key}:{recipient_id}" if recipient_id is not None else key


def _candidates_stmt(track: str, now: datetime) -> Select:
    """Live agreements of a track whose first threshold may have come (read through the
    track's partial index; the exact day is checked in Python, in the owner's zone)."""
    owner = aliased(User)
    column = Agreement.expires_on if track == "expiry" else Agreement.next_report_due_on
    # local dates are at most a day ahead of UTC's
    horizon = now.date() + timedelta(days=2)
    stmt = (select(Agreement.id, column, Agreement.renewal_notice_days, Agreement.sensitivity,
                   Partner.sensitivity, Partner.owner_id, owner.active, owner.timezone,
                   Partner.region)
            .join(Partner, Partner.id == Agreement.partner_id)
            .outerjoin(owner, owner.id == Partner.owner_id)
            .where(Agreement.status.in_(LIVE_STATUSES), column.is_not(None)))
    if track == "report":
        return stmt.where(column <= horizon + timedelta(days=30)).order_by(Agreement.id)
    # the index range: no renewal notice is longer than MAX_NOTICE_DAYS (a CHECK says so)
    stmt = stmt.where(column <= horizon + timedelta(days=MAX_NOTICE_DAYS))
    if db.session.get_bind().dialect.name == "postgresql":
        # date - integer is a date on PostgreSQL: the renewal-notice day has come
        return stmt.where(column - Agreement.renewal_notice_days <= horizon).order_by(
            Agreement.id)
    return stmt.order_by(Agreement.id)


def _recipients(escalation: bool, secret_level: bool, owner_id: int | None,
                owner_active: bool | None, region: str,
                managers: list[tuple[int, str | None]], admins: list[int]) -> list[int]:
    """Who gets a threshold: the owner, else (and for escalations) the covering managers,
    else the admins; a confidential agreement's escalation goes to the admins only."""
    if not escalation and owner_id and owner_active:
        return [owner_id]
    if secret_level:
        return admins
    covering = [uid for uid, scope in managers if scope in (None, region)]
    return covering or admins


def due_rows(now: datetime, *, hour: int, batch_key: Callable[[int, datetime], str]) -> list[dict]:
    """The ledger rows of every agreement threshold owed at `now` (for deliveries.insert_ignore)."""
    owed = []
    for track in TRACKS:
        for (agreement_id, on, notice, sensitivity, partner_sensitivity, owner_id,
             owner_active, tz, region) in db.session.execute(_candidates_stmt(track, now)):
            zone = tz if owner_id and owner_active else None
            step = latest_passed(thresholds(track, on, notice), now, hour, zone)
            if step is None:
                continue
            confidential = "confidential" in (sensitivity, partner_sensitivity)
            owed.append((agreement_id, track, on, step, confidential, owner_id, owner_active,
                         region))
    if not owed:
        return []
    staff = db.session.execute(select(User.id, User.role, User.region_scope).where(
        User.active.is_(True), User.role.in_(("manager", "admin")))).all()
    managers = [(uid, scope) for uid, role, scope in staff if role == "manager"]
    admins = [uid for uid, role, _scope in staff if role == "admin"]
    rows = []
    for agreement_id, track, on, step, confidential, owner_id, owner_active, region in owed:
        recipients = _recipients(step.escalation, confidential, owner_id, owner_active, region,
                                 managers, admins)
        to_owner = recipients == [owner_id] and not step.escalation
        kind = ESCALATION if step.escalation else REMINDER
        for recipient in recipients:
            rows.append({
                "kind": kind,
                "dedupe_key": dedupe_key(agreement_id, step.name, on,
                                         None if to_owner else recipient),
                "recipient_id": recipient, "batch_key": batch_key(recipient, now),
                "payload": {"agreement_id": agreement_id, "track": track,
                            "threshold": step.name, "on": on.isoformat(),
                            "to": "owner" if to_owner else "team"}})
    return rows


# --- the email (rendered inside crm.services.reminders.render) -------------------------

def _on(agreement: Agreement, track: str) -> date | None:
    return agreement.expires_on if track == "expiry" else agreement.next_report_due_on


def _stale(row: Delivery, agreement: Agreement | None, recipient: User,
           visible: set[int]) -> str | None:
    payload = row.payload or {}
    if agreement is None:
        return "agreement deleted"
    if agreement.status not in LIVE_STATUSES:
        return f"agreement {agreement.status}"
    on = _on(agreement, payload.get("track", ""))
    if on is None or on.isoformat() != payload.get("on"):
        return "agreement date changed"
    if payload.get("to") == "owner" and agreement.partner.owner_id != recipient.id:
        return "partner has another owner"
    if agreement.id not in visible:
        return "recipient can no longer see the agreement"
    return None


def items(rows: list[Delivery], recipient: User,
          settings: deliveries.MailSettings) -> list[dict[str, Any]]:
    """What the email says about each agreement row still worth sending; stale rows are
    closed unsent (crm.services.deliveries.skip). Two statements for the whole batch."""
    ids = {int((row.payload or {}).get("agreement_id", 0)) for row in rows}
    found = {a.id: a for a in db.session.scalars(
        select(Agreement).options(joinedload(Agreement.partner).joinedload(Partner.owner))
        .where(Agreement.id.in_(ids))).unique()}
    visible = set(db.session.scalars(access.visible_agreements(
        recipient, select(Agreement.id).where(Agreement.id.in_(ids)))))
    out = []
    for row in rows:
        payload = row.payload or {}
        agreement = found.get(int(payload.get("agreement_id", 0)))
        reason = _stale(row, agreement, recipient, visible)
        if reason:
            deliveries.skip(row, reason)
            continue
        partner = agreement.partner
        badge, headline = WORDS.get(payload.get("threshold", ""), ("Agreement", "Needs you"))
        out.append({
            "kind": row.kind,
            "threshold": payload.get("threshold"),
            "badge": badge,
            "headline": headline,
            "secret": outside.is_secret(agreement.sensitivity, partner.sensitivity),
            "label": outside.agreement_label(agreement.title, agreement.sensitivity,
                                             partner.name, partner.sensitivity),
            "partner": outside.partner_name(partner.name, partner.sensitivity),
            "owner": partner.owner.name if row.kind == ESCALATION and partner.owner else None,
            "date_label": "Expires" if payload.get("track") == "expiry" else "Report due",
            "on": _on(agreement, payload.get("track", "")),
            "url": urls.agreement_url(settings.base_url, agreement.id),
        })
    return out
