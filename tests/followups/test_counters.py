"""Counters refreshed with the row (issue 21, item 6) and Undo for Done.

An htmx Done / Snooze / Undo answers the row plus out-of-band fragments (hx-swap-oob)
carrying the new counts: the nav badge always, the headings of "My follow-ups" when the
row is on that page. Undo is a POST with CSRF, audited, for writers who may see it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.lib import timeutil
from crm.models import AuditEvent, FollowUp
from crm.services import followups
from crm.services.errors import ConflictError
from tests.support.http import csrf_token, login

HX = {"HX-Request": "true"}


def _oob(body: str) -> dict[str, str]:
    """id → text of every out-of-band element of an htmx answer."""
    found = {}
    for match in re.finditer(r'<span id="([\w-]+)"[^>]*hx-swap-oob="true"[^>]*>(.*?)</span>\s*'
                             r'(?=<span id=|$)', body, re.S):
        found[match.group(1)] = re.sub(r"<[^>]+>", "", match.group(2)).strip()
    return found


def _nav(body: str) -> tuple[int, int] | None:
    """(total, overdue) of the nav badge in a page or a fragment; None when it is empty."""
    match = re.search(r'id="nav-followups-count"[^>]*>\s*<span[^>]*data-total="(\d+)" '
                      r'data-overdue="(\d+)"', body)
    return (int(match.group(1)), int(match.group(2))) if match else None


@pytest.fixture
def mine(db, make):
    """A user with 2 overdue, 1 due today and 1 later follow-up."""
    user = make.make_user(timezone="UTC")
    partner = make.make_partner(owner=user, name="UNICEF Thailand")
    now = timeutil.now_utc()
    start_today = timeutil.local_day_at(timeutil.local_date(now, "UTC"), 0, "UTC")
    items = {
        "late1": make.make_follow_up(partner, user, title="Late one",
                                     due_at=now - timedelta(days=3)),
        "late2": make.make_follow_up(partner, user, title="Late two",
                                     due_at=now - timedelta(days=2)),
        "today": make.make_follow_up(partner, user, title="Today one",
                                     due_at=start_today + timedelta(hours=23, minutes=59)),
        "later": make.make_follow_up(partner, user, title="Later one",
                                     due_at=now + timedelta(days=40)),
    }
    make.make_follow_up(partner, make.make_user(), title="Someone else's")
    make.make_follow_up(partner, user, title="Closed", status="done")
    db.session.commit()
    return user, items


def test_counts_agree_with_the_page_groups(db, mine):
    user, _ = mine
    counts = followups.counts(user)
    groups = followups.my_follow_ups(user)
    assert counts == {"total": 4, **{name: len(items) for name, items in groups.items()}}
    assert counts["overdue"] == 2 and counts["today"] == 1


def test_page_shows_the_counts_and_the_nav_badge(client, mine, login_as):
    user, _ = mine
    login_as(user)
    body = client.get("/follow-ups/").get_data(as_text=True)
    assert _nav(body) == (4, 2)
    assert re.search(r'id="followups-total"[^>]*>4<', body)
    assert re.search(r'id="group-count-overdue"[^>]*>2<', body)
    # elsewhere the badge loads after the page (no extra statement on every page)
    other = client.get("/partners/").get_data(as_text=True)
    assert 'hx-get="/follow-ups/counts"' in other
    assert _nav(client.get("/follow-ups/counts").get_data(as_text=True)) == (4, 2)


def test_done_answers_the_row_with_new_counts_out_of_band(client, db, mine, login_as):
    user, items = mine
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    response = client.post(f"/follow-ups/{items['late1'].id}/complete",
                           data={"csrf_token": token, "view": "mine"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<li class="list-group-item follow-up-row py-3" '
                                    f'id="follow-up-{items["late1"].id}"')
    assert "Done: Late one." in body and "Undo" in body and "data-undo-seconds" in body
    oob = _oob(body)
    assert oob["followups-total"] == "3"
    assert oob["group-count-overdue"] == "1" and oob["group-count-today"] == "1"
    assert oob["group-count-this_week"] == "0" and oob["group-count-later"] == "1"
    assert _nav(body) == (3, 1)
    # snoozing the other overdue one moves it out of "overdue"
    response = client.post(f"/follow-ups/{items['late2'].id}/snooze",
                           data={"csrf_token": token, "view": "mine", "days": "1"},
                           headers=HX)
    oob = _oob(response.get_data(as_text=True))
    assert oob["followups-total"] == "3" and oob["group-count-overdue"] == "0"
    assert _nav(response.get_data(as_text=True)) == (3, 0)


def test_from_another_page_only_the_nav_badge_comes_back(client, db, mine, login_as):
    user, items = mine
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    body = client.post(f"/follow-ups/{items['today'].id}/complete",
                       data={"csrf_token": token}, headers=HX).get_data(as_text=True)
    assert set(_oob(body)) == {"nav-followups-count"}  # no stray targets on the team page
    assert _nav(body) == (3, 2)


def test_on_the_team_page_the_team_total_comes_back_too(app, client, db, make, mine, login_as):
    user, items = mine
    manager = make.make_user("manager", timezone="UTC")
    db.session.commit()
    login_as(manager)
    page = client.get("/follow-ups/?scope=team").get_data(as_text=True)
    assert re.search(r'id="team-overdue-total"[^>]*>2<', page)
    assert 'name="view" value="team"' in page
    token = csrf_token(client, "/follow-ups/?scope=team")
    body = client.post(f"/follow-ups/{items['late1'].id}/complete",
                       data={"csrf_token": token, "view": "team"},
                       headers=HX).get_data(as_text=True)
    assert _oob(body)["team-overdue-total"] == "1"
    # a staff member cannot ask for the team count by posting view=team
    staff = app.test_client()
    login(staff, user)
    token = csrf_token(staff, "/follow-ups/")
    body = staff.post(f"/follow-ups/{items['late2'].id}/complete",
                       data={"csrf_token": token, "view": "team"},
                       headers=HX).get_data(as_text=True)
    assert "team-overdue-total" not in body


def test_undo_reopens_audited_and_counts_come_back(client, db, mine, login_as):
    user, items = mine
    fu = items["late1"]
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    client.post(f"/follow-ups/{fu.id}/complete", data={"csrf_token": token, "view": "mine"},
                headers=HX)
    response = client.post(f"/follow-ups/{fu.id}/reopen",
                           data={"csrf_token": token, "view": "mine"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "is open again" in body
    assert "data-undo-seconds" not in body and "Done</button>" in body  # actions are back
    assert _oob(body)["followups-total"] == "4" and _nav(body) == (4, 2)
    db.session.expire_all()
    reopened = db.session.get(FollowUp, fu.id)
    assert reopened.status == "open" and reopened.completed_at is None
    assert reopened.due_at == fu.due_at  # as it was
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "follow_up", AuditEvent.object_id == str(fu.id))
        .order_by(AuditEvent.id)).all()
    assert [e.action for e in events][-2:] == ["follow_up.complete", "follow_up.reopen"]
    assert events[-1].actor_id == user.id
    assert events[-1].changes["status"] == ["done", "open"]


def test_undo_without_htmx_redirects_with_a_message(client, db, mine, login_as):
    user, items = mine
    fu = items["later"]
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    client.post(f"/follow-ups/{fu.id}/complete", data={"csrf_token": token})
    response = client.post(f"/follow-ups/{fu.id}/reopen", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "open"


def test_undo_needs_the_csrf_token(client, db, mine, login_as):
    user, items = mine
    fu = items["late1"]
    followups.complete(user, fu)
    login_as(user)
    assert client.post(f"/follow-ups/{fu.id}/reopen", headers=HX).status_code == 400
    assert client.post(f"/follow-ups/{fu.id}/reopen", data={"csrf_token": "forged"},
                       headers=HX).status_code == 400
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "done"


@pytest.mark.parametrize(("who", "status"), [
    ("owner", 302), ("collaborator", 302), ("admin", 302),
    ("viewer", 403), ("stranger", 404), ("anonymous", 302),
])
def test_undo_only_by_someone_who_may_edit_it(client, db, make, login_as, who, status):
    owner = make.make_user()
    collaborator = make.make_user()
    users = {"owner": owner, "collaborator": collaborator,
             "admin": make.make_user(role="admin"), "viewer": make.make_user(role="viewer"),
             "stranger": make.make_user()}
    partner = make.make_partner(owner=owner, sensitivity="restricted",
                                collaborators=[collaborator])
    fu = make.make_follow_up(partner, owner)
    followups.complete(owner, fu)
    db.session.commit()
    if who != "anonymous":
        login_as(users[who])
    token = csrf_token(client, "/login" if who == "anonymous" else "/")
    response = client.post(f"/follow-ups/{fu.id}/reopen", data={"csrf_token": token})
    assert response.status_code == status
    if who == "anonymous":
        assert "/login" in response.headers["Location"]
    db.session.expire_all()
    reopened = db.session.get(FollowUp, fu.id).status == "open"
    assert reopened == (status == 302 and who != "anonymous")


def test_undo_is_for_a_recent_done_only(db, make):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    old = make.make_follow_up(partner, user)
    followups.complete(user, old)
    later = old.completed_at + followups.UNDO_WINDOW + timedelta(seconds=1)
    with pytest.raises(ConflictError, match="Too late"):
        followups.reopen(user, old, now=later)
    cancelled = make.make_follow_up(partner, user)
    followups.cancel(user, cancelled)
    with pytest.raises(ConflictError, match="only Done"):
        followups.reopen(user, cancelled)
    open_one = make.make_follow_up(partner, user)
    assert followups.reopen(user, open_one).version == open_one.version  # a double click


def test_a_late_undo_answers_the_row_with_the_reason(client, db, make, login_as):
    user = make.make_user()
    fu = make.make_follow_up(make.make_partner(owner=user), user, title="Old one",
                             status="done",
                             completed_at=timeutil.now_utc() - timedelta(hours=1))
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    response = client.post(f"/follow-ups/{fu.id}/reopen", data={"csrf_token": token},
                           headers=HX)
    assert response.status_code == 200 and "Too late to undo" in response.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status == "done"


def test_statements_do_not_grow_with_the_list(client, db, make, login_as, count_queries):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    login_as(user)
    token = csrf_token(client, "/follow-ups/")
    counts = {}
    for size in (3, 60):
        now = timeutil.now_utc()
        for i in range(size - followups.counts(user)["total"]):
            make.make_follow_up(partner, user, title=f"Task {i}",
                                due_at=now + timedelta(hours=i * 7 - 100))
        target = make.make_follow_up(partner, user, title="Target")
        db.session.commit()
        with count_queries() as page:
            assert client.get("/follow-ups/").status_code == 200
        with count_queries() as done:
            assert client.post(f"/follow-ups/{target.id}/complete",
                               data={"csrf_token": token, "view": "mine"},
                               headers=HX).status_code == 200
        with count_queries() as undo:
            assert client.post(f"/follow-ups/{target.id}/reopen",
                               data={"csrf_token": token, "view": "mine"},
                               headers=HX).status_code == 200
        with count_queries() as badge:
            assert client.get("/follow-ups/counts").status_code == 200
        followups.complete(user, db.session.get(FollowUp, target.id))
        db.session.commit()
        counts[size] = (page.count, done.count, undo.count, badge.count)
    assert counts[3] == counts[60], counts
