"""Visibility: the one module that decides which records a user may see (docs/domain.md).

`standard`: every signed-in user. `restricted`: the partner's owner and collaborators,
managers whose region scope covers the partner, admins. `confidential`: the owner and
admins. Viewers see `standard` only. Every list, page, search, count, export, API call
and digest scopes its query with these functions; nothing else re-implements the rule.
An invisible record is reported as missing (404), never as forbidden.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Select,
    and_,
    case,
    exists,
    false,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, with_expression
from sqlalchemy.sql.functions import coalesce

from crm.extensions import db
from crm.lib import safetext
from crm.models import (
    Agreement,
    Contact,
    FollowUp,
    Interaction,
    InteractionMonthCount,
    Partner,
    User,
    partner_collaborators,
)
from crm.models.enums import SENSITIVITY_RANK


class NotVisible(LookupError):
    """The record does not exist for this user (answer 404)."""


class Forbidden(PermissionError):
    """The user may see the record but not change it (answer 403).

    `message`, when given, is shown to the user instead of the generic refusal.
    """

    def __init__(self, *args: Any, message: str | None = None) -> None:
        super().__init__(*args)
        self.message = message


def _is_collaborator(user_id: int, partner: Any = Partner) -> ColumnElement[bool]:
    return exists().where(
        partner_collaborators.c.partner_id == partner.id,
        partner_collaborators.c.user_id == user_id,
    )


def level_clause(user: User, level: str, partner: Any = Partner) -> ColumnElement[bool]:
    """SQL condition: `user` may see a record of the fixed `level` attached to `partner`
    (the `Partner` entity, or an alias of it, in the statement's FROM clause)."""
    if user is None or not user.is_active:
        return false()
    if user.role == "admin" or level == "standard":
        return true()
    if user.role == "viewer":
        return false()
    is_owner = partner.owner_id == user.id
    if level == "confidential":
        return is_owner
    insiders = [is_owner, _is_collaborator(user.id, partner)]
    if user.role == "manager":
        insiders.append(true() if not user.region_scope else partner.region == user.region_scope)
    return or_(*insiders)


def sensitivity_clause(user: User, sensitivity: Any, partner: Any = Partner) -> ColumnElement[bool]:
    """SQL condition: `user` may see a record whose sensitivity column is `sensitivity`.

    The statement using it must have `partner` (`Partner` or an alias) in its FROM clause.
    """
    if user is None or not user.is_active:
        return false()
    if user.role == "admin":
        return true()
    return or_(*(and_(sensitivity == level, level_clause(user, level, partner))
                 for level in SENSITIVITY_RANK))


def partner_clause(user: User, partner: Any = Partner) -> ColumnElement[bool]:
    return sensitivity_clause(user, partner.sensitivity, partner)


def _partner_hidden(user: User) -> ColumnElement[bool]:
    """SQL: the follow-up's partner is not visible to `user`, as a self-contained correlated
    subquery (an alias, not the statement's joined `Partner`), so that SQLAlchemy can re-run
    it when it refreshes an expired follow-up without a cartesian product."""
    seen = aliased(Partner)
    return ~exists().where(seen.id == FollowUp.partner_id, partner_clause(user, seen))


def visible_partners(user: User, stmt: Select | None = None) -> Select:
    """Partners the user may see; loaded partners carry `last_interaction_seen` for them."""
    stmt = select(Partner) if stmt is None else stmt
    if any(d.get("type") is Partner and d.get("expr") is Partner
           for d in stmt.column_descriptions):
        stmt = with_last_interaction_seen(user, stmt)
    return stmt.where(partner_clause(user))


def visible_interactions(user: User, stmt: Select | None = None) -> Select:
    """Interactions the user may read: both the partner and the interaction itself."""
    stmt = select(Interaction) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == Interaction.partner_id).where(
        partner_clause(user), sensitivity_clause(user, Interaction.sensitivity)
    )


def visible_month_counts(user: User, stmt: Select | None = None) -> Select:
    """Retention's monthly counts of deleted interactions that the user may count: the rule
    of the interactions they stand for (the partner, and their own sensitivity)."""
    stmt = select(InteractionMonthCount) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == InteractionMonthCount.partner_id).where(
        partner_clause(user), sensitivity_clause(user, InteractionMonthCount.sensitivity)
    )


def visible_agreements(user: User, stmt: Select | None = None) -> Select:
    """Agreements the user may see: the partner, at the agreement's own sensitivity (never
    below the partner's: crm.services.agreements raises it with the partner)."""
    stmt = select(Agreement) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == Agreement.partner_id).where(
        partner_clause(user), sensitivity_clause(user, Agreement.sensitivity)
    )


def visible_contacts(user: User, stmt: Select | None = None) -> Select:
    stmt = select(Contact) if stmt is None else stmt
    return stmt.join(Partner, Partner.id == Contact.partner_id).where(
        partner_clause(user), sensitivity_clause(user, Contact.sensitivity)
    )


def visible_follow_ups(user: User, stmt: Select | None = None) -> Select:
    """Follow-ups the user may read: the partner, and the follow-up's own sensitivity.

    A follow-up's `sensitivity` is never below its partner's and its interaction's (the
    services raise it with them). The assignee exception: a writer always sees (and can
    close or hand on) a follow-up assigned to them, even after losing access to its
    partner, but never more than they may see: loaded follow-ups carry `partner_hidden`,
    and pages then say "a restricted partner". A user demoted to viewer loses the
    exception.
    """
    stmt = select(FollowUp) if stmt is None else stmt
    partner_seen = partner_clause(user)
    readable = and_(partner_seen, sensitivity_clause(user, FollowUp.sensitivity))
    if user is not None and user.is_active and user.role != "viewer":
        readable = or_(readable, FollowUp.assignee_id == user.id)
    if any(d.get("type") is FollowUp and d.get("expr") is FollowUp
           for d in stmt.column_descriptions):
        stmt = stmt.options(with_expression(FollowUp.partner_hidden, _partner_hidden(user)))
    return stmt.join(Partner, Partner.id == FollowUp.partner_id).where(readable)


def follow_up_floor(partner: Partner, interaction: Interaction | None = None) -> str:
    """The least sensitivity a follow-up may have: its partner's and its interaction's."""
    levels = [partner.sensitivity] + ([interaction.sensitivity] if interaction else [])
    return max(levels, key=SENSITIVITY_RANK.__getitem__)


def strictest(*levels: str | None) -> str:
    """The strictest of the given sensitivities (`standard` when none)."""
    return max((lvl for lvl in levels if lvl), key=SENSITIVITY_RANK.__getitem__,
               default="standard")


# --- derived values ---------------------------------------------------------------

_LAST_BY_LEVEL = {
    "standard": Partner.last_standard_interaction_at,
    "restricted": Partner.last_restricted_interaction_at,
    "confidential": Partner.last_confidential_interaction_at,
}


def last_interaction_seen(user: User) -> ColumnElement:
    """SQL: the partner's latest interaction among the levels `user` may see.

    Derived values (last interaction, health, silence, sorting) use this instead of
    `Partner.last_interaction_at`, so a viewer never learns the date of a confidential
    meeting. The statement must have `Partner` in its FROM clause.
    """
    if user is not None and user.is_active and user.role == "admin":
        return Partner.last_interaction_at
    terms = []
    for level, column in _LAST_BY_LEVEL.items():
        clause = level_clause(user, level)
        if clause is true():
            terms.append(column)
        elif clause is not false():
            terms.append(case((clause, column)))
    # an inactive user sees no level: no date at all (GREATEST() takes one argument or more)
    return greatest(*terms) if terms else null()


class greatest(FunctionElement):  # noqa: N801 - reads as the SQL function it renders
    """GREATEST ignoring NULLs on every backend (SQLite's max() returns NULL on any NULL)."""

    inherit_cache = True
    name = "greatest"

    @property
    def type(self):  # type: ignore[override]
        return next(iter(self.clauses)).type


@compiles(greatest)
def _greatest_default(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    # max(coalesce(a, b, c), coalesce(b, c, a), …): each argument is itself unless NULL
    args = list(element.clauses)
    if len(args) == 1:
        return compiler.process(args[0], **kw)
    rotated = [
        compiler.process(coalesce(*(args[i:] + args[:i])), **kw) for i in range(len(args))
    ]
    return f"max({', '.join(rotated)})"


def with_last_interaction_seen(user: User, stmt: Select) -> Select:
    """Load `Partner.last_interaction_seen` (what `user` may see) with the partners."""
    return stmt.options(with_expression(Partner.last_interaction_seen,
                                        last_interaction_seen(user)))


_SCOPERS = {
    Partner: visible_partners,
    Interaction: visible_interactions,
    Contact: visible_contacts,
    FollowUp: visible_follow_ups,
    Agreement: visible_agreements,
}


def get_visible(user: User, model: type, object_id: Any, *options: Any):
    """Load one record the user may see, or raise NotVisible."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        raise NotVisible(model.__name__) from None
    if not safetext.is_id(object_id):  # beyond an id column: no such record (not a 500)
        raise NotVisible(model.__name__)
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


def may_widen_access(user: User, partner: Partner) -> bool:
    """Who may decide who sees a partner (owner, collaborators, a lower sensitivity):
    its owner, an admin, or a manager whose region scope covers it."""
    if user is None or not user.is_active or not user.can_write:
        return False
    if user.role == "admin" or partner.owner_id == user.id:
        return True
    return user.role == "manager" and user.region_scope in (None, "", partner.region)


def ensure_may_lower(user: User, partner: Partner, old: str, new: str) -> None:
    """A lower sensitivity widens who sees a record: only those who may widen access."""
    if not at_least(new, old) and not may_widen_access(user, partner):
        raise Forbidden("sensitivity", message=WIDEN_REFUSED)


#: the refusal a collaborator or other staff member sees (web and API 403)
WIDEN_REFUSED = ("Only the owner, an administrator or a manager for this region may change "
                 "who can see this partner's records (owner, collaborators or a lower "
                 "sensitivity).")


def at_least(sensitivity: str, floor: str) -> bool:
    """True when `sensitivity` is as strict as `floor` or stricter."""
    return SENSITIVITY_RANK[sensitivity] >= SENSITIVITY_RANK[floor]


def default_interaction_sensitivity(partner: Partner) -> str:
    """An interaction inherits its partner's; law enforcement starts at `restricted`."""
    if partner.sector == "law_enforcement" and not at_least(partner.sensitivity, "restricted"):
        return "restricted"
    return partner.sensitivity
