"""Visibility: the one module that decides which records a user may see (DESIGN.md §2).

`standard`: every signed-in user. `restricted`: the partner's owner and collaborators,
managers whose region scope covers the partner, admins. `confidential`: the owner and
admins. Viewers see `standard` only. Every list, page, search, count, export, API call
and digest scopes its query with these functions; nothing else re-implements the rule.
An invisible record is reported as missing (404), never as forbidden.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from crm.extensions import db
from crm.models import Contact, FollowUp, Interaction, Partner, User, partner_collaborators
from crm.models.enums import SENSITIVITY_RANK


class NotVisible(LookupError):
    """The record does not exist for this user (answer 404)."""


class Forbidden(PermissionError):
    """The user may see the record but not change it (answer 403)."""


def _is_collaborator(user_id: int) -> ColumnElement[bool]:
    return exists().where(
        partner_collaborators.c.partner_id == Partner.id,
        partner_collaborators.c.user_id == user_id,
    )


def sensitivity_clause(user: User, sensitivity: Any) -> ColumnElement[bool]:
    """SQL condition: `user` may see a record of `sensitivity` attached to `Partner`.

    The statement using it must have `Partner` in its FROM clause.
    """
    if user is None or not user.is_active:
        return false()
    if user.role == "admin":
        return true()
    if user.role == "viewer":
        return sensitivity == "standard"
    is_owner = Partner.owner_id == user.id
    insiders = [is_owner, _is_collaborator(user.id)]
    if user.role == "manager":
        insiders.append(true() if not user.region_scope else Partner.region == user.region_scope)
    return or_(
        sensitivity == "standard",
        and_(sensitivity == "restricted", or_(*insiders)),
        and_(sensitivity == "confidential", is_owner),
    )


def partner_clause(user: User) -> ColumnElement[bool]:
    return sensitivity_clause(user, Partner.sensitivity)


def visible_partners(user: User, stmt: Select | None = None) -> Select:
    stmt = select(Partner) if stmt is None else stmt
    return stmt.where(partner_clause(user))


def visible_interactions(user: User, stmt: Select | None = None) -> Select:
    """Interactions the user may read: both the partner and the interaction itself."""
    stmt = select(Interaction) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == Interaction.partner_id).where(
        partner_clause(user), sensitivity_clause(user, Interaction.sensitivity)
    )


def visible_contacts(user: User, stmt: Select | None = None) -> Select:
    stmt = select(Contact) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == Contact.partner_id).where(
        partner_clause(user), sensitivity_clause(user, Contact.sensitivity)
    )


def visible_follow_ups(user: User, stmt: Select | None = None) -> Select:
    """Follow-ups follow their partner's visibility; assignees always see their own."""
    stmt = select(FollowUp) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == FollowUp.partner_id).where(
        or_(partner_clause(user), FollowUp.assignee_id == user.id)
        if user.is_active and user.role != "viewer"
        else partner_clause(user)
    )


_SCOPERS = {
    Partner: visible_partners,
    Interaction: visible_interactions,
    Contact: visible_contacts,
    FollowUp: visible_follow_ups,
}


def get_visible(user: User, model: type, object_id: Any, *options: Any):
    """Load one record the user may see, or raise NotVisible."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        raise NotVisible(model.__name__) from None
    stmt = _SCOPERS[model](user, select(model)).where(model.id == object_id)
    if options:
        stmt = stmt.options(*options)
    obj = db.session.scalars(stmt).unique().first()
    if obj is None:
        raise NotVisible(model.__name__)
    return obj


def can_see_partner(user: User, partner_id: int) -> bool:
    stmt = visible_partners(user, select(Partner.id)).where(Partner.id == partner_id)
    return db.session.scalar(stmt) is not None


def ensure_can_write(user: User) -> None:
    """Viewers (and inactive users) change nothing."""
    if user is None or not user.is_active or not user.can_write:
        raise Forbidden("read-only account")


def at_least(sensitivity: str, floor: str) -> bool:
    """True when `sensitivity` is as strict as `floor` or stricter."""
    return SENSITIVITY_RANK[sensitivity] >= SENSITIVITY_RANK[floor]


def default_interaction_sensitivity(partner: Partner) -> str:
    """An interaction inherits its partner's; law enforcement starts at `restricted`."""
    if partner.sector == "law_enforcement" and not at_least(partner.sensitivity, "restricted"):
        return "restricted"
    return partner.sensitivity
