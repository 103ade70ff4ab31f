"""/api/v1/partners: list, create, read, change, archive."""

from __future__ import annotations

from marshmallow import RAISE
from sqlalchemy.orm import selectinload

from crm.models import Partner
from crm.services import partners

from . import bp
from .guard import current_user
from .helpers import (
    ETAG_HEADER,
    READ_ERRORS,
    WRITE_ERRORS,
    documented_errors,
    paginate,
    visible,
    with_etag,
)
from .idempotent import REPLAYED_HEADER, idempotent
from .records import get_and_patch
from .schemas import PartnerFilters, PartnerIn, PartnerOut, PartnerPatch, list_schema

LOAD = (selectinload(Partner.tags), selectinload(Partner.collaborators))
PartnerList = list_schema(PartnerOut, "PartnerList")


def load(partner_id: int) -> Partner:
    """A partner the token's user may see (404 otherwise), with what the response shows."""
    return visible(Partner, partner_id, *LOAD)


def _filters(args: dict) -> dict[str, str]:
    """The API's typed filters → the query-string form `partner_query` reads."""
    out: dict[str, str] = {}
    for key, value in args.items():
        if key in ("page", "per_page"):
            continue
        out[key] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return out


@bp.route("/partners", methods=["GET"], tags=["partners"])
@bp.arguments(PartnerFilters, location="query", as_kwargs=False,
              unknown=RAISE)
@bp.response(200, PartnerList)
@documented_errors(bp, *READ_ERRORS)
def list_partners(args: dict):
    """Partners you may see; archived ones only with archived=true."""
    stmt = partners.partner_query(current_user(), _filters(args))
    return paginate(stmt, args, *LOAD)


@bp.route("/partners", methods=["POST"], tags=["partners"])
@idempotent(bp)
@bp.arguments(PartnerIn)
@bp.response(201, PartnerOut, headers={**ETAG_HEADER, **REPLAYED_HEADER})
@documented_errors(bp, *WRITE_ERRORS)
def create_partner(data: dict):
    """Create a partner (owner defaults to you)."""
    partner = partners.create_partner(current_user(), data)
    return with_etag(load(partner.id), 201)


get_and_patch("/partners/<int:partner_id>", name="partner", tag="partners", out=PartnerOut,
              patch=PartnerPatch, load=load, update=partners.update_partner)


@bp.route("/partners/<int:partner_id>", methods=["DELETE"], tags=["partners"])
@bp.response(200, PartnerOut, headers=ETAG_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def archive_partner(partner_id: int):
    """Archive the partner (nothing is deleted); answers the archived record."""
    partner = load(partner_id)
    if not partner.archived:
        partners.archive_partner(current_user(), partner)
    return with_etag(load(partner_id))
