"""Interactions: log and edit meetings, calls, emails … with a partner.

Logging keeps `partner.last_interaction_at` equal to the LATEST `occurred_at` of the
partner's interactions (not the latest saved) in the same transaction, and may create a
follow-up in that transaction too. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import attributes

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    Contact,
    FollowUp,
    Interaction,
    Partner,
    User,
    interaction_contacts,
    interaction_staff,
)
from crm.models.enums import INTERACTION_KINDS, SENSITIVITIES, SENSITIVITY_RANK
from crm.services import access, audit, followups, records, validation

from .errors import ValidationError

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: clocks differ and people log in other zones: up to a day ahead is accepted
FUTURE_SLACK = timedelta(days=1)
SUMMARY_MAX = 20_000
OUTCOME_MAX = 20_000
#: the fields a caller may set; anything else in `data` is ignored (no mass assignment)
EDITABLE = ("kind", "occurred_at", "summary", "outcome", "contact_ids", "staff_ids",
            "sensitivity")
_AUDITED = ("kind", "occurred_at", "summary", "outcome", "sensitivity", "contact_ids",
            "staff_ids")


# --- validation ----------------------------------------------------------------------

def _kind(value: Any) -> str:
    if value not in INTERACTION_KINDS:
        raise ValidationError({"kind": "Choose what kind of interaction it was."})
    return value


def _occurred_at(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError({"occurred_at": "Enter when it happened."})
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError({"occurred_at": "The time must carry a time zone."})
    if value < EARLIEST:
        raise ValidationError({"occurred_at": "The date must be in 1990 or later."})
    if value > timeutil.now_utc() + FUTURE_SLACK:
        raise ValidationError({"occurred_at": "The date cannot be in the future."})
    return value.astimezone(UTC)


def _text(value: Any, field: str, limit: int, *, required: bool) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise ValidationError({field: "Write a short summary of what was discussed."})
        return None
    if len(text) > limit:
        raise ValidationError({field: f"Keep this under {limit:,} characters."})
    return text


def _sensitivity(actor: User, value: Any, partner: Partner) -> str:
    """Never laxer than the partner, and never so strict that the author loses sight of it."""
    if value in (None, ""):
        return access.default_interaction_sensitivity(partner)
    validation.check_sensitivity(value)
    if not access.at_least(value, partner.sensitivity):
        raise ValidationError({"sensitivity": (
            f"This partner is {partner.sensitivity}: an interaction cannot be less sensitive.")})
    if value != partner.sensitivity:
        stmt = select(Partner.id).where(Partner.id == partner.id,
                                        access.sensitivity_clause(actor, literal(value)))
        if db.session.scalar(stmt) is None:
            raise ValidationError({"sensitivity": "With this sensitivity you could no longer "
                                                  "see this interaction; choose a lower one."})
    return value


def _ids(value: Any, field: str) -> list[int]:
    if value in (None, ""):
        return []
    if isinstance(value, str | int) or not isinstance(value, Iterable):
        value = [value]
    try:
        ids = sorted({int(v) for v in value if v not in (None, "")})
    except (TypeError, ValueError):
        raise ValidationError({field: "Choose from the list."}) from None
    if len(ids) > 200:
        raise ValidationError({field: "Choose at most 200."})
    return ids


def _contacts(actor: User, partner: Partner, value: Any,
              linked: Iterable[int] = ()) -> list[Contact]:
    """Contacts of this partner that the actor may see; anything else is refused. An erased
    contact may stay on an interaction it is `linked` to, never be added to one."""
    ids = _ids(value, "contact_ids")
    if not ids:
        return []
    stmt = access.visible_contacts(actor).where(
        Contact.id.in_(ids), Contact.partner_id == partner.id,
        or_(Contact.erased_at.is_(None), Contact.id.in_(list(linked))))
    found = list(db.session.scalars(stmt))
    if len(found) != len(ids):
        raise ValidationError({"contact_ids": "Choose people who work at this partner."})
    return found


def _staff(value: Any, keep: Iterable[int] = ()) -> list[User]:
    """Active colleagues; someone deactivated since may stay on an interaction (`keep`)."""
    ids = _ids(value, "staff_ids")
    if not ids:
        return []
    found = list(db.session.scalars(select(User).where(
        User.id.in_(ids), or_(User.active.is_(True), User.id.in_(list(keep))))))
    if len(found) != len(ids):
        raise ValidationError({"staff_ids": "Choose active colleagues."})
    return found


def _clean(actor: User, partner: Partner, data: dict, keys: Iterable[str],
           keep_staff: Iterable[int] = (), keep_contacts: Iterable[int] = ()) -> dict[str, Any]:
    """Validate the given keys, collecting every field's error at once."""
    checks = {
        "kind": lambda: _kind(data.get("kind")),
        "occurred_at": lambda: _occurred_at(data.get("occurred_at")),
        "summary": lambda: _text(data.get("summary"), "summary", SUMMARY_MAX, required=True),
        "outcome": lambda: _text(data.get("outcome"), "outcome", OUTCOME_MAX, required=False),
        "sensitivity": lambda: _sensitivity(actor, data.get("sensitivity"), partner),
        "contact_ids": lambda: _contacts(actor, partner, data.get("contact_ids"),
                                         keep_contacts),
        "staff_ids": lambda: _staff(data.get("staff_ids"), keep_staff),
    }
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in keys:
        try:
            clean[key] = checks[key]()
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return clean


# --- last_interaction_at --------------------------------------------------------------

_LEVEL_COLUMNS = {level: f"last_{level}_interaction_at" for level in SENSITIVITIES}


def _set_last(partner: Partner, values: dict[str, datetime | None]) -> None:
    """Reflect values written by SQL on the loaded object without another SELECT."""
    for name, value in values.items():
        attributes.set_committed_value(partner, name, value)


def _raise_last(partner: Partner, occurred_at: datetime, sensitivity: str) -> None:
    """last = max(last, occurred_at), overall and for the interaction's level, in one UPDATE.

    Safe under concurrent logging: PostgreSQL re-evaluates the CASE on the newest row
    version when two transactions update the same partner.
    """
    names = ("last_interaction_at", _LEVEL_COLUMNS[sensitivity])
    cols = [getattr(Partner, name) for name in names]
    stmt = (
        update(Partner).where(Partner.id == partner.id)
        .values({col: case((col.is_(None), occurred_at), (col < occurred_at, occurred_at),
                           else_=col) for col in cols})
        .returning(*cols)
        .execution_options(synchronize_session=False)
    )
    _set_last(partner, dict(zip(names, db.session.execute(stmt).one(), strict=True)))


def recompute_last_interaction(partner: Partner) -> datetime | None:
    """The latest occurred_at among the partner's interactions, overall and per level
    (after an edit moved a date or a sensitivity)."""
    def latest(*levels: str):
        return (select(func.max(Interaction.occurred_at))
                .where(Interaction.partner_id == partner.id,
                       Interaction.sensitivity.in_(levels)).scalar_subquery())

    values = {"last_interaction_at": latest(*SENSITIVITIES)}
    values.update({name: latest(level) for level, name in _LEVEL_COLUMNS.items()})
    stmt = (
        update(Partner).where(Partner.id == partner.id)
        .values(values)
        .returning(*(getattr(Partner, name) for name in values))
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(stmt).one()
    _set_last(partner, dict(zip(values, row, strict=True)))
    return row[0]


def raise_follow_ups(interaction: Interaction) -> None:
    """Its follow-ups are never less sensitive than the interaction (one UPDATE)."""
    floor = SENSITIVITY_RANK[interaction.sensitivity]
    lower = [s for s, rank in SENSITIVITY_RANK.items() if rank < floor]
    if lower:
        db.session.execute(
            update(FollowUp)
            .where(FollowUp.interaction_id == interaction.id, FollowUp.sensitivity.in_(lower))
            .values(sensitivity=interaction.sensitivity)
            .execution_options(synchronize_session="fetch"))


# --- writes ---------------------------------------------------------------------------

def _prefixed(exc: ValidationError, prefix: str) -> dict[str, str]:
    return {prefix + key: message for key, message in exc.fields.items()}


def check_log(actor: User, partner: Partner, data: dict,
              follow_up: dict | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Validate what `log_interaction` would write, writing nothing: (clean, follow-up clean)
    or one ValidationError with every field's message."""
    access.ensure_can_write(actor)
    if not access.can_see_partner(actor, partner.id):
        raise access.NotVisible("Partner")
    errors: dict[str, str] = {}
    if partner.archived:
        errors["partner_id"] = "This partner is archived; restore it before logging."
    clean = validation.collect(errors, _clean, actor, partner, data, EDITABLE) or {}
    fu_clean = None
    if follow_up is not None:
        fu_clean = validation.collect(errors, followups.validate_follow_up, actor, partner,
                                      follow_up, prefix="follow_up.")
    if errors:
        raise ValidationError(errors)
    return clean, fu_clean


def log_interaction(actor: User, partner: Partner, data: dict,
                    follow_up: dict | None = None) -> Interaction:
    """Log an interaction (and optionally its follow-up) in the caller's transaction.

    `data`: kind, occurred_at (aware), summary, outcome, contact_ids, staff_ids,
    sensitivity (defaults to the partner's; law enforcement → restricted). Follow-up
    errors are reported as `follow_up.title`, `follow_up.due_at`, `follow_up.assignee_id`.
    Everything is validated before anything is written (`check_log`).
    """
    clean, fu_clean = check_log(actor, partner, data, follow_up)
    interaction = Interaction(
        partner_id=partner.id, kind=clean["kind"], occurred_at=clean["occurred_at"],
        summary=clean["summary"], outcome=clean["outcome"], sensitivity=clean["sensitivity"],
        logged_by_id=actor.id, version=1,
    )
    interaction.contacts = clean["contact_ids"]
    interaction.staff = clean["staff_ids"]
    db.session.add(interaction)
    db.session.flush()
    _raise_last(partner, interaction.occurred_at, interaction.sensitivity)
    audit.record("interaction.create", actor=actor, object_type="interaction",
                 object_id=interaction.id, changes=audit.diff({}, _snapshot(interaction,
                 clean["contact_ids"], clean["staff_ids"])), details={"partner_id": partner.id})
    if fu_clean is not None:
        followups.create_follow_up(actor, partner, {**follow_up,
                                                    "assignee_id": fu_clean["assignee"].id,
                                                    "interaction_id": interaction.id})
    return interaction


def _snapshot(interaction: Interaction, contacts: list[Contact] | list[int],
              staff: list[User] | list[int]) -> dict[str, Any]:
    values = {name: getattr(interaction, name) for name in _AUDITED[:5]}
    values["contact_ids"] = sorted(getattr(c, "id", c) for c in contacts)
    values["staff_ids"] = sorted(getattr(u, "id", u) for u in staff)
    return values


def _current_ids(table, interaction_id: int, column) -> list[int]:
    return sorted(db.session.scalars(select(column).where(
        table.c.interaction_id == interaction_id)))


def _replace_links(table, interaction_id: int, column_name: str, ids: list[int]) -> None:
    db.session.execute(delete(table).where(table.c.interaction_id == interaction_id))
    if ids:
        db.session.execute(insert(table), [
            {"interaction_id": interaction_id, column_name: i} for i in ids])


def update_interaction(actor: User, interaction: Interaction, data: dict, *,
                       expected_version: int | None = None) -> Interaction:
    """Change the keys present in `data` (a PATCH); bump the version; audit old → new.

    Only EDITABLE keys are read. When `occurred_at` moves, the partner's
    `last_interaction_at` is recomputed from all its interactions. `expected_version`
    (the form's or the API's ETag) guards against overwriting someone else's edit.
    """
    access.ensure_can_write(actor)
    records.check_version(interaction, expected_version)
    partner = db.session.get(Partner, interaction.partner_id)
    old_contacts, old_staff = linked_ids(interaction)
    clean = _clean(actor, partner, data, [k for k in EDITABLE if k in data],
                   keep_staff=old_staff, keep_contacts=old_contacts)
    new_contacts = old_contacts
    if "contact_ids" in clean:
        # contacts the editor cannot see (raised to confidential since) and erased ones
        # (counts and reports stay right) stay linked
        new_contacts = sorted({c.id for c in clean["contact_ids"]}
                              | _kept_links(actor, old_contacts))
    new_staff = [u.id for u in clean["staff_ids"]] if "staff_ids" in clean else old_staff
    linked = {"contacts": old_contacts, "staff": old_staff}

    def apply() -> None:
        for key in ("kind", "occurred_at", "summary", "outcome", "sensitivity"):
            if key in clean:
                setattr(interaction, key, clean[key])
        linked.update(contacts=new_contacts, staff=new_staff)

    def may_lower(changes: dict[str, list]) -> None:
        if "sensitivity" in changes:
            access.ensure_may_lower(actor, partner, *changes["sensitivity"])

    def links_and_dates(changes: dict[str, list]) -> None:
        if new_contacts != old_contacts:
            _replace_links(interaction_contacts, interaction.id, "contact_id", new_contacts)
        if new_staff != old_staff:
            _replace_links(interaction_staff, interaction.id, "user_id", new_staff)
        for rel in ("contacts", "staff"):
            if rel in interaction.__dict__:
                db.session.expire(interaction, [rel])
        db.session.flush()
        if "occurred_at" in changes or "sensitivity" in changes:
            recompute_last_interaction(partner)
        if "sensitivity" in changes:
            raise_follow_ups(interaction)

    records.update_audited(actor, interaction, "interaction.update", object_type="interaction",
                           snapshot=lambda: _snapshot(interaction, linked["contacts"],
                                                      linked["staff"]),
                           apply=apply, guard=may_lower, effects=links_and_dates,
                           details={"partner_id": partner.id}, sensitivity_event=True,
                           flush=None)
    return interaction


def check_update(actor: User, interaction: Interaction, data: dict) -> dict[str, Any]:
    """Validate the keys of `data` as `update_interaction` would, writing nothing."""
    access.ensure_can_write(actor)
    partner = db.session.get(Partner, interaction.partner_id)
    contact_ids, staff_ids = linked_ids(interaction)
    return _clean(actor, partner, data, [k for k in EDITABLE if k in data],
                  keep_staff=staff_ids, keep_contacts=contact_ids)


def _kept_links(actor: User, contact_ids: list[int]) -> set[int]:
    """The linked contacts an edit cannot remove: hidden from the actor, or erased."""
    if not contact_ids:
        return set()
    seen = set(db.session.scalars(access.visible_contacts(actor, select(Contact.id))
                                  .where(Contact.id.in_(contact_ids),
                                         Contact.erased_at.is_(None))))
    return set(contact_ids) - seen


def linked_ids(interaction: Interaction) -> tuple[list[int], list[int]]:
    """(contact ids, staff ids) present at an interaction: two small queries."""
    return (_current_ids(interaction_contacts, interaction.id, interaction_contacts.c.contact_id),
            _current_ids(interaction_staff, interaction.id, interaction_staff.c.user_id))


# --- choices for forms ---------------------------------------------------------------

def contact_choices(actor: User, partner: Partner, include: Iterable[int] = ()) -> list[Contact]:
    """The partner's current contacts the actor may see, plus archived ones in `include`
    (already linked to the interaction being edited); never an erased one (its link stays
    without being offered: `update_interaction` keeps it). One query."""
    stmt = (access.visible_contacts(actor)
            .where(Contact.partner_id == partner.id, Contact.erased_at.is_(None),
                   or_(Contact.archived.is_(False), Contact.id.in_(list(include))))
            .order_by(Contact.name, Contact.id).limit(500))
    return list(db.session.scalars(stmt))


def partner_choices(actor: User, limit: int = 200) -> list[Partner]:
    """Visible, non-archived partners by name: the picker when no autocomplete exists."""
    stmt = (access.visible_partners(actor).where(Partner.archived.is_(False))
            .order_by(Partner.name_key, Partner.id).limit(limit))
    return list(db.session.scalars(stmt))


def staff_choices(include: Iterable[int] = ()) -> list[User]:
    """Active colleagues who may be listed as present, plus those in `include` (one query)."""
    return list(db.session.scalars(
        select(User).where(or_(User.active.is_(True), User.id.in_(list(include))))
        .order_by(User.name, User.id)))
