"""Follow-up reminders: what is due at `now`, computed from the database (docs/architecture.md).

Three reminders per follow-up and due time, each one ledger row with a dedupe key that
contains the due time (so snoozing or rescheduling re-arms them):

- `reminder_due`: REMINDER_HOUR:00 in the assignee's zone on the local due day;
- `reminder_overdue`: the next local morning, if still open;
- `reminder_escalation`: ESCALATION_DAYS local days after the due day, to the partner's owner
  (or, if the assignee is the owner or there is none, to the managers whose region scope
  covers the partner, else to the admins).

Nothing is dropped (issue 14): every open follow-up gets each reminder whose moment has
come, at the first sweep at or after that moment, however late (an outage, an import of
old follow-ups); the due-day reminder is skipped when the follow-up is already overdue
the first time a sweep sees it. `follow_ups.reminder_stage` / `reminded_due_at` record how
many of the three the sweep has settled for which due time (a new due time re-arms them);
the ledger's dedupe keys keep each reminder to one row whatever happens to the marker.

A sweep is a handful of statements whatever the number of follow-ups: one SELECT of the
candidates (the partial index ix_follow_ups_reminders_pending: open follow-ups with a
reminder still to settle, never the closed or fully reminded ones), one SELECT of the
possible escalation recipients (only when something escalates), one compiled
INSERT … ON CONFLICT DO NOTHING RETURNING id, batch_key and one compiled UPDATE of the
markers, each run as an executemany; plus the agreement reminders' two SELECTs (and one of
their recipients when something is owed: crm.services.agreement_reminders), whose rows join
the same INSERT and the same per-recipient batches.
All rows for one recipient in one sweep share a batch key and go out as one email (the
renderer below). The email names records only as crm.services.outside allows: a restricted
follow-up is "a follow-up with a restricted partner" and a link, whoever the recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import aliased, contains_eager, joinedload

from crm import mail, urls
from crm.extensions import db
from crm.lib import links, timeutil
from crm.models import Delivery, FollowUp, Partner, User
from crm.services import access, agreement_reminders, deliveries, followups, outside

KINDS = ("reminder_due", "reminder_overdue", "reminder_escalation")
#: the purpose of the signed action links in reminder emails
LINK_PURPOSE = "follow-up-action"
ACTIONS = ("done", "snooze")
#: the email's "Snooze a week" (the one snooze rule: followups.snooze_until)
SNOOZE_DAYS = 7


@dataclass(frozen=True)
class Schedule:
    """The three moments (UTC) a follow-up due at `due_at` is reminded, for one zone."""

    due: datetime
    overdue: datetime
    escalation: datetime


def schedule(due_at: datetime, tz: str | None, hour: int, escalation_days: int) -> Schedule:
    """Reminder moments at `hour`:00 local on the due day, the next day and N days later."""
    day: date = timeutil.local_date(due_at, tz)
    return Schedule(
        due=timeutil.local_day_at(day, hour, tz),
        overdue=timeutil.local_day_at(day + timedelta(days=1), hour, tz),
        escalation=timeutil.local_day_at(day + timedelta(days=escalation_days), hour, tz),
    )


def quiet_until(snoozed_until: datetime, tz: str | None) -> datetime:
    """A snooze silences reminders until the start of its local day (then they fire as usual)."""
    return timeutil.local_day_at(timeutil.local_date(snoozed_until, tz), 0, tz)


def dedupe_key(follow_up_id: int, kind: str, due_at: datetime,
               recipient_id: int | None = None) -> str:
    key = f"reminder:{follow_up_id}:{kind}:{due_at.isoformat()}"
    return f"{key}:{recipient_id}" if kind == "reminder_escalation" else key


def batch_key(recipient_id: int, now: datetime) -> str:
    """One email per recipient per sweep minute."""
    return f"reminders:{recipient_id}:{now:%Y%m%dT%H%M}"


def _pending():
    """The partial index's predicate (crm.models.followup.REMINDERS_PENDING), as a clause."""
    return and_(FollowUp.status == "open",
                or_(FollowUp.reminder_stage < len(KINDS), FollowUp.reminded_due_at.is_(None),
                    FollowUp.reminded_due_at != FollowUp.due_at))


def _candidates_stmt(now: datetime) -> Select:
    """Open follow-ups of active assignees with a reminder to settle whose first moment may
    have come: read through ix_follow_ups_reminders_pending, however old they are."""
    assignee = aliased(User)
    owner = aliased(User)
    stmt = (
        select(FollowUp.id, FollowUp.due_at, FollowUp.snoozed_until, FollowUp.assignee_id,
               FollowUp.reminder_stage, FollowUp.reminded_due_at, assignee.timezone,
               Partner.owner_id, owner.active, Partner.region)
        .join(assignee, assignee.id == FollowUp.assignee_id)
        .join(Partner, Partner.id == FollowUp.partner_id)
        .outerjoin(owner, owner.id == Partner.owner_id)
        .where(
            _pending(),
            # the due-day moment is at most a day after due_at, whatever the zone
            FollowUp.due_at <= now + timedelta(days=1),
            assignee.active.is_(True),
            # snoozed to a later day: nothing yet (the exact day is checked in Python)
            or_(FollowUp.snoozed_until.is_(None),
                FollowUp.snoozed_until <= now + timedelta(days=1)),
        )
        .order_by(FollowUp.id)  # concurrent sweeps lock rows in one order
    )
    return stmt


def _candidates(now: datetime) -> list:
    return list(db.session.execute(_candidates_stmt(now)).all())


def owed(moments: Schedule, now: datetime, settled: int) -> tuple[int, list[str]]:
    """(stage reached at `now`, the kinds to send now) given `settled` kinds already settled.

    The stage is how many of the three moments have come. Every kind whose moment has come
    and is not settled goes out now, except the due-day reminder once the follow-up is
    overdue (it is settled unsent: "overdue" says more).
    """
    reached = sum(moment <= now for moment in (moments.due, moments.overdue, moments.escalation))
    kinds = [KINDS[i] for i in range(settled, reached) if i > 0 or reached == 1]
    return max(reached, settled), kinds


def _escalation_recipients(owner_id: int | None, owner_active: bool | None, assignee_id: int,
                           region: str, managers: list[tuple[int, str | None]],
                           admins: list[int]) -> list[int]:
    if owner_id and owner_active and owner_id != assignee_id:
        return [owner_id]
    covering = [uid for uid, scope in managers if scope in (None, region) and uid != assignee_id]
    return covering or [uid for uid in admins if uid != assignee_id] or admins


def due_rows(now: datetime, *, hour: int, escalation_days: int) -> list[dict]:
    """The ledger rows (dicts for `deliveries.insert_ignore`) of every reminder owed at `now`."""
    return _owed_at(now, hour=hour, escalation_days=escalation_days)[0]


def _owed_at(now: datetime, *, hour: int,
             escalation_days: int) -> tuple[list[dict], list[dict]]:
    """`due_rows`, and the marker updates (fu_id, stage, due) recording what they settle."""
    rows: list[dict] = []
    marks: list[dict] = []
    escalations = []
    for (fu_id, due_at, snoozed, assignee_id, stage, reminded_due_at, tz, owner_id,
         owner_active, region) in _candidates(now):
        if snoozed and now < quiet_until(snoozed, tz):
            continue
        settled = stage if reminded_due_at == due_at else 0
        reached, kinds = owed(schedule(due_at, tz, hour, escalation_days), now, settled)
        if reached == settled and reminded_due_at == due_at:
            continue
        marks.append({"fu_id": fu_id, "stage": reached, "due": due_at})
        payload = {"follow_up_id": fu_id, "due_at": due_at.isoformat()}
        for kind in kinds:
            if kind == "reminder_escalation":
                escalations.append((fu_id, due_at, assignee_id, owner_id, owner_active, region,
                                    payload))
            else:
                rows.append(_row(kind, fu_id, due_at, assignee_id, now, payload))
    if escalations:
        staff = db.session.execute(select(User.id, User.role, User.region_scope).where(
            User.active.is_(True), User.role.in_(("manager", "admin")))).all()
        managers = [(uid, scope) for uid, role, scope in staff if role == "manager"]
        admins = [uid for uid, role, _scope in staff if role == "admin"]
        for fu_id, due_at, assignee_id, owner_id, owner_active, region, payload in escalations:
            for recipient in _escalation_recipients(owner_id, owner_active, assignee_id,
                                                    region, managers, admins):
                rows.append(_row("reminder_escalation", fu_id, due_at, recipient, now,
                                 {**payload, "assignee_id": assignee_id}))
    return rows, marks


def _mark(marks: list[dict]) -> None:
    """Record what the sweep settled: ONE compiled UPDATE run as an executemany.

    The marker names the due time it is for, so a follow-up snoozed or rescheduled while
    the sweep ran stays armed for its new due time. updated_at is kept: a sweep is not an
    edit (the API's ETags and "last changed" do not move).
    """
    if not marks:
        return
    table = FollowUp.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("fu_id"))
        .values(reminder_stage=bindparam("stage"), reminded_due_at=bindparam("due"),
                updated_at=table.c.updated_at),
        marks)


def _row(kind: str, fu_id: int, due_at: datetime, recipient_id: int, now: datetime,
         payload: dict) -> dict:
    return {"kind": kind, "dedupe_key": dedupe_key(fu_id, kind, due_at, recipient_id),
            "recipient_id": recipient_id, "batch_key": batch_key(recipient_id, now),
            "payload": payload}


def sweep(now: datetime, *, hour: int, escalation_days: int) -> list[list[int]]:
    """Insert the reminders due at `now` (insert-or-ignore); the new row ids, one list per email.

    Flushes only: the caller (crm.jobs) commits, then enqueues the send task per list.
    """
    rows, marks = _owed_at(now, hour=hour, escalation_days=escalation_days)
    # agreements' expiry and report reminders join the same INSERT and per-recipient batches
    rows += agreement_reminders.due_rows(now, hour=hour, batch_key=batch_key)
    # stamped with the wall clock, not `now`: stuck-row detection compares against it
    batches = deliveries.insert_ignore_batches(rows)
    _mark(marks)
    return batches


# --- "Upcoming reminders" ------------------------------------------------------------

def upcoming_for(user: User, now: datetime, *, hour: int = 8, escalation_days: int = 7,
                 horizon: timedelta = timedelta(days=14)) -> list[dict[str, Any]]:
    """The user's next reminder per open follow-up due within `horizon` (soonest first).

    Scoped by `access.visible_follow_ups`: a user demoted to viewer no longer reads
    restricted titles here, and an assignee who lost a partner sees `partner_hidden`.
    """
    stmt = (access.visible_follow_ups(user).options(contains_eager(FollowUp.partner))
            .where(FollowUp.assignee_id == user.id, FollowUp.status == "open",
                   FollowUp.due_at <= now + horizon,
                   FollowUp.due_at >= now - timedelta(days=escalation_days + 2))
            .order_by(FollowUp.due_at))
    items = []
    for fu in db.session.scalars(stmt):
        moments = schedule(fu.due_at, user.timezone, hour, escalation_days)
        for kind, moment in (("reminder_due", moments.due),
                             ("reminder_overdue", moments.overdue)):
            if moment > now and (fu.snoozed_until is None
                                 or moment >= quiet_until(fu.snoozed_until, user.timezone)):
                items.append({"follow_up": fu, "kind": kind, "at": moment,
                              "local": timeutil.to_local(moment, user.timezone),
                              "due_local": timeutil.to_local(fu.due_at, user.timezone)})
                break
    return sorted(items, key=lambda item: item["at"])


# --- the email ---------------------------------------------------------------------

def action_link(settings: deliveries.MailSettings, follow_up_id: int, user_id: int,
                action: str) -> str:
    """A signed "done"/"snooze" link for the assignee (single use, confirmed on a page)."""
    token = links.make(settings.secret_key, LINK_PURPOSE,
                       {"fu": follow_up_id, "uid": user_id, "action": action})
    return urls.follow_up_action_url(settings.base_url, token)


def _subject(items: list[dict], agreements: list[dict] | None = None) -> str:
    if agreements:
        if not items:
            return ("An agreement needs your attention" if len(agreements) == 1
                    else f"{len(agreements)} agreements need your attention")
        fus = "follow-up" if len(items) == 1 else "follow-ups"
        ags = "agreement" if len(agreements) == 1 else "agreements"
        return f"{len(items)} {fus} and {len(agreements)} {ags} need you"
    kinds = {item["kind"] for item in items}
    if kinds == {"reminder_escalation"}:
        noun = "overdue follow-up needs" if len(items) == 1 else "overdue follow-ups need"
        return f"{len(items)} {noun} your attention"
    if len(items) == 1:
        return {"reminder_due": "A follow-up is due today",
                "reminder_overdue": "A follow-up is overdue"}.get(items[0]["kind"],
                                                                 "A follow-up needs you")
    return f"{len(items)} follow-ups need you"


def render(rows: list[Delivery], settings: deliveries.MailSettings) -> mail.Email | None:
    """One email listing every reminder of the batch still worth sending (the renderer of
    the three reminder kinds and of the agreement reminders in crm.services.emails: the
    sweep batches both per recipient).

    Re-checks at send time: a follow-up done, cancelled or moved since the sweep is
    dropped (its row closed unsent), so is an agreement renewed, terminated, re-dated or
    no longer visible to the recipient (crm.services.agreement_reminders.items); an
    inactive recipient gets nothing.
    """
    recipient = db.session.get(User, rows[0].recipient_id) if rows[0].recipient_id else None
    if recipient is None or not recipient.active:
        for row in rows:
            deliveries.skip(row, "recipient inactive or gone")
        return None
    agreement_rows = [row for row in rows if row.kind in agreement_reminders.KINDS]
    agreements = (agreement_reminders.items(agreement_rows, recipient, settings)
                  if agreement_rows else [])
    rows = [row for row in rows if row.kind not in agreement_reminders.KINDS]
    ids = [int((row.payload or {}).get("follow_up_id", 0)) for row in rows]
    found = {fu.id: fu for fu in db.session.scalars(
        select(FollowUp)
        .options(joinedload(FollowUp.partner), joinedload(FollowUp.assignee))
        .where(FollowUp.id.in_(ids))).unique()} if ids else {}
    items = []
    for row in rows:
        fu = found.get(int((row.payload or {}).get("follow_up_id", 0)))
        reason = _stale(row, fu)
        if reason:
            deliveries.skip(row, reason)
            continue
        items.append(_item(row, fu, recipient, settings))
    if not items and not agreements:
        return None
    subject = _subject(items, agreements)
    return mail.Email(
        to=recipient.email, to_name=recipient.name, subject=subject,
        template="reminder",
        context={"name": recipient.name, "items": items, "agreements": agreements,
                 "subject": subject},
        headers={"X-CRM-Kind": "reminder"})


def _stale(row: Delivery, fu: FollowUp | None) -> str | None:
    if fu is None:
        return "follow-up deleted"
    if fu.status != "open":
        return f"follow-up {fu.status}"
    if fu.due_at.isoformat() != (row.payload or {}).get("due_at"):
        return "follow-up rescheduled"
    if row.kind != "reminder_escalation" and fu.assignee_id != row.recipient_id:
        return "follow-up reassigned"
    return None


def _item(row: Delivery, fu: FollowUp, recipient: User,
          settings: deliveries.MailSettings) -> dict[str, Any]:
    """What the email says about one follow-up: names only as `outside` allows (rule 11)."""
    partner = fu.partner
    item: dict[str, Any] = {
        "kind": row.kind,
        "secret": outside.is_secret(fu.sensitivity, partner.sensitivity),
        "label": outside.follow_up_label(fu.title, fu.sensitivity, partner.name,
                                         partner.sensitivity),
        "partner": outside.partner_name(partner.name, partner.sensitivity),
        "assignee": fu.assignee.name if fu.assignee else None,
        "url": urls.partner_url(settings.base_url, fu.partner_id, follow_up_id=fu.id),
        "due_local": timeutil.to_local(fu.due_at, recipient.timezone),
    }
    if row.kind != "reminder_escalation":  # actions are the assignee's to take
        item.update(done_url=action_link(settings, fu.id, recipient.id, "done"),
                    snooze_url=action_link(settings, fu.id, recipient.id, "snooze"))
    return item


# --- the email's action links ----------------------------------------------------------

class ActionRefused(ValueError):
    """The link is fine but the action no longer applies; `reason` is shown to the person."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class ActionTarget:
    """What an action link points at, loaded for the confirmation page and the POST."""

    action: str
    follow_up: FollowUp
    user: User
    secret: bool

    @property
    def snooze_until(self) -> datetime:
        """Where "Snooze a week" would put it now (the same rule as the web and the API)."""
        return followups.snooze_until(self.follow_up.due_at, SNOOZE_DAYS, self.user.timezone)


def action_target(data: Mapping[str, Any]) -> ActionTarget:
    """The follow-up and assignee of a verified link payload, or ActionRefused."""
    action = data.get("action")
    fu = db.session.scalar(select(FollowUp).options(joinedload(FollowUp.partner))
                           .where(FollowUp.id == int(data.get("fu") or 0)))
    user = db.session.get(User, int(data.get("uid") or 0))
    if action not in ACTIONS or fu is None or user is None:
        raise ActionRefused("This link does not point at a follow-up any more.")
    if not user.active or fu.assignee_id != user.id:
        raise ActionRefused("This follow-up is no longer assigned to you.")
    if fu.status != "open":
        raise ActionRefused(f"This follow-up is already {fu.status}.")
    return ActionTarget(action=action, follow_up=fu, user=user,
                        secret=outside.is_secret(fu.sensitivity, fu.partner.sensitivity))


def apply_action(target: ActionTarget) -> FollowUp:
    """Mark done or snooze a week, as the assignee (audited by the follow-up service)."""
    if target.action == "done":
        return followups.complete(target.user, target.follow_up)
    return followups.snooze_for(target.user, target.follow_up, SNOOZE_DAYS)
