"""/api/v1/interactions: list (partner_id, since, until), log (with a follow-up), change."""

from __future__ import annotations

from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.models import Contact, Interaction, User
from crm.services import access, interactions

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
from .partners import load as load_partner
from .records import get_and_patch
from .schemas import (
    InteractionFilters,
    InteractionIn,
    InteractionOut,
    InteractionPatch,
    list_schema,
)

InteractionList = list_schema(InteractionOut, "InteractionList")


def _load_options(user: User) -> tuple:
    """Eager contacts and staff; `contacts` holds only those `user` may see (a confidential
    contact present at a standard meeting is not named by its id). Still one SELECT per
    relationship for the whole page: the visibility scope is a subquery of that SELECT."""
    seen = access.visible_contacts(user, select(Contact.id)).correlate(None)
    return (selectinload(Interaction.contacts.and_(Contact.id.in_(seen))),
            selectinload(Interaction.staff))


def load(interaction_id: int) -> Interaction:
    return visible(Interaction, interaction_id, *_load_options(current_user()))


@bp.route("/interactions", methods=["GET"], tags=["interactions"])
@bp.arguments(InteractionFilters, location="query", as_kwargs=False,
              unknown=RAISE)
@bp.response(200, InteractionList)
@documented_errors(bp, *READ_ERRORS)
def list_interactions(args: dict):
    """Interactions you may see, newest first; `since` inclusive, `until` exclusive."""
    stmt = access.visible_interactions(current_user())
    if "partner_id" in args:
        stmt = stmt.where(Interaction.partner_id == args["partner_id"])
    if "since" in args:
        stmt = stmt.where(Interaction.occurred_at >= args["since"])
    if "until" in args:
        stmt = stmt.where(Interaction.occurred_at < args["until"])
    stmt = stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
    return paginate(stmt, args, *_load_options(current_user()))


@bp.route("/interactions", methods=["POST"], tags=["interactions"])
@idempotent(bp)
@bp.arguments(InteractionIn)
@bp.response(201, InteractionOut, headers={**ETAG_HEADER, **REPLAYED_HEADER})
@documented_errors(bp, *WRITE_ERRORS)
def create_interaction(data: dict):
    """Log an interaction; `follow_up` is created in the same transaction."""
    partner = load_partner(data.pop("partner_id"))
    follow_up = data.pop("follow_up", None)
    interaction = interactions.log_interaction(current_user(), partner, data,
                                               follow_up=follow_up)
    return with_etag(load(interaction.id), 201)


get_and_patch("/interactions/<int:interaction_id>", name="interaction", tag="interactions",
              out=InteractionOut, patch=InteractionPatch, load=load,
              update=interactions.update_interaction)
