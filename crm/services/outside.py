"""How a record is named outside the application: email and feeds (docs/domain.md, rule 11).

Mail is forwarded, synced to phones and stored on servers we do not control. So nothing
sent out (reminders, digests, account emails, the calendar feed) carries the name or text
of a restricted or confidential partner, contact, interaction, follow-up or agreement,
whoever the recipient is (admins and owners included). It says what kind of item it is
("a follow-up with a restricted partner", "3 interactions with a restricted partner") and
links to it; the link opens the record after sign-in, where crm.services.access decides.
Both levels get the same words, so an email never says which one applies.

This module is the only place that decides; renderers of outgoing text call it, and SQL
that feeds them selects `sql_text(...)` so a secret text never even leaves the database.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, false, func, null, or_

STANDARD = "standard"
#: how a restricted or confidential partner is named outside the application
RESTRICTED_PARTNER = "a restricted partner"


def is_secret(*levels: str | None) -> bool:
    """True when any of the given sensitivities is above standard.

    None stands for a record that is not there (a follow-up without an interaction) and is
    ignored; any other value but `standard`, even an unknown one, is secret (fail closed).
    """
    return any(level is not None and level != STANDARD for level in levels)


def secret_clause(*levels: ColumnElement) -> ColumnElement[bool]:
    """SQL twin of `is_secret` (NULL, an outer-joined record that is absent, is ignored)."""
    return or_(false(), *(func.coalesce(level, STANDARD) != STANDARD for level in levels))


def sql_text(column: ColumnElement, *levels: ColumnElement) -> ColumnElement:
    """SQL: `column`, or NULL when the record is secret, so its text is never loaded."""
    return case((secret_clause(*levels), null()), else_=column)


def partner_name(name: str | None, sensitivity: str | None) -> str:
    """The partner's name, or "a restricted partner"."""
    return RESTRICTED_PARTNER if is_secret(sensitivity) or not name else name


def follow_up_title(title: str | None, sensitivity: str | None,
                    partner_sensitivity: str | None) -> str | None:
    """The follow-up's title, or None: it stays in the application.

    A follow-up's own sensitivity is never below its partner's and its interaction's,
    so those two levels decide.
    """
    return None if is_secret(sensitivity, partner_sensitivity) or not title else title


def follow_up_label(title: str | None, sensitivity: str | None, partner: str | None,
                    partner_sensitivity: str | None) -> str:
    """One line naming a follow-up: its title, or what kind of item it is."""
    shown = follow_up_title(title, sensitivity, partner_sensitivity)
    if shown is not None:
        return shown
    if is_secret(partner_sensitivity):
        return f"A follow-up with {RESTRICTED_PARTNER}"
    return f"A restricted follow-up with {partner_name(partner, partner_sensitivity)}"


def agreement_label(title: str | None, sensitivity: str | None, partner: str | None,
                    partner_sensitivity: str | None) -> str:
    """One line naming an agreement: its title, or what kind of item it is.

    An agreement's own sensitivity is never below its partner's, so both levels decide.
    """
    if not is_secret(sensitivity, partner_sensitivity) and title:
        return title
    if is_secret(partner_sensitivity):
        return f"An agreement with {RESTRICTED_PARTNER}"
    return f"A restricted agreement with {partner_name(partner, partner_sensitivity)}"


def interactions_label(count: int, partner: str | None, partner_sensitivity: str | None) -> str:
    """How a number of restricted or confidential interactions with a partner is told."""
    plural = "" if count == 1 else "s"
    if is_secret(partner_sensitivity):
        return f"{count} interaction{plural} with {RESTRICTED_PARTNER}"
    name = partner_name(partner, partner_sensitivity)
    return f"{count} restricted interaction{plural} with {name}"
