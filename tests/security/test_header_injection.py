"""CR/LF in any value that reaches an email header is refused (ASVS V1.2 / V11 injection)."""

from __future__ import annotations

import pytest

from crm import mail
from crm.mail import Email, HeaderInjection
from tests.support.http import post_form

BAD = ["Eve\r\nBcc: victim@example.org", "Eve\nBcc: victim@example.org", "Eve\rX: y"]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("where", ["subject", "to", "to_name", "header"])
def test_mail_build_refuses_line_breaks(app, value, where):
    email = Email(to="a@example.org", subject="Hello", template="test",
                  context={"name": "A"})
    if where == "subject":
        email.subject = value
    elif where == "to":
        email.to = "a@example.org" + value
    elif where == "to_name":
        email.to_name = value
    else:
        email.headers = {"X-Test": value}
    with pytest.raises(HeaderInjection):
        mail.build(email)


def test_mail_from_with_line_break_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_FROM", "crm@example.org\r\nBcc: x@evil.example")
    with pytest.raises(HeaderInjection):
        mail.build(Email(to="a@example.org", subject="Hi", template="test",
                         context={"name": "A"}))


@pytest.mark.parametrize("value", BAD)
def test_names_that_reach_the_to_header_refuse_line_breaks(db, client, make, login_as, value):
    login_as(make.make_user("admin"))
    invite = post_form(client, "/admin/users/new",
                       {"email": "x@example.org", "name": value, "role": "staff",
                        "region_scope": "", "timezone": "UTC"}, token_from="/admin/users/new")
    assert invite.status_code == 422 and b"no line breaks" in invite.data
    profile = post_form(client, "/settings/profile", {"name": value, "timezone": "UTC"},
                        token_from="/settings/")
    assert profile.status_code == 422
    for email in ("x\r\n@example.org", "x@example.org\r\nBcc: y@evil.example"):
        response = post_form(client, "/forgot-password", {"email": email},
                             token_from="/forgot-password")
        assert response.status_code == 200 and b"Check your email" not in response.data
