"""Follow-ups: create, complete, snooze, reschedule, reassign, cancel, and "My follow-ups".

Every change bumps `version` and writes an audit event with old → new values in the
same transaction. Services flush; the caller commits.

`completed_at` is the moment a follow-up was *closed*: set when it is marked done and
also when it is cancelled, so the partner timeline can place both events in time
(`status` tells which it was).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, joinedload

from crm.extensions import db
from crm.lib import timeutil
from crm.models import FollowUp, Interaction, Partner, User
from crm.services import access, audit, records

from .errors import ConflictError, ValidationError
from .validation import check_sensitivity, parse_id

TITLE_MAX = 300
#: a follow-up cannot be due before this (nor more than MAX_AHEAD from now)
EARLIEST_DUE = datetime(1990, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=366 * 5)
#: the local hour a date-only due date or snooze stands for (a morning reminder)
DUE_HOUR = 9
#: ordered groups of "My follow-ups"
GROUPS = ("overdue", "today", "this_week", "later")
#: the audited columns of a follow-up
_FIELDS = ("title", "due_at", "assignee_id", "status", "completed_at", "snoozed_until",
           "interaction_id", "sensitivity")
#: safety cap on one list (a person's open follow-ups are far fewer in practice)
LIST_LIMIT = 2000


def _snapshot(fu: FollowUp) -> dict[str, Any]:
    return {name: getattr(fu, name) for name in _FIELDS}


def check_due_at(value: Any, field: str = "due_at", *, now: datetime | None = None) -> datetime:
    """An aware datetime between 1990 and five years ahead, else ValidationError on `field`."""
    if not isinstance(value, datetime):
        raise ValidationError({field: "Enter a date and time."})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError({field: "The time must carry a time zone."})
    now = now or timeutil.now_utc()
    if value < EARLIEST_DUE:
        raise ValidationError({field: "The date must be in 1990 or later."})
    if value > now + MAX_AHEAD:
        raise ValidationError({field: "The date must be within the next five years."})
    return value.astimezone(UTC)


#: one refusal for every unusable assignee: naming the user, or saying whether the id is
#: unknown, inactive, read-only or outside the partner's circle, would turn the field into
#: a directory of users, roles and access (the API takes raw ids)
ASSIGNEE_REFUSED = "Choose an active colleague who can see this partner."


def check_assignee(partner: Partner, assignee_id: Any, field: str = "assignee_id") -> User:
    """The assignee: an active, non-viewer user who can see the partner."""
    user_id = parse_id(assignee_id, field)
    if user_id is None:
        raise ValidationError({field: "Choose who will do it."})
    user = db.session.get(User, user_id)
    if (user is None or not user.active or not user.can_write
            or not access.can_see_partner(user, partner.id)):
        raise ValidationError({field: ASSIGNEE_REFUSED})
    return user


def _check_title(value: Any, field: str = "title") -> str:
    title = (value or "").strip() if isinstance(value, str) else ""
    if not title:
        raise ValidationError({field: "Say what needs doing."})
    if len(title) > TITLE_MAX:
        raise ValidationError({field: f"Keep the title under {TITLE_MAX} characters."})
    return title


def validate_follow_up(actor: User, partner: Partner, data: dict,
                       prefix: str = "") -> dict[str, Any]:
    """Check new follow-up data without writing; errors are keyed `prefix + field`.

    The assignee defaults to `actor`. Used by `create_follow_up` and by
    `interactions.log_interaction` before it writes anything.
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    checks = (
        ("title", lambda: _check_title(data.get("title"), prefix + "title")),
        ("due_at", lambda: check_due_at(data.get("due_at"), prefix + "due_at")),
        ("assignee", lambda: check_assignee(
            partner, data.get("assignee_id") or actor.id, prefix + "assignee_id")),
        ("interaction", lambda: _check_interaction(partner, data.get("interaction_id"),
                                                   prefix + "interaction_id")),
        ("sensitivity", lambda: check_sensitivity(data.get("sensitivity"),
                                                  prefix + "sensitivity", optional=True)),
    )
    for key, check in checks:
        try:
            clean[key] = check()
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    interaction = clean.pop("interaction")
    clean["interaction_id"] = interaction[0] if interaction else None
    # never below its partner's and its interaction's; higher when asked
    clean["sensitivity"] = access.strictest(
        partner.sensitivity, interaction[1] if interaction else None, clean["sensitivity"])
    return clean


def _check_interaction(partner: Partner, value: Any, field: str) -> tuple[int, str] | None:
    """(id, sensitivity) of an interaction with this partner, or None when not given."""
    interaction_id = parse_id(value, field)
    if interaction_id is None:
        return None
    row = db.session.execute(select(Interaction.partner_id, Interaction.sensitivity).where(
        Interaction.id == interaction_id)).first()
    if row is None or row.partner_id != partner.id:
        raise ValidationError({field: "That interaction is not with this partner."})
    return interaction_id, row.sensitivity


def create_follow_up(actor: User, partner: Partner, data: dict) -> FollowUp:
    """Create an open follow-up (title, due_at, assignee_id, optional interaction_id)."""
    access.ensure_can_write(actor)
    if not access.can_see_partner(actor, partner.id):
        raise access.NotVisible("Partner")
    clean = validate_follow_up(actor, partner, data)
    fu = FollowUp(title=clean["title"], partner_id=partner.id, due_at=clean["due_at"],
                  assignee_id=clean["assignee"].id, created_by_id=actor.id,
                  interaction_id=clean["interaction_id"], sensitivity=clean["sensitivity"],
                  status="open", version=1)
    db.session.add(fu)
    db.session.flush()
    audit.record("follow_up.create", actor=actor, object_type="follow_up", object_id=fu.id,
                 changes=audit.diff({}, _snapshot(fu)), details={"partner_id": partner.id})
    return fu


def _change(actor: User, fu: FollowUp, action: str, **values: Any) -> FollowUp:
    """Apply `values`, bump the version and audit old → new (nothing if nothing changed)."""
    access.ensure_can_write(actor)

    def apply() -> None:
        for name, value in values.items():
            setattr(fu, name, value)

    records.update_audited(actor, fu, action, object_type="follow_up",
                           snapshot=lambda: _snapshot(fu), apply=apply,
                           effects=lambda _changes: db.session.flush(),
                           details={"partner_id": fu.partner_id}, flush=None)
    return fu


def _ensure_open(fu: FollowUp) -> None:
    if fu.status != "open":
        raise ConflictError(f"This follow-up is already {fu.status}.")


def complete(actor: User, fu: FollowUp) -> FollowUp:
    """Mark done. Completing a done follow-up again changes nothing (a double click)."""
    access.ensure_can_write(actor)
    if fu.status == "done":
        return fu
    _ensure_open(fu)
    return _change(actor, fu, "follow_up.complete", status="done",
                   completed_at=timeutil.now_utc())


#: the snooze choices offered everywhere (web menu, email link: a week), in days
SNOOZE_CHOICES = (1, 7)
#: how far one snooze may put a follow-up off
SNOOZE_MAX_DAYS = 366
#: how long after "Done" the Undo is accepted (the page offers it for a few seconds;
#: the server allows for a slow network, not for rewriting old history)
UNDO_WINDOW = timedelta(minutes=5)


def snooze_until(due_at: datetime, days: int, tz: str | None,
                 now: datetime | None = None) -> datetime:
    """The snooze rule: DUE_HOUR local on (the later of the due day and today) + `days`.

    So a snooze always moves a follow-up later by at least `days` calendar days in the
    user's zone: from its due day when that is still ahead, from today when it is overdue;
    never earlier than it was due, never a no-op. One rule for the web, the API and the
    reminder email's link.
    """
    today = timeutil.local_date(now or timeutil.now_utc(), tz)
    start = max(timeutil.local_date(due_at, tz), today)
    return local_due(start + timedelta(days=days), tz)


def snooze_for(actor: User, fu: FollowUp, days: Any, *,
               now: datetime | None = None) -> FollowUp:
    """Snooze by `days` (1 to SNOOZE_MAX_DAYS) under `snooze_until`'s rule, in the actor's zone."""
    if isinstance(days, bool) or not isinstance(days, int) or not (
            1 <= days <= SNOOZE_MAX_DAYS):
        raise ValidationError({"days": f"Snooze by 1 to {SNOOZE_MAX_DAYS} days."})
    access.ensure_can_write(actor)
    _ensure_open(fu)
    return snooze(actor, fu, snooze_until(fu.due_at, days, actor.timezone, now), now=now)


def snooze(actor: User, fu: FollowUp, until: datetime, *,
           now: datetime | None = None) -> FollowUp:
    """Put off until `until`: sets `snoozed_until` AND moves `due_at` to `until`.

    `until` must be in the future and after the current due time (a snooze never brings
    a follow-up forward: that is a reschedule). Moving `due_at` is deliberate: reminder
    dedupe keys include the due time, so the reminders re-arm for the new date instead of
    being swallowed as already sent.
    """
    access.ensure_can_write(actor)
    _ensure_open(fu)
    now = now or timeutil.now_utc()
    until = check_due_at(until, "until", now=now)
    if until <= now:
        raise ValidationError({"until": "Snooze to a moment in the future."})
    if until <= fu.due_at:
        due = timeutil.to_local(fu.due_at, actor.timezone)
        raise ValidationError({"until": f"It is already due {due:%a %d %b %Y}: snooze to a "
                                        "later day (a snooze never brings it forward)."})
    return _change(actor, fu, "follow_up.snooze", snoozed_until=until, due_at=until)


def reschedule(actor: User, fu: FollowUp, due_at: datetime) -> FollowUp:
    """Set a new due date (clears any snooze)."""
    access.ensure_can_write(actor)
    _ensure_open(fu)
    due_at = check_due_at(due_at, "due_at")
    return _change(actor, fu, "follow_up.reschedule", due_at=due_at, snoozed_until=None)


def reassign(actor: User, fu: FollowUp, assignee_id: Any) -> FollowUp:
    """Hand the follow-up to another active, non-viewer user who can see the partner."""
    access.ensure_can_write(actor)
    _ensure_open(fu)
    partner = db.session.get(Partner, fu.partner_id)
    assignee = check_assignee(partner, assignee_id)
    return _change(actor, fu, "follow_up.reassign", assignee_id=assignee.id)


def cancel(actor: User, fu: FollowUp) -> FollowUp:
    """Close without doing it; `completed_at` records when it was closed."""
    access.ensure_can_write(actor)
    _ensure_open(fu)
    return _change(actor, fu, "follow_up.cancel", status="cancelled",
                   completed_at=timeutil.now_utc())


def reopen(actor: User, fu: FollowUp, *, now: datetime | None = None) -> FollowUp:
    """Undo "Done": open again, as it was (due date kept), within UNDO_WINDOW of completing."""
    access.ensure_can_write(actor)
    if fu.status == "open":
        return fu  # a double click on Undo
    if fu.status != "done":
        raise ConflictError(f"This follow-up is {fu.status}: only Done can be undone.")
    now = now or timeutil.now_utc()
    if fu.completed_at is None or now - fu.completed_at > UNDO_WINDOW:
        raise ConflictError("Too late to undo: it was marked done more than "
                            f"{int(UNDO_WINDOW.total_seconds() // 60)} minutes ago.")
    return _change(actor, fu, "follow_up.reopen", status="open", completed_at=None)


# --- lists ---------------------------------------------------------------------------

def local_due(day: date, tz: str | None) -> datetime:
    """A due *date* typed by a person means DUE_HOUR o'clock that day in their zone."""
    return timeutil.local_day_at(day, DUE_HOUR, tz)


def group_bounds(now: datetime, tz: str | None) -> tuple[datetime, datetime, datetime]:
    """(start of the local day, its end, end of the local ISO week) as UTC instants."""
    today = timeutil.local_date(now, tz)
    next_monday = today + timedelta(days=7 - today.weekday())
    return (timeutil.local_day_at(today, 0, tz),
            timeutil.local_day_at(today + timedelta(days=1), 0, tz),
            timeutil.local_day_at(next_monday, 0, tz))


def group(items: Iterable[FollowUp], now: datetime, tz: str | None) -> dict[str, list[FollowUp]]:
    """Split follow-ups (sorted by due_at) into overdue / today / this_week / later.

    Grouped by the user's local calendar day, as people think of due dates: overdue means
    due on an earlier day; today is the whole local day (something due at 09:00 is still
    "today" at 15:00); this week runs to the end of the local ISO week (Sunday night).
    """
    start_today, end_today, end_week = group_bounds(now, tz)
    groups: dict[str, list[FollowUp]] = {name: [] for name in GROUPS}
    for fu in items:
        if fu.due_at < start_today:
            groups["overdue"].append(fu)
        elif fu.due_at < end_today:
            groups["today"].append(fu)
        elif fu.due_at < end_week:
            groups["this_week"].append(fu)
        else:
            groups["later"].append(fu)
    return groups


def _open(user: User):
    return access.visible_follow_ups(user).where(FollowUp.status == "open")


def eager_options() -> tuple:
    """Loader options for a follow-up query scoped by `access` (Partner already joined)."""
    return (contains_eager(FollowUp.partner), joinedload(FollowUp.assignee))


def _with_people(stmt):
    """Eager partner (already joined by the visibility scope) and assignee, by due date."""
    return stmt.options(*eager_options()).order_by(FollowUp.due_at, FollowUp.id)


def my_follow_ups(user: User, now: datetime | None = None) -> dict[str, list[FollowUp]]:
    """The user's open follow-ups grouped in their time zone: one SQL statement.

    `partner` and `assignee` are loaded eagerly, so templates never query.
    """
    now = now or timeutil.now_utc()
    stmt = _with_people(_open(user).where(FollowUp.assignee_id == user.id)).limit(LIST_LIMIT)
    items = db.session.scalars(stmt).unique().all()
    return group(items, now, user.timezone)


def counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """How many open follow-ups the user has, in total and per group of "My follow-ups".

    One statement (COUNT … FILTER), the same scope and the same local-day bounds as
    `my_follow_ups`, so a badge and the page it leads to never disagree.
    """
    start_today, end_today, end_week = group_bounds(now or timeutil.now_utc(), user.timezone)
    due = FollowUp.due_at
    stmt = _open(user).where(FollowUp.assignee_id == user.id).with_only_columns(
        func.count(FollowUp.id),
        func.count(FollowUp.id).filter(due < start_today),
        func.count(FollowUp.id).filter(due >= start_today, due < end_today),
        func.count(FollowUp.id).filter(due >= end_today, due < end_week),
        func.count(FollowUp.id).filter(due >= end_week),
    )
    total, *per_group = db.session.execute(stmt).one()
    return {"total": total, **dict(zip(GROUPS, per_group, strict=True))}


def team_overdue(user: User, now: datetime | None = None,
                 limit: int = 200) -> tuple[list[FollowUp], int]:
    """For managers and admins: the team's overdue follow-ups they may see, and the total.

    Overdue as in "My follow-ups": due before today in the viewer's time zone.

    A manager with a region scope sees the overdue items of partners in that region.
    Two statements (the page and the count) whatever the number of rows.
    """
    stmt = _team_overdue(user, now)
    total = db.session.scalar(stmt.with_only_columns(func.count(FollowUp.id))) or 0
    items = db.session.scalars(_with_people(stmt).limit(limit)).unique().all()
    return list(items), total


def team_overdue_count(user: User, now: datetime | None = None) -> int:
    """The heading of the team's overdue list, refreshed after an action on one of its rows."""
    stmt = _team_overdue(user, now)
    return db.session.scalar(stmt.with_only_columns(func.count(FollowUp.id))) or 0


def _team_overdue(user: User, now: datetime | None) -> Select:
    if user.role not in ("manager", "admin"):
        raise access.Forbidden("managers and admins only")
    start_today = group_bounds(now or timeutil.now_utc(), user.timezone)[0]
    stmt = _open(user).where(FollowUp.due_at < start_today)
    if user.role == "manager" and user.region_scope:
        stmt = stmt.where(Partner.region == user.region_scope)
    return stmt


def assignable_users() -> list[User]:
    """Active, non-viewer users (a form's choices); the service re-checks on save."""
    stmt = select(User).where(User.active.is_(True), User.role != "viewer").order_by(User.name)
    return list(db.session.scalars(stmt))
