"""Render and send email: SMTP when SMTP_HOST is set, otherwise .eml files in instance/outbox/.

The one module that builds messages. Every message has an HTML and a plain-text
part rendered from `templates/email/<name>.html` and `.txt`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from flask import current_app, render_template

from crm import urls


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
    """The full MIME message: plain text first, HTML as the alternative.

    Templates build their links with `urls` (crm/urls.py) from `base_url`, never by hand.
    """
    context = {"base_url": current_app.config["CRM_BASE_URL"], "urls": urls, **email.context}
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


#: a kept connection idle longer than this is NOOP-checked before use
NOOP_AFTER_SECONDS = 2.0
#: … and one idle longer than this is replaced (servers drop idle clients after minutes)
RECONNECT_AFTER_SECONDS = 60.0


class _Connections(threading.local):
    """One open SMTP connection per process and thread, reused from email to email.

    A Celery worker process sends thousands of emails; connecting, greeting and QUIT for
    each one cost more than the message itself. Keyed on the settings, dropped after any
    error and after a fork (a socket must never be shared by two processes).
    """

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.key: tuple | None = None
        self.pid = 0
        self.last_used = 0.0

    def get(self, config: Mapping) -> tuple[smtplib.SMTP, bool]:
        """(an open connection, whether it was reused rather than opened now)."""
        key = tuple(config.get(name) for name in _SMTP_SETTINGS)
        idle = time.monotonic() - self.last_used
        if self.smtp is not None and (self.key != key or self.pid != os.getpid()
                                      or idle > RECONNECT_AFTER_SECONDS
                                      or (idle > NOOP_AFTER_SECONDS and not self._alive())):
            self.drop()
        if self.smtp is not None:
            return self.smtp, True
        self.smtp, self.key, self.pid = _connect(config), key, os.getpid()
        return self.smtp, False

    def _alive(self) -> bool:
        try:
            return self.smtp is not None and self.smtp.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def used(self) -> None:
        self.last_used = time.monotonic()

    def drop(self) -> None:
        """Forget the connection (QUIT politely if it is ours and still there)."""
        smtp, self.smtp, self.key = self.smtp, None, None
        if smtp is None:
            return
        try:
            if self.pid == os.getpid():
                smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            smtp.close()


_SMTP_SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_TIMEOUT", "SMTP_STARTTLS", "SMTP_USERNAME",
                  "SMTP_PASSWORD")
_connections = _Connections()


def _connect(config: Mapping) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                        timeout=config["SMTP_TIMEOUT"])
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def close_connection() -> None:
    """Close this process's kept SMTP connection (worker shutdown: tasks/__init__.py)."""
    _connections.drop()


def send(message: EmailMessage) -> str:
    """Deliver `message`; return its Message-ID. Raises Temporary/PermanentMailError.

    Over the kept connection of this process: a reused connection the server has
    dropped meanwhile (SMTPServerDisconnected, reset) is replaced once, at once.
    """
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return _write_to_outbox(message)
    reused = False
    try:
        try:
            smtp, reused = _connections.get(config)
            smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            _connections.drop()
            if not reused:
                raise
            smtp, _ = _connections.get(config)
            smtp.send_message(message)
        _connections.used()
    except smtplib.SMTPResponseException as exc:
        _connections.drop()
        detail = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500:
            raise TemporaryMailError(detail) from exc
        raise PermanentMailError(detail) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        _connections.drop()
        codes = [code for code, _ in exc.recipients.values()]
        detail = f"recipients refused: {exc.recipients!r}"
        if all(400 <= c < 500 for c in codes):
            raise TemporaryMailError(detail) from exc
        raise PermanentMailError(detail) from exc
    except (OSError, smtplib.SMTPException) as exc:
        _connections.drop()
        raise TemporaryMailError(f"{type(exc).__name__}: {exc}") from exc
    except BaseException:  # a time limit mid-conversation: the connection state is unknown
        _connections.drop()
        raise
    return message["Message-ID"]


def outbox_dir() -> Path:
    path = Path(current_app.config["OUTBOX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_to_outbox(message: EmailMessage) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    (outbox_dir() / name).write_bytes(bytes(message))
    return message["Message-ID"]
