"""Mail reaches a real SMTP server with the right headers and both parts."""

from __future__ import annotations

import pytest

from crm import mail
from tests.support.smtp import SmtpSink


def _send(email: mail.Email) -> str:
    return mail.send(mail.build(email))


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TIMEOUT=3)
        yield sink
    app.config.update(SMTP_HOST=None)


def test_mail_reaches_a_real_smtp_server_with_both_parts(app, smtp):
    message_id = _send(mail.Email(
        to="grace@example.org", to_name="Grace Wanjiru", subject="Hello from the CRM",
        template="test", context={"name": "Grace"}))
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received["Subject"] == "Hello from the CRM"
    assert received["To"] == "Grace Wanjiru <grace@example.org>"
    assert received["From"] == app.config["MAIL_FROM"]
    assert received["Message-ID"] == message_id
    assert received["Date"]
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Hello Grace" in text
    assert "<p>Hello Grace,</p>" in html


def test_a_given_message_id_is_kept(app, smtp):
    fixed = "<fixed-1@example.org>"
    _send(mail.Email(to="a@example.org", subject="s", template="test",
                                    context={"name": "A"}, message_id=fixed))
    assert smtp.messages[0]["Message-ID"] == fixed


@pytest.mark.parametrize("field", ["subject", "to", "to_name", "header"])
def test_header_with_cr_or_lf_is_refused(app, smtp, field):
    values = {"to": "a@example.org", "subject": "fine", "to_name": None, "headers": {}}
    evil = "x\r\nBcc: victim@example.org"
    if field == "header":
        values["headers"] = {"X-Note": evil}
    else:
        values[field] = evil
    with pytest.raises(mail.HeaderInjection):
        _send(mail.Email(template="test", context={"name": "A"}, **values))
    assert smtp.messages == []


def test_4xx_is_temporary_and_5xx_permanent(app, smtp):
    smtp.responses = ["451 4.3.0 try again later", "550 5.1.1 no such user"]
    email = mail.Email(to="a@example.org", subject="s", template="test", context={"name": "A"})
    with pytest.raises(mail.TemporaryMailError):
        _send(email)
    with pytest.raises(mail.PermanentMailError):
        _send(email)
    _send(email)
    assert len(smtp.messages) == 1


def test_refused_connection_is_temporary(app):
    from tests.support.services import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    try:
        with pytest.raises(mail.TemporaryMailError):
            _send(mail.Email(to="a@example.org", subject="s", template="test",
                                            context={"name": "A"}))
    finally:
        app.config.update(SMTP_HOST=None)


def test_without_smtp_mail_goes_to_the_outbox_and_dev_page(app, client, make, db):
    from tests.support.http import login

    message_id = _send(mail.Email(to="a@example.org", subject="Outbox check",
                                                 template="test", context={"name": "A"}))
    files = list(mail.outbox_dir().glob("*.eml"))
    assert any(message_id.encode() in f.read_bytes() for f in files)
    user = make.make_user("admin")  # the outbox is for admins only
    db.session.commit()
    login(client, user)
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "Outbox check" in page


def _email(name: str = "A") -> mail.Email:
    return mail.Email(to="a@example.org", subject="s", template="test", context={"name": name})


def test_one_smtp_connection_is_kept_for_many_emails(app, smtp):
    mail.close_connection()
    _send(_email())
    kept = mail._connections.smtp
    assert kept is not None
    _send(_email("B"))
    assert mail._connections.smtp is kept
    assert len(smtp.messages) == 2
    mail.close_connection()


def test_a_connection_the_server_dropped_is_replaced_at_once(app):
    mail.close_connection()
    with SmtpSink() as first:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=first.port, SMTP_TIMEOUT=3)
        _send(_email())
        kept = mail._connections.smtp
    try:
        second = SmtpSink()
        second.port = first.port  # same address: the kept socket is dead, the server is back
        from aiosmtpd.controller import Controller

        from tests.support.smtp import _Handler

        second.controller = Controller(_Handler(second), hostname="127.0.0.1", port=first.port)
        with second:
            _send(_email("B"))
            assert mail._connections.smtp is not kept
            assert [m["To"] for m in second.messages] == ["a@example.org"]
    finally:
        mail.close_connection()
        app.config.update(SMTP_HOST=None)


def test_an_error_drops_the_kept_connection(app, smtp):
    mail.close_connection()
    smtp.responses = ["451 4.3.0 try again later"]
    with pytest.raises(mail.TemporaryMailError):
        _send(_email())
    assert mail._connections.smtp is None
    _send(_email())
    assert len(smtp.messages) == 1
    mail.close_connection()
