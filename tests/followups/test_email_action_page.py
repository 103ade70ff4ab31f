"""The page a reminder email's action link ends on (issue 21, item 4): one readable
sentence ("…a restricted partner is done", never "partneris done") and a way back to
My follow-ups, after a change and after a refusal alike."""

from __future__ import annotations

import re

import pytest

from crm.services import deliveries, reminders
from tests.support.http import csrf_token


def _path(app, fu, user, action: str) -> str:
    settings = deliveries.MailSettings(secret_key=app.config["SECRET_KEY"],
                                       base_url="http://testserver")
    return reminders.action_link(settings, fu.id, user.id, action).removeprefix(
        "http://testserver")


def _sentence(body: str) -> str:
    match = re.search(r'<p id="action-result">(.*?)</p>', body, re.S)
    assert match, body[-2000:]
    return " ".join(match.group(1).split())


def _has_way_back(body: str) -> bool:
    return bool(re.search(r'<a [^>]*id="back-to-follow-ups"[^>]*href="/follow-ups/"', body)
                or re.search(r'<a [^>]*href="/follow-ups/"[^>]*id="back-to-follow-ups"', body))


@pytest.mark.parametrize(("sensitivity", "action", "expected"), [
    ("restricted", "done", r"The follow-up with a restricted partner is done\."),
    ("restricted", "snooze",
     r"The follow-up with a restricted partner is now due \w{3} \d\d \w{3} \d{4}, 09:00 "
     r"\(CES?T\)\."),
    ("standard", "done", r"“Call the ministry” \(UNICEF Thailand\) is done\."),
    ("standard", "snooze",
     r"“Call the ministry” \(UNICEF Thailand\) is now due \w{3} \d\d \w{3} \d{4}, 09:00 "
     r"\(CES?T\)\."),
])
def test_result_reads_as_one_sentence_and_links_back(app, client, db, make, sensitivity,
                                                     action, expected):
    user = make.make_user(timezone="Europe/Paris")
    partner = make.make_partner(owner=user, name="UNICEF Thailand", sensitivity=sensitivity)
    fu = make.make_follow_up(partner, user, title="Call the ministry")
    db.session.commit()
    path = _path(app, fu, user, action)
    body = client.post(path, data={"csrf_token": csrf_token(client, path)}).get_data(
        as_text=True)
    assert re.fullmatch(expected, _sentence(body)), _sentence(body)
    assert "partneris" not in body
    assert _has_way_back(body)


def test_a_refused_link_also_links_back(app, client, db, make):
    user = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user, status="done")
    db.session.commit()
    body = client.get(_path(app, fu, user, "done")).get_data(as_text=True)
    assert "already done" in body and _has_way_back(body)
    body = client.get("/follow-ups/email-action/not-a-token").get_data(as_text=True)
    assert "not valid" in body and _has_way_back(body)
