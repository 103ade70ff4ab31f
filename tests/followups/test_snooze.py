"""The snooze rule (issue 21, item 1): one rule for the web, the API and the email link.

Snoozing by N days puts a follow-up at 09:00 local on (the later of its due day and today,
in the user's zone) + N days: always later than it was due, never a no-op.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp
from crm.services import deliveries, followups, reminders
from crm.services.errors import ValidationError
from tests.api.conftest import assert_error
from tests.reminders.helpers import local
from tests.support.http import csrf_token

#: Wednesday 02 Dec 2026, 15:00 UTC (the day of the report in issue 21)
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def _local_day(moment: datetime, tz: str) -> date:
    return timeutil.local_date(moment, tz)


@pytest.mark.parametrize(("due", "days", "expected"), [
    # the two reports of issue 21: never earlier, never a no-op
    (local("UTC", 2026, 12, 19, 9, 0), 1, date(2026, 12, 20)),  # was Thu 03 Dec
    (local("UTC", 2026, 12, 9, 9, 0), 7, date(2026, 12, 16)),  # was "until Wed 09 Dec"
    # due in the past: counted from today
    (local("UTC", 2026, 11, 29, 9, 0), 1, date(2026, 12, 3)),
    (local("UTC", 2026, 11, 29, 9, 0), 7, date(2026, 12, 9)),
    # due today, earlier (overdue by hours) and later than now
    (local("UTC", 2026, 12, 2, 9, 0), 1, date(2026, 12, 3)),
    (local("UTC", 2026, 12, 2, 23, 30), 1, date(2026, 12, 3)),
    (local("UTC", 2026, 12, 2, 23, 30), 7, date(2026, 12, 9)),
    # due tomorrow: from its due day
    (local("UTC", 2026, 12, 3, 17, 0), 1, date(2026, 12, 4)),
])
def test_rule_at_the_boundaries(due, days, expected):
    until = followups.snooze_until(due, days, "UTC", NOW)
    assert until.date() == expected and until.hour == followups.DUE_HOUR
    assert until > due and until > NOW


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "Pacific/Kiritimati",
                                "Pacific/Pago_Pago", "America/St_Johns", "Asia/Kathmandu"])
@pytest.mark.parametrize("days", [1, 7])
def test_rule_holds_for_any_due_time_in_any_zone(tz, days):
    for hours in range(-80, 200, 7):
        due = NOW + timedelta(hours=hours)
        until = followups.snooze_until(due, days, tz, NOW)
        moved = _local_day(until, tz)
        assert until > due and until > NOW, (tz, hours)
        assert moved == max(_local_day(due, tz), _local_day(NOW, tz)) + timedelta(days=days)
        assert timeutil.to_local(until, tz).hour == followups.DUE_HOUR


def test_far_zones_count_days_in_the_users_zone():
    # 12:00 UTC Wed 02 Dec is already Thu 03 Dec 02:00 in Kiritimati (UTC+14)
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    due = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 23:00 there: overdue since midnight
    until = followups.snooze_until(due, 1, "Pacific/Kiritimati", noon)
    assert timeutil.to_local(until, "Pacific/Kiritimati").strftime("%a %d %b %H:%M") == \
        "Fri 04 Dec 09:00"
    # … and still Tue 01 Dec 01:00 in Pago Pago (UTC-11), where the same instant is due
    # on Tue 01 Dec 22:00 (ahead): a week from that due day
    early = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    due = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    until = followups.snooze_until(due, 7, "Pacific/Pago_Pago", early)
    assert timeutil.to_local(until, "Pacific/Pago_Pago").strftime("%a %d %b %H:%M") == \
        "Tue 08 Dec 09:00"


def test_across_a_dst_change_the_local_hour_stays():
    # Paris springs forward on Sun 29 Mar 2026: one "day" later is 23 hours later
    due = local("Europe/Paris", 2026, 3, 28, 9, 0)
    until = followups.snooze_until(due, 1, "Europe/Paris",
                                   datetime(2026, 3, 20, 12, tzinfo=UTC))
    assert timeutil.to_local(until, "Europe/Paris").strftime("%a %d %b %H:%M") == \
        "Sun 29 Mar 09:00"
    assert until - due == timedelta(hours=23)


def test_snooze_for_moves_and_audits_and_refuses_nonsense(db, make):
    user = make.make_user(timezone="Asia/Bangkok")
    fu = make.make_follow_up(make.make_partner(owner=user), user,
                             due_at=local("Asia/Bangkok", 2026, 12, 19, 9, 0))
    followups.snooze_for(user, fu, 1, now=NOW)
    assert timeutil.to_local(fu.due_at, "Asia/Bangkok").date() == date(2026, 12, 20)
    assert fu.snoozed_until == fu.due_at
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "follow_up.snooze")).one()
    assert event.actor_id == user.id and "due_at" in event.changes
    for bad in (0, -1, 367, "7", 1.5, True, None):
        with pytest.raises(ValidationError) as exc:
            followups.snooze_for(user, fu, bad, now=NOW)
        assert "days" in exc.value.fields


def test_snooze_to_a_moment_never_brings_it_forward(db, make):
    user = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user,
                             due_at=local("UTC", 2026, 12, 19, 9, 0))
    with pytest.raises(ValidationError) as exc:
        followups.snooze(user, fu, local("UTC", 2026, 12, 3, 9, 0), now=NOW)
    assert "Sat 19 Dec 2026" in exc.value.fields["until"]
    with pytest.raises(ValidationError):  # the same moment is a no-op: refused too
        followups.snooze(user, fu, fu.due_at, now=NOW)
    assert fu.due_at == local("UTC", 2026, 12, 19, 9, 0) and fu.version == 1


def test_snoozing_rearms_the_reminders(db, make):
    user = make.make_user(timezone="Europe/Paris")
    fu = make.make_follow_up(make.make_partner(owner=user), user,
                             due_at=local("Europe/Paris", 2026, 12, 2, 9, 0))
    db.session.flush()
    morning = local("Europe/Paris", 2026, 12, 2, 8, 5)
    assert [r["kind"] for r in reminders.due_rows(morning, hour=8, escalation_days=7)] == [
        "reminder_due"]
    deliveries.insert_ignore(reminders.due_rows(morning, hour=8, escalation_days=7))
    followups.snooze_for(user, fu, 1, now=NOW)
    assert fu.due_at == local("Europe/Paris", 2026, 12, 3, 9, 0)
    # quiet until the new due day, then the due reminder fires again (a new dedupe key)
    assert reminders.due_rows(local("Europe/Paris", 2026, 12, 2, 20, 0), hour=8,
                              escalation_days=7) == []
    rows = reminders.due_rows(local("Europe/Paris", 2026, 12, 3, 8, 5), hour=8,
                              escalation_days=7)
    assert [r["kind"] for r in rows] == ["reminder_due"]
    assert deliveries.insert_ignore(rows)  # not swallowed as already sent


# --- the web ---------------------------------------------------------------------------

def _menu_dates(body: str, fu_id: int) -> list[str]:
    row = body[body.index(f'id="follow-up-{fu_id}"'):]
    row = row[:row.index("</li>")]
    return re.findall(r'(\d+ (?:day|week))[^<]*<span[^>]*>→</span>.*?<time[^>]*>([^<]+)</time>',
                      row)


def test_the_menu_states_where_each_choice_puts_it_and_the_web_applies_it(
        client, db, make, login_as):
    user = make.make_user(timezone="Pacific/Auckland")
    tz = user.timezone
    now = timeutil.now_utc()
    today = timeutil.local_date(now, tz)
    ahead = make.make_follow_up(make.make_partner(owner=user), user, title="Ahead",
                                due_at=followups.local_due(today + timedelta(days=17), tz))
    late = make.make_follow_up(make.make_partner(owner=user), user, title="Late",
                               due_at=now - timedelta(days=4))
    login_as(user)
    body = client.get("/follow-ups/").get_data(as_text=True)

    def label(day: date) -> str:
        return f"{day:%a %d %b}"

    assert _menu_dates(body, ahead.id) == [("1 day", label(today + timedelta(days=18))),
                                           ("1 week", label(today + timedelta(days=24)))]
    assert _menu_dates(body, late.id) == [("1 day", label(today + timedelta(days=1))),
                                          ("1 week", label(today + timedelta(days=7)))]
    assert "counted from its due day (from today if overdue)" in body
    assert f'min="{today + timedelta(days=18)}"' in body  # the date picker agrees
    token = csrf_token(client, "/follow-ups/")
    response = client.post(f"/follow-ups/{ahead.id}/snooze",
                           data={"csrf_token": token, "days": "1"},
                           headers={"HX-Request": "true"})
    assert f"Snoozed until {label(today + timedelta(days=18))}" in response.get_data(
        as_text=True)
    db.session.expire_all()
    moved = db.session.get(FollowUp, ahead.id)
    assert timeutil.local_date(moved.due_at, tz) == today + timedelta(days=18)


def test_the_web_refuses_a_picked_date_before_the_due_day(client, db, make, login_as):
    user = make.make_user()
    due = timeutil.now_utc() + timedelta(days=10)
    fu = make.make_follow_up(make.make_partner(owner=user), user, due_at=due)
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    earlier = timeutil.local_date(due, "UTC") - timedelta(days=3)
    response = client.post(f"/follow-ups/{fu.id}/snooze",
                           data={"csrf_token": token, "date": earlier.isoformat()},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "never brings it forward" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).due_at == due


# --- the API ---------------------------------------------------------------------------

def test_api_snooze_by_days_and_to_a_moment(api, token_for, db, make):
    user = make.make_user(timezone="America/New_York")
    token = token_for(user)
    tz = user.timezone
    today = timeutil.local_date(timeutil.now_utc(), tz)
    fu = make.make_follow_up(make.make_partner(owner=user), user,
                             due_at=followups.local_due(today + timedelta(days=17), tz))
    db.session.commit()
    response = api.post(f"/follow-ups/{fu.id}/snooze", token, json={"days": 1})
    assert response.status_code == 200, response.get_json()
    moved = datetime.fromisoformat(response.get_json()["due_at"])
    assert timeutil.local_date(moved, tz) == today + timedelta(days=18)
    assert response.get_json()["snoozed_until"] == response.get_json()["due_at"]
    assert response.headers["ETag"]
    earlier = (moved - timedelta(days=2)).isoformat()
    error = assert_error(api.post(f"/follow-ups/{fu.id}/snooze", token,
                                  json={"until": earlier}), 422, "validation_error")
    assert "until" in error["fields"]
    later = (moved + timedelta(days=3)).isoformat()
    response = api.post(f"/follow-ups/{fu.id}/snooze", token, json={"until": later})
    assert response.status_code == 200
    assert datetime.fromisoformat(response.get_json()["due_at"]) == moved + timedelta(days=3)


@pytest.mark.parametrize("body", [{}, {"days": 1, "until": "2030-01-01T09:00:00+00:00"},
                                  {"days": 0}, {"days": "7"}, {"days": 400}, {"weeks": 1}])
def test_api_snooze_refuses_bad_bodies(api, token_for, db, make, body):
    user = make.make_user()
    token = token_for(user)
    fu = make.make_follow_up(make.make_partner(owner=user), user)
    db.session.commit()
    assert_error(api.post(f"/follow-ups/{fu.id}/snooze", token, json=body), 422,
                 "validation_error")


def test_api_snooze_who_may(api, token_for, db, make):
    owner = make.make_user()
    viewer = make.make_user(role="viewer")
    outsider = make.make_user()
    hidden = make.make_follow_up(make.make_partner(owner=owner, sensitivity="confidential"),
                                 owner)
    visible = make.make_follow_up(make.make_partner(owner=owner), owner)
    db.session.commit()
    assert_error(api.post(f"/follow-ups/{visible.id}/snooze", token_for(viewer),
                          json={"days": 1}), 403, "forbidden")
    assert_error(api.post(f"/follow-ups/{hidden.id}/snooze", token_for(outsider),
                          json={"days": 1}), 404, "not_found")
    assert api.post(f"/follow-ups/{hidden.id}/snooze", json={"days": 1}).status_code == 401
    db.session.expire_all()
    assert db.session.get(FollowUp, hidden.id).version == 1
    assert db.session.get(FollowUp, visible.id).version == 1


# --- the email link --------------------------------------------------------------------

def test_the_email_link_snoozes_a_week_from_the_due_day(app, client, db, make):
    user = make.make_user(timezone="Europe/Paris")
    tz = user.timezone
    today = timeutil.local_date(timeutil.now_utc(), tz)
    fu = make.make_follow_up(make.make_partner(owner=user), user, title="Plan the visit",
                             due_at=followups.local_due(today + timedelta(days=20), tz))
    db.session.commit()
    settings = deliveries.MailSettings(secret_key=app.config["SECRET_KEY"],
                                       base_url="http://testserver")
    path = reminders.action_link(settings, fu.id, user.id, "snooze").removeprefix(
        "http://testserver")
    expected = today + timedelta(days=27)
    page = client.get(path).get_data(as_text=True)
    assert f"It will be due {expected:%a %d %b %Y}, 09:00" in page
    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert f"is now due {expected:%a %d %b %Y}, 09:00" in done.get_data(as_text=True)
    db.session.expire_all()
    assert timeutil.local_date(db.session.get(FollowUp, fu.id).due_at, tz) == expected
