"""/api/v1/agreements: list (partner_id, kind, status, expires_before, report_due_before),
create, read, change (ETag / If-Match), a report received, The Code's criteria."""

from __future__ import annotations

from collections.abc import Iterable

from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.models import Agreement, Contact, agreement_contacts
from crm.services import access, agreements

from . import bp
from .guard import current_user
from .helpers import (
    ETAG_HEADER,
    IF_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    check_if_match,
    documented_errors,
    paginate,
    visible,
    with_etag,
)
from .idempotent import REPLAYED_HEADER, idempotent
from .partners import load as load_partner
from .records import get_and_patch
from .schemas import (
    AgreementFilters,
    AgreementIn,
    AgreementOut,
    AgreementPatch,
    CriterionPatch,
    ReportIn,
    ReportOut,
    list_schema,
)

LOAD = (selectinload(Agreement.staff), selectinload(Agreement.criteria))
AgreementList = list_schema(AgreementOut, "AgreementList")


def _with_visible_contacts(items: Iterable[Agreement]) -> None:
    """Each agreement's `visible_contact_ids`: its signatories the caller may see (one
    statement for the whole page)."""
    rows = list(items)
    found: dict[int, list[int]] = {a.id: [] for a in rows}
    if rows:
        stmt = access.visible_contacts(
            current_user(), select(agreement_contacts.c.agreement_id, Contact.id)).join(
            agreement_contacts, agreement_contacts.c.contact_id == Contact.id).where(
            agreement_contacts.c.agreement_id.in_(found))
        for agreement_id, contact_id in db.session.execute(stmt):
            found[agreement_id].append(contact_id)
    for a in rows:
        a.visible_contact_ids = found[a.id]


def load(agreement_id: int) -> Agreement:
    """An agreement the token's user may see (404 otherwise), with what the response shows."""
    agreement = visible(Agreement, agreement_id, *LOAD)
    _with_visible_contacts([agreement])
    return agreement


@bp.route("/agreements", methods=["GET"], tags=["agreements"])
@bp.arguments(AgreementFilters, location="query", as_kwargs=False, unknown=RAISE)
@bp.response(200, AgreementList)
@documented_errors(bp, *READ_ERRORS)
def list_agreements(args: dict):
    """Agreements you may see, by id; `expires_before` and `report_due_before` are
    exclusive."""
    stmt = access.visible_agreements(current_user())
    if "partner_id" in args:
        stmt = stmt.where(Agreement.partner_id == args["partner_id"])
    if "kind" in args:
        stmt = stmt.where(Agreement.kind == args["kind"])
    if "status" in args:
        stmt = stmt.where(Agreement.status == args["status"])
    if "expires_before" in args:
        stmt = stmt.where(Agreement.expires_on < args["expires_before"])
    if "report_due_before" in args:
        stmt = stmt.where(Agreement.next_report_due_on < args["report_due_before"])
    page = paginate(stmt.order_by(Agreement.id), args, *LOAD)
    _with_visible_contacts(page["items"])
    return page


@bp.route("/agreements", methods=["POST"], tags=["agreements"])
@idempotent(bp)
@bp.arguments(AgreementIn)
@bp.response(201, AgreementOut, headers={**ETAG_HEADER, **REPLAYED_HEADER})
@documented_errors(bp, *WRITE_ERRORS)
def create_agreement(data: dict):
    """Create an agreement with a partner you may see (The Code gets its six criteria and
    a 12-month reporting duty; sensitivity defaults to the partner's, restricted for an
    MoU with law enforcement)."""
    partner = load_partner(data.pop("partner_id"))
    agreement = agreements.create(current_user(), partner, data)
    return with_etag(load(agreement.id), 201)


get_and_patch("/agreements/<int:agreement_id>", name="agreement", tag="agreements",
              out=AgreementOut, patch=AgreementPatch, load=load, update=agreements.update)


@bp.route("/agreements/<int:agreement_id>/reports", methods=["POST"], tags=["agreements"])
@idempotent(bp)
@bp.arguments(ReportIn)
@bp.response(201, ReportOut, headers=REPLAYED_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def record_agreement_report(data: dict, agreement_id: int):
    """Record a report received (not in the future): it answers the current due date,
    and the next one is derived from it. A draft answers 409."""
    agreement = load(agreement_id)
    report = agreements.record_report(current_user(), agreement, data)
    set_committed_value(report, "agreement", agreement)
    return report, 201


@bp.route("/agreements/<int:agreement_id>/criteria/<int:number>", methods=["PATCH"],
          tags=["agreements"])
@bp.arguments(CriterionPatch)
@bp.response(200, AgreementOut, headers=ETAG_HEADER)
@bp.doc(parameters=[IF_MATCH])
@documented_errors(bp, *WRITE_ERRORS)
def update_agreement_criterion(data: dict, agreement_id: int, number: int):
    """Set one of The Code's criteria 1-6 (`status`, `note`); a number outside 1-6 or an
    agreement of another kind answers 422. Answers the agreement."""
    agreement = load(agreement_id)
    check_if_match(agreement)
    agreements.update_criterion(current_user(), agreement, number,
                                data.get("status", agreements.UNCHANGED),
                                data.get("note", agreements.UNCHANGED))
    return with_etag(load(agreement_id))
