"""The invitation form starts from the least privilege and the inviter's time zone.

The form is read as a browser would submit it: every field with the value the page shows,
and only the email and name typed in.
"""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import select

from crm.models import User


class _FormReader(HTMLParser):
    """The values a browser would submit for the page's POST form, untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_post_form = False
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_post_form = (a.get("method") or "").lower() == "post"
        if not self._in_post_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox"):
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first_option = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.values.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "form":
            self._in_post_form = False


def _rendered_defaults(client) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(client.get("/admin/users/new").get_data(as_text=True))
    return reader.values


def test_invite_form_shows_viewer_and_the_inviters_time_zone(client, make, login_as):
    login_as(make.make_user("admin", timezone="Asia/Kolkata"))
    values = _rendered_defaults(client)
    assert values["role"] == "viewer"
    assert values["timezone"] == "Asia/Kolkata"
    assert values["region_scope"] == ""


def test_submitting_the_defaults_invites_a_viewer_in_the_inviters_zone(db, client, make,
                                                                        login_as):
    login_as(make.make_user("admin", timezone="America/Mexico_City"))
    values = _rendered_defaults(client)
    values.update(email="quiet.reader@example.org", name="Quiet Reader")
    response = client.post("/admin/users/new", data=values)
    assert response.status_code == 302, response.data[:2000]
    user = db.session.scalar(select(User).where(User.email == "quiet.reader@example.org"))
    assert (user.role, user.timezone) == ("viewer", "America/Mexico_City")
    assert not user.can_write


def test_an_inviter_zone_the_list_does_not_offer_falls_back_to_utc(client, make, login_as):
    # "GMT" is a valid IANA name but not in the picker (it lists Area/City and UTC)
    login_as(make.make_user("admin", timezone="GMT"))
    assert _rendered_defaults(client)["timezone"] == "UTC"


def test_an_explicit_choice_still_wins_over_the_defaults(db, client, make, login_as):
    login_as(make.make_user("admin", timezone="Europe/Paris"))
    values = _rendered_defaults(client)
    values.update(email="lead@example.org", name="Lead", role="manager",
                  timezone="Africa/Nairobi")
    assert client.post("/admin/users/new", data=values).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
    assert (user.role, user.timezone) == ("manager", "Africa/Nairobi")
