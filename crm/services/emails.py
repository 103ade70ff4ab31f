"""Every kind of email the delivery ledger sends, and the one function that renders it.

An explicit table, not a registry filled as an import side effect: what renders a
`Delivery.kind` is read here, whoever imported what. `tasks.delivery.deliver` renders
through `render`; a kind missing here fails loudly (LookupError) and is retried, then
marked failed, never sent blank.
"""

from __future__ import annotations

from crm.mail import Email
from crm.models import Delivery
from crm.services import digests, reminders
from crm.services.accounts import emails as account_emails

from .deliveries import MailSettings, Renderer

#: Delivery.kind → the function that builds its email (the database accepts the kinds of
#: `crm.models.enums.DELIVERY_KINDS`; those missing here are never sent)
RENDERERS: dict[str, Renderer] = {
    "reminder_due": reminders.render,
    "reminder_overdue": reminders.render,
    "reminder_escalation": reminders.render,
    # batched with the follow-up reminders of the same recipient: one email (issue 15)
    "agreement_reminder": reminders.render,
    "agreement_escalation": reminders.render,
    "digest": digests.render,
    "invitation": account_emails.render_invitation,
    "password_reset": account_emails.render_password_reset,
    "security_alert": account_emails.render_security_alert,
}


def render(rows: list[Delivery], settings: MailSettings) -> Email | None:
    """The email for a batch (its rows share one kind), or None if nothing is left to say."""
    kind = rows[0].kind
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise LookupError(f"no renderer for delivery kind {kind!r}")
    return renderer(rows, settings)
