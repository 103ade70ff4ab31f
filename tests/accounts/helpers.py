"""Helpers for account tests: the email a ledger row would send, and its link."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm import mail
from crm.extensions import db
from crm.models import Delivery
from crm.services import emails
from crm.services.deliveries import MailSettings

BASE_URL = "https://crm.example.org"


def latest_email(app, kind: str):
    """Render the newest ledger row of `kind` exactly as the send task would."""
    row = db.session.scalars(select(Delivery).where(Delivery.kind == kind)
                             .order_by(Delivery.id.desc())).first()
    assert row is not None, f"no {kind} delivery queued"
    settings = MailSettings(secret_key=app.config["SECRET_KEY"], base_url=BASE_URL)
    email = emails.render([row], settings)
    return None if email is None else mail.build(email)


def link_path(message) -> str:
    """The site-relative path of the link in the plain-text part."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(re.escape(BASE_URL) + r"(/\S+)", text)
    assert match, text
    return match.group(1)
