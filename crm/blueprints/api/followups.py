"""/api/v1/follow-ups: list (assignee_id, status, due_before), create, complete, snooze."""

from __future__ import annotations

from marshmallow import RAISE

from crm.models import FollowUp
from crm.services import access, followups

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
from .schemas import FollowUpCreate, FollowUpFilters, FollowUpOut, FollowUpSnooze, list_schema

FollowUpList = list_schema(FollowUpOut, "FollowUpList")


def load(follow_up_id: int) -> FollowUp:
    return visible(FollowUp, follow_up_id)


@bp.route("/follow-ups", methods=["GET"], tags=["follow-ups"])
@bp.arguments(FollowUpFilters, location="query", as_kwargs=False,
              unknown=RAISE)
@bp.response(200, FollowUpList)
@documented_errors(bp, *READ_ERRORS)
def list_follow_ups(args: dict):
    """Follow-ups you may see, soonest due first; `due_before` is exclusive."""
    stmt = access.visible_follow_ups(current_user())
    if "assignee_id" in args:
        stmt = stmt.where(FollowUp.assignee_id == args["assignee_id"])
    if "status" in args:
        stmt = stmt.where(FollowUp.status == args["status"])
    if "due_before" in args:
        stmt = stmt.where(FollowUp.due_at < args["due_before"])
    stmt = stmt.order_by(FollowUp.due_at, FollowUp.id)
    return paginate(stmt, args)


@bp.route("/follow-ups", methods=["POST"], tags=["follow-ups"])
@idempotent(bp)
@bp.arguments(FollowUpCreate)
@bp.response(201, FollowUpOut, headers={**ETAG_HEADER, **REPLAYED_HEADER})
@documented_errors(bp, *WRITE_ERRORS)
def create_follow_up(data: dict):
    """Create a follow-up for a partner (assignee defaults to you)."""
    partner = load_partner(data.pop("partner_id"))
    follow_up = followups.create_follow_up(current_user(), partner, data)
    return with_etag(load(follow_up.id), 201)


@bp.route("/follow-ups/<int:follow_up_id>/complete", methods=["POST"], tags=["follow-ups"])
@bp.response(200, FollowUpOut, headers=ETAG_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def complete_follow_up(follow_up_id: int):
    """Mark it done (again: no change; a cancelled one answers 409)."""
    follow_up = load(follow_up_id)
    followups.complete(current_user(), follow_up)
    return with_etag(load(follow_up_id))


@bp.route("/follow-ups/<int:follow_up_id>/snooze", methods=["POST"], tags=["follow-ups"])
@bp.arguments(FollowUpSnooze)
@bp.response(200, FollowUpOut, headers=ETAG_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def snooze_follow_up(data: dict, follow_up_id: int):
    """Put it off: `days` counts from its due day (from today, in your time zone, if it is
    overdue); `until` must be after its due time. Reminders re-arm for the new date."""
    follow_up = load(follow_up_id)
    if "days" in data:
        followups.snooze_for(current_user(), follow_up, data["days"])
    else:
        followups.snooze(current_user(), follow_up, data["until"])
    return with_etag(load(follow_up_id))
