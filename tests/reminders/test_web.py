"""Email action links (confirm on GET, act on POST), upcoming reminders, /admin/deliveries."""

from __future__ import annotations

from datetime import timedelta

from crm.lib import timeutil
from crm.models import AuditEvent, Delivery, FollowUp
from crm.services import deliveries, reminders
from tests.support.http import csrf_token, login


def _link(app, fu, user, action):
    settings = deliveries.MailSettings(secret_key=app.config["SECRET_KEY"],
                                       base_url="http://testserver")
    url = reminders.action_link(settings, fu.id, user.id, action)
    return url.removeprefix("http://testserver")


def test_mark_done_link_confirms_then_acts_once_as_the_assignee(app, client, db, make):
    user = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user, title="Call the ministry")
    db.session.commit()
    path = _link(app, fu, user, "done")
    page = client.get(path)
    assert page.status_code == 200 and "Call the ministry" in page.get_data(as_text=True)
    assert db.session.get(FollowUp, fu.id).status == "open"  # a scanner's GET changes nothing
    assert client.post(path, data={}).status_code == 400  # CSRF still applies
    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert done.status_code == 200 and "Marked done" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "done"
    event = db.session.query(AuditEvent).filter_by(action="follow_up.complete").one()
    assert event.actor_id == user.id
    assert client.get(path).status_code == 410  # single use


def test_snooze_link_moves_due_a_week_and_rearms(app, client, db, make):
    user = make.make_user(timezone="Europe/Paris")
    partner = make.make_partner(owner=user, sensitivity="restricted", name="Hidden Unit")
    fu = make.make_follow_up(partner, user, title="Secret title")
    db.session.commit()
    path = _link(app, fu, user, "snooze")
    page = client.get(path).get_data(as_text=True)
    assert "Secret title" not in page and "Hidden Unit" not in page
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 200
    db.session.expire_all()
    moved = db.session.get(FollowUp, fu.id)
    assert moved.due_at > timeutil.now_utc() + timedelta(days=6)
    assert moved.snoozed_until == moved.due_at


def test_bad_expired_and_reassigned_links_change_nothing(app, client, db, make):
    user, other = make.make_user(), make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user)
    db.session.commit()
    assert client.get("/follow-ups/email-action/not-a-token").status_code == 404
    path = _link(app, fu, user, "done")
    fu.assignee_id = other.id
    db.session.commit()
    assert client.get(path).status_code == 409
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 409
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "open"


def test_upcoming_reminders_page(client, db, make, login_as):
    user = make.make_user(timezone="America/New_York")
    fu = make.make_follow_up(make.make_partner(owner=user), user, title="Prepare the visit",
                             due_at=timeutil.now_utc() + timedelta(days=3))
    db.session.commit()
    items = reminders.upcoming_for(user, timeutil.now_utc())
    assert [(i["follow_up"].id, i["kind"]) for i in items] == [(fu.id, "reminder_due")]
    assert items[0]["local"].hour == 8
    login_as(user)
    page = client.get("/follow-ups/reminders")
    assert page.status_code == 200 and "Prepare the visit" in page.get_data(as_text=True)


def test_admin_deliveries_lists_filters_and_retries(app, client, db, make, login_as):
    admin = make.make_user(role="admin")
    staff = make.make_user()
    ids = deliveries.insert_ignore([
        {"kind": "reminder_due", "dedupe_key": f"k{i}", "recipient_id": staff.id}
        for i in range(3)])
    failed = db.session.get(Delivery, ids[0])
    failed.message_id = "<abc@example.org>"
    deliveries.mark_failed([failed], "550 5.1.1 mailbox unavailable")
    db.session.commit()
    staff_client = app.test_client()
    login(staff_client, staff)
    assert staff_client.get("/admin/deliveries").status_code == 403
    login_as(admin)
    page = client.get("/admin/deliveries?status=failed").get_data(as_text=True)
    assert "550 5.1.1 mailbox unavailable" in page and "&lt;abc@example.org&gt;" in page
    assert f'id="delivery-{ids[1]}"' not in page
    response = client.post(f"/admin/deliveries/{ids[0]}/retry",
                           data={"csrf_token": csrf_token(client, "/admin/deliveries")})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Delivery, ids[0])
    assert row.status == "queued" and row.attempts == 0
    assert db.session.query(AuditEvent).filter_by(action="delivery.retry").count() == 1
