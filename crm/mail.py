"""Render and send email: SMTP when SMTP_HOST is set, otherwise .eml files in instance/outbox/.

The one module that builds messages. Every message has an HTML and a plain-text
part rendered from `templates/email/<name>.html` and `.txt`.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from flask import current_app, render_template


class HeaderInjection(ValueError):
    """A header value carried CR or LF."""


class TemporaryMailError(Exception):
    """Try again later: a 4xx answer, a refused or dropped connection, a timeout."""


class PermanentMailError(Exception):
    """Do not retry: a 5xx answer."""


@dataclass
class Email:
    to: str
    subject: str
    template: str
    context: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    to_name: str | None = None


def _check_header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"line break in header {name}")
    return value


def new_message_id() -> str:
    """A globally unique Message-ID, generated once per email and stored on the ledger row."""
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "localhost"
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)


def build(email: Email) -> EmailMessage:
    """The full MIME message: plain text first, HTML as the alternative."""
    context = {"base_url": current_app.config["CRM_BASE_URL"], **email.context}
    text = render_template(f"email/{email.template}.txt", **context)
    html = render_template(f"email/{email.template}.html", **context)
    message = EmailMessage()
    message["Subject"] = _check_header("Subject", email.subject)
    message["From"] = _check_header("From", current_app.config["MAIL_FROM"])
    to = _check_header("To", email.to)
    message["To"] = formataddr((_check_header("To", email.to_name), to)) if email.to_name else to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = _check_header("Message-ID", email.message_id or new_message_id())
    for name, value in email.headers.items():
        message[_check_header("header name", name)] = _check_header(name, value)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(message: EmailMessage) -> str:
    """Deliver `message`; return its Message-ID. Raises Temporary/PermanentMailError."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return _write_to_outbox(message)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                          timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        detail = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500:
            raise TemporaryMailError(detail) from exc
        raise PermanentMailError(detail) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = f"recipients refused: {exc.recipients!r}"
        if all(400 <= c < 500 for c in codes):
            raise TemporaryMailError(detail) from exc
        raise PermanentMailError(detail) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryMailError(f"{type(exc).__name__}: {exc}") from exc
    return message["Message-ID"]


def render_and_send(email: Email) -> str:
    return send(build(email))


def outbox_dir() -> Path:
    path = Path(current_app.config["OUTBOX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_to_outbox(message: EmailMessage) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    (outbox_dir() / name).write_bytes(bytes(message))
    return message["Message-ID"]
