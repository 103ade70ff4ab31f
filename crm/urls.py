"""Absolute links into the web application, for emails (and anything else built outside a request).

Emails are rendered by the worker, where there is no request to hand to `url_for`, and
their links must start at CRM_BASE_URL, never at a request's Host header. So every path an
email carries is built here, once; tests/unit/test_urls.py checks that each path matches
a rule of `app.url_map` and the endpoint it names, so a route renamed in a blueprint
cannot leave emails pointing at a page that is gone.

`base` is CRM_BASE_URL (a trailing slash is ignored); pass "" for a site-relative path.
"""

from __future__ import annotations


def _join(base: str, path: str) -> str:
    return f"{base.rstrip('/')}{path}"


def home_url(base: str) -> str:
    """The dashboard."""
    return _join(base, "/")


def partner_url(base: str, partner_id: int, *, follow_up_id: int | None = None) -> str:
    """A partner's page, scrolled to one of its follow-ups when `follow_up_id` is given."""
    anchor = f"#follow-up-{follow_up_id}" if follow_up_id is not None else ""
    return _join(base, f"/partners/{int(partner_id)}{anchor}")


def agreement_url(base: str, agreement_id: int) -> str:
    """An agreement's page (reminders link there)."""
    return _join(base, f"/agreements/{int(agreement_id)}")


def partners_url(base: str) -> str:
    """The partner list (where a digest's "see all" leads: each partner page has its
    interactions; there is no list of interactions across partners)."""
    return _join(base, "/partners/")


def deliveries_admin_url(base: str) -> str:
    """The admin page of the email ledger."""
    return _join(base, "/admin/deliveries")


def follow_up_action_url(base: str, token: str) -> str:
    """A reminder's signed "mark done" / "snooze" link."""
    return _join(base, f"/follow-ups/email-action/{token}")


def digest_preferences_url(base: str) -> str:
    """The digest settings page."""
    return _join(base, "/settings/digest")


def digest_unsubscribe_url(base: str, token: str) -> str:
    """The signed one-click unsubscribe link (RFC 8058)."""
    return _join(base, f"/settings/digest/unsubscribe/{token}")


def invitation_url(base: str, token: str) -> str:
    """The signed link that lets an invited user choose a password."""
    return _join(base, f"/invitation/{token}")


def password_reset_url(base: str, token: str) -> str:
    """The signed link to choose a new password."""
    return _join(base, f"/reset-password/{token}")


def forgot_password_url(base: str) -> str:
    """Where to ask for a password-reset email."""
    return _join(base, "/forgot-password")
