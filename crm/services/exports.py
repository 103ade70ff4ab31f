"""CSV exports of partners, contacts and interactions: filtered as on screen, visible only.

The partner filters are the list page's (crm.services.partners.partner_query); contacts
and interactions are those of the partners that filter selects, further scoped by
crm.services.access (a contact or interaction can be stricter than its partner).
Rows are read with `yield_per`, so an export of any size streams in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from crm.extensions import db
from crm.lib import countries, timeutil
from crm.models import Contact, Interaction, Partner, User
from crm.services import access, audit, partners

from .errors import ValidationError

BATCH = 500
KINDS = ("partners", "contacts", "interactions")


@dataclass
class Export:
    """What a view needs to stream one export: the header, the rows, the count."""

    kind: str
    header: list[str]
    rows: Iterator[list[Any]]
    count: int
    filters: dict[str, str]


def _partner_ids(user: User, filters: Mapping[str, str]) -> Select:
    """Ids of the partners the list page would show (order dropped)."""
    return partners.partner_query(user, filters).with_only_columns(Partner.id).order_by(None)


def _count(stmt: Select) -> int:
    return int(db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0)


def _partner_rows(stmt: Select) -> Iterator[list[Any]]:
    owner = aliased(User)
    stmt = (stmt.add_columns(owner.name).outerjoin(owner, owner.id == Partner.owner_id)
            .options(selectinload(Partner.tags)).execution_options(yield_per=BATCH))
    for partner, owner_name in db.session.execute(stmt):
        yield [partner.id, partner.name, partner.sector, partner.country,
               countries.country_name(partner.country), partner.region, partner.stage,
               owner_name or "", partner.sensitivity, partner.website, partner.email,
               partner.is_member, ";".join(partner.tag_names), partner.last_interaction_seen,
               partner.archived, partner.description]


PARTNER_HEADER = ["id", "name", "sector", "country", "country_name", "region", "stage", "owner",
                  "sensitivity", "website", "email", "member", "tags", "last_interaction_at",
                  "archived", "description"]
CONTACT_HEADER = ["id", "partner_id", "partner", "name", "title", "email", "phone", "language",
                  "sensitivity", "notes"]
INTERACTION_HEADER = ["id", "partner_id", "partner", "kind", "occurred_at", "sensitivity",
                      "logged_by", "summary", "outcome"]


def _contact_rows(stmt: Select) -> Iterator[list[Any]]:
    for contact, partner_name in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        yield [contact.id, contact.partner_id, partner_name, contact.name, contact.title,
               contact.email, contact.phone, contact.language, contact.sensitivity,
               contact.notes]


def _interaction_rows(stmt: Select) -> Iterator[list[Any]]:
    for it, partner_name, logged_by in db.session.execute(
            stmt.execution_options(yield_per=BATCH)):
        yield [it.id, it.partner_id, partner_name, it.kind, it.occurred_at, it.sensitivity,
               logged_by or "", it.summary, it.outcome]


def _interaction_window(stmt: Select, filters: Mapping[str, str]) -> Select:
    for key, op in (("since", "ge"), ("until", "le")):
        raw = (filters.get(key) or "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationError({key: "Enter a date as YYYY-MM-DD."}) from None
        if op == "ge":
            bound = timeutil.local_to_utc(datetime.combine(day, time()), "UTC")
            stmt = stmt.where(Interaction.occurred_at >= bound)
        else:
            bound = timeutil.local_to_utc(datetime.combine(day, time.max), "UTC")
            stmt = stmt.where(Interaction.occurred_at <= bound)
    return stmt


def build(kind: str, user: User, filters: Mapping[str, str]) -> Export:
    """The export of `kind` for `user`, audited in the caller's transaction.

    Raises ValidationError for a bad filter (the caller answers 400).
    """
    if kind not in KINDS:
        raise ValidationError({"kind": "Unknown export."})
    used = {k: v for k, v in filters.items() if v not in (None, "")}
    if kind == "partners":
        stmt = partners.partner_query(user, filters)
        header, make_rows = PARTNER_HEADER, _partner_rows
    elif kind == "contacts":
        stmt = (access.visible_contacts(user, select(Contact, Partner.name))
                .where(Contact.partner_id.in_(_partner_ids(user, filters)),
                       Contact.archived.is_(False))
                .order_by(Partner.name_key, Contact.name, Contact.id))
        header, make_rows = CONTACT_HEADER, _contact_rows
    else:
        logger = aliased(User)
        stmt = (access.visible_interactions(user, select(Interaction, Partner.name, logger.name))
                .outerjoin(logger, logger.id == Interaction.logged_by_id)
                .where(Interaction.partner_id.in_(_partner_ids(user, filters)))
                .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()))
        stmt = _interaction_window(stmt, filters)
        header, make_rows = INTERACTION_HEADER, _interaction_rows
    count = _count(stmt)
    audit.record("export", actor=user, object_type=kind,
                 details={"filters": used, "rows": count, "format": "csv"})
    return Export(kind, header, make_rows(stmt), count, used)
