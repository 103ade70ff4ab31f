"""Retention: how long interactions are kept, per sensitivity, and the nightly run applying it.

The policy (site setting "retention") gives each sensitivity a number of years (None: kept
forever, the default, so nothing is destroyed until an admin decides) and an action:

- `redact`: the summary becomes "Redacted after N years", the outcome is cleared, the
  contacts present are unlinked and the audit trail's copies of the old summary and outcome
  are scrubbed; the interaction, its kind, partner, date and staff stay, so counts, the
  last-interaction dates and health do not move;
- `delete`: the interactions are first counted into `interaction_month_counts` (per UTC
  month, partner, sensitivity and kind; reports add those rows back), their audit values are
  scrubbed, follow-ups made from them are unlinked (kept), and then they are deleted.
  The partner's stored last-interaction dates are kept: they are a date, not the record.

**The boundary.** An interaction is past retention when it occurred at least N calendar
years before the run: ``occurred_at <= cutoff(at, N)``, where the cutoff is `at` with its UTC
year lowered by N (29 February becomes 28 February). An interaction exactly N years old is
past retention; one a second younger is kept. Both sides are instants, so no time zone can
move the boundary: the user's zone only labels the day an instant falls on. An interaction
logged at 23:30 on 15 January in Los Angeles (07:30 UTC on the 16th) is past a 10-year
retention from 07:30 UTC on 16 January ten years later (the nightly run of the 17th picks it
up), exactly as one logged at 23:30 on 15 January in Kiritimati (09:30 UTC on the 15th) is
past it from 09:30 UTC on the 15th. Counting calendar years in a local zone instead would
give one interaction several cutoffs (whose zone: the logger's, the admin's?) that differ
by the offset change between the two dates (an hour of DST, a whole day where a country
moved across the date line), for no gain to anyone.

`apply` runs in the caller's transaction (the CLI and the beat task commit), with set-based
statements over batches of BATCH interactions, and records one audit event
"retention.apply" with the counts per sensitivity and year (never any text). It is
idempotent: redacted rows are skipped, deleted rows are gone, so a second run changes
nothing and its event says zero. On PostgreSQL a transaction-scoped advisory lock makes a
second run started at the same moment wait for the first and then find nothing, so the
month counts are never added twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    cast,
    delete,
    desc,
    extract,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    AuditEvent,
    AuditValue,
    Contact,
    FollowUp,
    Interaction,
    InteractionMonthCount,
    User,
    agreement_contacts,
    interaction_contacts,
    interaction_staff,
)
from crm.models.enums import RETENTION_ACTIONS, SENSITIVITIES
from crm.models.settings import SiteSetting
from crm.services import access, audit
from crm.services.errors import ValidationError

SETTING_KEY = "retention"
#: interactions per statement (thousands, never one statement per row)
BATCH = 2000
#: the most years a policy may name
MAX_YEARS = 100
YEARS_MESSAGE = (f"Enter a whole number of years from 1 to {MAX_YEARS}, "
                 "or leave it empty to keep forever.")
#: the audit fields whose values an interaction's redaction or deletion scrubs
TEXT_FIELDS = ("summary", "outcome")
#: the pg_advisory_xact_lock key ("retent" in ASCII) that keeps two runs from overlapping
LOCK_KEY = 0x7265_7465_6E74
#: when the nightly beat entry "apply-retention" runs (UTC; tasks/schedule.py reads it)
NIGHTLY_AT = time(2, 30)


@dataclass(frozen=True)
class Rule:
    """One sensitivity's retention: `years` None keeps forever."""

    years: int | None = None
    action: str = "redact"

    def as_dict(self) -> dict[str, Any]:
        return {"years": self.years, "action": self.action}


Policy = dict[str, Rule]


def default_policy() -> Policy:
    """Forever for every sensitivity: nothing is destroyed until an admin decides."""
    return {s: Rule() for s in SENSITIVITIES}


# --- the policy -------------------------------------------------------------------------

def parse_years(value: Any) -> int | None:
    """A whole number of years from 1 to MAX_YEARS, or None for "forever" (empty).

    Raises ValueError with the message shown beside the field.
    """
    text_value = "" if value is None else str(value).strip()
    if not text_value:
        return None
    if not (text_value.isascii() and text_value.isdigit()):
        raise ValueError(YEARS_MESSAGE)
    # a 5,000-digit string would make int() itself refuse (Python's digit limit)
    years = int(text_value) if len(text_value) <= 4 else MAX_YEARS + 1
    if not 1 <= years <= MAX_YEARS:
        raise ValueError(YEARS_MESSAGE)
    return years


def parse_policy(raw: dict[str, Any]) -> Policy:
    """A policy from `{"<sensitivity>_years": …, "<sensitivity>_action": …}`; ValidationError
    naming each bad field."""
    errors: dict[str, str] = {}
    policy: Policy = {}
    for sensitivity in SENSITIVITIES:
        years = None
        try:
            years = parse_years(raw.get(f"{sensitivity}_years"))
        except ValueError as exc:
            errors[f"{sensitivity}_years"] = str(exc)
        action = raw.get(f"{sensitivity}_action") or "redact"
        if action not in RETENTION_ACTIONS:
            errors[f"{sensitivity}_action"] = "Choose redact or delete."
        policy[sensitivity] = Rule(years, action)
    if errors:
        raise ValidationError(errors)
    return policy


def get_policy() -> Policy:
    """The stored policy (the default for anything not stored or no longer valid)."""
    setting = db.session.get(SiteSetting, SETTING_KEY)
    stored = (setting.value or {}) if setting else {}
    policy = default_policy()
    for sensitivity in SENSITIVITIES:
        entry = stored.get(sensitivity)
        if not isinstance(entry, dict):
            continue
        try:
            years = parse_years(entry.get("years"))
        except ValueError:
            continue
        action = entry.get("action")
        policy[sensitivity] = Rule(years, action if action in RETENTION_ACTIONS else "redact")
    return policy


def set_policy(actor: User, policy: Policy) -> bool:
    """Store `policy`; audited as "retention.policy" with old → new. False when unchanged."""
    old = get_policy()
    old_flat = {f"{s}_{k}": v for s, rule in old.items() for k, v in rule.as_dict().items()}
    new_flat = {f"{s}_{k}": v for s, rule in policy.items() for k, v in rule.as_dict().items()}
    changes = audit.diff(old_flat, new_flat)
    if not changes:
        return False
    setting = db.session.get(SiteSetting, SETTING_KEY)
    if setting is None:
        setting = SiteSetting(key=SETTING_KEY)
        db.session.add(setting)
    setting.value = {s: rule.as_dict() for s, rule in policy.items()}
    audit.record("retention.policy", actor=actor, object_type="site_setting",
                 object_id=SETTING_KEY, changes=changes)
    db.session.flush()
    return True


# --- the boundary -----------------------------------------------------------------------

def cutoff(at: datetime, years: int) -> datetime:
    """`at` moved back `years` calendar years on the UTC calendar (29 Feb → 28 Feb): an
    interaction that occurred at or before it is past retention."""
    at = at.astimezone(UTC)
    try:
        return at.replace(year=at.year - years)
    except ValueError:  # 29 February in a year without one
        return at.replace(year=at.year - years, day=28)


def _due(sensitivity: str, rule: Rule, at: datetime) -> ColumnElement[bool]:
    """SQL: the interactions of `sensitivity` the rule acts on at `at`."""
    assert rule.years is not None
    parts = [Interaction.sensitivity == sensitivity,
             Interaction.occurred_at <= cutoff(at, rule.years)]
    if rule.action == "redact":
        parts.append(Interaction.redacted_at.is_(None))
    return and_(*parts)


def _year(column) -> ColumnElement[int]:
    """The UTC year of a timestamp column on PostgreSQL and SQLite alike."""
    if db.engine.dialect.name == "postgresql":
        return cast(extract("year", func.timezone("UTC", column)), Integer)
    return cast(func.strftime("%Y", column), Integer)


def next_run(now: datetime) -> datetime:
    """The first nightly run at or after `now`."""
    now = now.astimezone(UTC)
    today = datetime.combine(now.date(), NIGHTLY_AT, tzinfo=UTC)
    return today if today >= now else today + timedelta(days=1)


def redaction_text(years: int) -> str:
    return f"Redacted after {years} year{'' if years == 1 else 's'}"


# --- plan and apply ---------------------------------------------------------------------

def _empty_counts(policy: Policy) -> dict[str, dict[str, Any]]:
    return {s: {"action": rule.action, "years": rule.years, "total": 0, "by_year": {}}
            for s, rule in policy.items()}


def plan(at: datetime, policy: Policy | None = None) -> dict[str, dict[str, Any]]:
    """What `apply(at)` would change: per sensitivity its action, years, total and
    {occurred year (UTC): count}. One grouped statement per sensitivity that has a period."""
    policy = policy or get_policy()
    counts = _empty_counts(policy)
    for sensitivity, rule in policy.items():
        if rule.years is None:
            continue
        year = _year(Interaction.occurred_at)
        stmt = (select(year, func.count()).where(_due(sensitivity, rule, at))
                .group_by(year).order_by(year))
        for occurred_year, n in db.session.execute(stmt):
            _add(counts[sensitivity], int(occurred_year), int(n))
    return counts


def _add(entry: dict[str, Any], year: int, n: int) -> None:
    key = str(year)
    entry["by_year"][key] = entry["by_year"].get(key, 0) + n
    entry["total"] += n


def apply(at: datetime | None = None, *, dry_run: bool = False,
          policy: Policy | None = None) -> dict[str, dict[str, Any]]:
    """Redact or delete every interaction past its retention at `at` (now by default).

    Returns the counts (as `plan`). Flushes in the caller's transaction and records one
    "retention.apply" audit event; `dry_run` changes nothing and records nothing.
    """
    at = (at or timeutil.now_utc()).astimezone(UTC)
    policy = policy or get_policy()
    if dry_run:
        return plan(at, policy)
    session = db.session
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    counts = _empty_counts(policy)
    now = timeutil.now_utc()
    for sensitivity, rule in policy.items():
        if rule.years is None:
            continue
        due = _due(sensitivity, rule, at)
        step = _redact_batch if rule.action == "redact" else _delete_batch
        while True:
            rows = session.execute(
                select(Interaction.id, Interaction.occurred_at, Interaction.partner_id,
                       Interaction.kind).where(due).order_by(Interaction.id).limit(BATCH)).all()
            if not rows:
                break
            step(rows, sensitivity, rule, now)
            for _id, occurred_at, _pid, _kind in rows:
                _add(counts[sensitivity], occurred_at.astimezone(UTC).year, 1)
    session.expire_all()  # loaded interactions may be redacted or gone
    audit.record("retention.apply", actor=None, object_type="site_setting",
                 object_id=SETTING_KEY, details={"at": at, "counts": counts})
    session.flush()
    return counts


def _scrub_text(ids: list[int], now: datetime) -> None:
    """Scrub the audit trail's copies of these interactions' summaries and outcomes (the
    only change the database allows to audit_values)."""
    db.session.execute(
        update(AuditValue)
        .where(AuditValue.object_type == "interaction",
               AuditValue.object_id.in_([str(i) for i in ids]),
               AuditValue.field.in_(TEXT_FIELDS), AuditValue.erased_at.is_(None))
        .values(value=None, erased_at=now)
        .execution_options(synchronize_session=False))


def _redact_batch(rows, sensitivity: str, rule: Rule, now: datetime) -> None:
    ids = [row[0] for row in rows]
    assert rule.years is not None
    db.session.execute(
        update(Interaction).where(Interaction.id.in_(ids))
        .values(summary=redaction_text(rule.years), outcome=None, redacted_at=now,
                version=Interaction.version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.execute(delete(interaction_contacts)
                       .where(interaction_contacts.c.interaction_id.in_(ids)))
    _scrub_text(ids, now)


def _month(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def _delete_batch(rows, sensitivity: str, rule: Rule, now: datetime) -> None:
    ids = [row[0] for row in rows]
    months = Counter((_month(at), pid, sensitivity, kind) for _id, at, pid, kind in rows)
    _count_into_months(months)
    _scrub_text(ids, now)
    db.session.execute(update(FollowUp).where(FollowUp.interaction_id.in_(ids))
                       .values(interaction_id=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(interaction_contacts)
                       .where(interaction_contacts.c.interaction_id.in_(ids)))
    db.session.execute(delete(interaction_staff)
                       .where(interaction_staff.c.interaction_id.in_(ids)))
    db.session.execute(delete(Interaction).where(Interaction.id.in_(ids))
                       .execution_options(synchronize_session=False))


def _count_into_months(months: Counter) -> None:
    """Add the counts to interaction_month_counts: one upsert (INSERT … ON CONFLICT DO
    UPDATE, on PostgreSQL and SQLite alike) for the whole batch."""
    if not months:
        return
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = InteractionMonthCount.__table__
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.month, table.c.partner_id, table.c.sensitivity, table.c.kind],
        set_={"count": table.c.count + stmt.excluded.count})
    db.session.execute(stmt, [
        {"month": month, "partner_id": pid, "sensitivity": sens, "kind": kind, "count": n}
        for (month, pid, sens, kind), n in months.items()])


def last_run() -> AuditEvent | None:
    """The latest "retention.apply" event (when the policy was last applied, and its counts)."""
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.apply")
        .order_by(desc(AuditEvent.at), desc(AuditEvent.id)).limit(1)).first()


# --- contacts offered for erasure --------------------------------------------------------

def erasure_candidates(user: User, at: datetime | None = None, policy: Policy | None = None):
    """A statement for the contacts to offer for erasure: not erased, present at no
    interaction (none left), signing no agreement (the agreement keeps them relevant), and
    unchanged for their sensitivity's retention period (never offered when that sensitivity
    keeps forever). Oldest change first."""
    at = at or timeutil.now_utc()
    policy = policy or get_policy()
    quiet = [and_(Contact.sensitivity == s, Contact.updated_at <= cutoff(at, rule.years))
             for s, rule in policy.items() if rule.years is not None]
    attended = (select(interaction_contacts.c.contact_id)
                .where(interaction_contacts.c.contact_id == Contact.id).exists())
    signs = (select(agreement_contacts.c.contact_id)
             .where(agreement_contacts.c.contact_id == Contact.id).exists())
    condition = or_(*quiet) if quiet else false()
    return (access.visible_contacts(user)
            .where(Contact.erased_at.is_(None), ~attended, ~signs, condition)
            .order_by(Contact.updated_at, Contact.id))


def offers_erasure(policy: Policy | None = None) -> bool:
    """Whether any sensitivity has a retention period (else no contact is ever offered)."""
    return any(rule.years is not None for rule in (policy or get_policy()).values())
