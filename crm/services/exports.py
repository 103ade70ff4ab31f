"""CSV exports of partners, contacts, interactions and agreements: filtered as on screen,
visible only.

The partner filters are the list page's (crm.services.partners.partner_query); contacts,
interactions and agreements are those of the partners that filter selects, further scoped
by crm.services.access (a contact, interaction or agreement can be stricter than its
partner).
Rows are read with `yield_per`, so an export of any size streams in constant memory.
Cells are for people and programs alike: a code column is followed by its label, and times
are in the reader's zone (ISO 8601 with the offset, to the second).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from crm.extensions import db
from crm.lib import countries, timeutil, when
from crm.models import Agreement, Contact, Interaction, Partner, User
from crm.models.enums import label
from crm.services import access, audit, partners

from .errors import ValidationError

BATCH = 500
KINDS = ("partners", "contacts", "interactions", "agreements")


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


def _partner_rows(stmt: Select, tz: str) -> Iterator[list[Any]]:
    owner = aliased(User)
    stmt = (stmt.add_columns(owner.name).outerjoin(owner, owner.id == Partner.owner_id)
            .options(selectinload(Partner.tags)).execution_options(yield_per=BATCH))
    for partner, owner_name in db.session.execute(stmt):
        yield [partner.id, partner.name, partner.sector, label(partner.sector), partner.country,
               countries.country_name(partner.country), partner.region, partner.stage,
               label(partner.stage), owner_name or "", partner.sensitivity, partner.website,
               partner.email, partner.is_member, ";".join(partner.tag_names),
               timeutil.iso_local(partner.last_interaction_seen, tz), partner.archived,
               partner.description]


#: Each code column (sector, stage, kind, country) is followed by its label for people
#: (`sector_label`, …); times are ISO 8601 in the reader's zone with its offset.
PARTNER_HEADER = ["id", "name", "sector", "sector_label", "country", "country_name", "region",
                  "stage", "stage_label", "owner", "sensitivity", "website", "email", "member",
                  "tags", "last_interaction_at", "archived", "description"]
CONTACT_HEADER = ["id", "partner_id", "partner", "name", "title", "email", "phone", "language",
                  "sensitivity", "notes", "do_not_contact", "lawful_basis", "lawful_basis_on"]
INTERACTION_HEADER = ["id", "partner_id", "partner", "kind", "kind_label", "occurred_at",
                      "sensitivity", "logged_by", "summary", "outcome"]
#: dates are calendar days (YYYY-MM-DD), as entered
AGREEMENT_HEADER = ["id", "partner_id", "partner", "kind", "kind_label", "title", "status",
                    "signed_on", "starts_on", "expires_on", "renewal_notice_days",
                    "reporting_every_months", "last_report_on", "next_report_due_on",
                    "sensitivity", "document_ref", "successor_id", "terminated_on",
                    "termination_reason", "notes"]


def _contact_rows(stmt: Select, tz: str) -> Iterator[list[Any]]:
    for contact, partner_name in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        yield [contact.id, contact.partner_id, partner_name, contact.name, contact.title,
               contact.email, contact.phone, contact.language, contact.sensitivity,
               contact.notes, contact.do_not_contact, contact.lawful_basis,
               contact.lawful_basis_on]


def _interaction_rows(stmt: Select, tz: str) -> Iterator[list[Any]]:
    for it, partner_name, logged_by in db.session.execute(
            stmt.execution_options(yield_per=BATCH)):
        yield [it.id, it.partner_id, partner_name, it.kind, label(it.kind),
               timeutil.iso_local(it.occurred_at, tz), it.sensitivity, logged_by or "",
               it.summary, it.outcome]


def _agreement_rows(stmt: Select, tz: str) -> Iterator[list[Any]]:
    def day(value) -> str:
        return value.isoformat() if value else ""

    for a, partner_name in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        yield [a.id, a.partner_id, partner_name, a.kind, label(a.kind), a.title, a.status,
               day(a.signed_on), day(a.starts_on), day(a.expires_on), a.renewal_notice_days,
               a.reporting_every_months or "", day(a.last_report_on),
               day(a.next_report_due_on), a.sensitivity, a.document_ref or "",
               a.successor_id or "", day(a.terminated_on), a.termination_reason or "",
               a.notes or ""]


def _interaction_window(stmt: Select, filters: Mapping[str, str], tz: str) -> Select:
    """`since` / `until` are whole days in the reader's zone, both included."""
    for key in ("since", "until"):
        raw = (filters.get(key) or "").strip()
        if not raw:
            continue
        try:
            day = when.iso_day(raw)
        except ValueError:
            raise ValidationError({key: "Enter a date as YYYY-MM-DD."}) from None
        if key == "since":
            stmt = stmt.where(Interaction.occurred_at >= timeutil.local_to_utc(
                datetime.combine(day, time()), tz))
        else:
            stmt = stmt.where(Interaction.occurred_at < timeutil.local_to_utc(
                datetime.combine(day + timedelta(days=1), time()), tz))
    return stmt


def filename(kind: str, tz: str | None, now: datetime | None = None) -> str:
    """`partners-20261203-0905.csv`: the reader's local date and time, not UTC's."""
    local = timeutil.to_local(now or timeutil.now_utc(), tz)
    return f"{kind}-{local:%Y%m%d-%H%M}.csv"


def build(kind: str, user: User, filters: Mapping[str, str]) -> Export:
    """The export of `kind` for `user`, audited in the caller's transaction.

    Raises ValidationError for a bad filter (the caller answers 400).
    """
    if kind not in KINDS:
        raise ValidationError({"kind": "Unknown export."})
    used = {k: v for k, v in filters.items() if v not in (None, "")}
    tz = user.timezone or "UTC"
    if kind == "partners":
        stmt = partners.partner_query(user, filters)
        header, make_rows = PARTNER_HEADER, _partner_rows
    elif kind == "contacts":
        stmt = (access.visible_contacts(user, select(Contact, Partner.name))
                .where(Contact.partner_id.in_(_partner_ids(user, filters)),
                       Contact.archived.is_(False), Contact.erased_at.is_(None))
                .order_by(Partner.name_key, Contact.name, Contact.id))
        header, make_rows = CONTACT_HEADER, _contact_rows
    elif kind == "agreements":
        stmt = (access.visible_agreements(user, select(Agreement, Partner.name))
                .where(Agreement.partner_id.in_(_partner_ids(user, filters)))
                .order_by(Partner.name_key, Agreement.expires_on.asc().nulls_last(),
                          Agreement.id))
        header, make_rows = AGREEMENT_HEADER, _agreement_rows
    else:
        logger = aliased(User)
        stmt = (access.visible_interactions(user, select(Interaction, Partner.name, logger.name))
                .outerjoin(logger, logger.id == Interaction.logged_by_id)
                .where(Interaction.partner_id.in_(_partner_ids(user, filters)))
                .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()))
        stmt = _interaction_window(stmt, filters, tz)
        header, make_rows = INTERACTION_HEADER, _interaction_rows
    count = _count(stmt)
    audit.record("export", actor=user, object_type=kind,
                 details={"filters": used, "rows": count, "format": "csv"})
    return Export(kind, header, make_rows(stmt, tz), count, used)
