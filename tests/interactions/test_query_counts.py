"""Query counts do not grow with data: My follow-ups, the team view, the log and edit forms
run exactly the statements docs/features.md states, at a small and a large size.

Each count includes the sign-in lookup and the signed-in user's reload after the request's
commit expired it (the security-headers hook reads `current_user`)."""

from __future__ import annotations

from datetime import timedelta

from crm.lib import timeutil

#: the measured counts, printed with -s for the report
MEASURED: dict[str, tuple[int, int]] = {}
#: statements per request, as docs/features.md ("Query counts") states them
MY_FOLLOW_UPS = 3
TEAM_OVERDUE = 5
LOG_FORM = 4
EDIT_FORM = 7


def _follow_ups(make, user, partners, n):
    now = timeutil.now_utc()
    for i in range(n):
        make.make_follow_up(partners[i % len(partners)], user, title=f"Task {i}",
                            due_at=now + timedelta(days=(i % 40) - 20, hours=i % 7))


def _page_count(client, count_queries, path):
    """Statements of one request, starting from an empty identity map as in production
    (the test shares the app's session, which would otherwise answer from memory)."""
    from crm.extensions import db

    db.session.expunge_all()
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def _measure(client, db, make, count_queries, login_as, path, grow, small, large,
             role="staff"):
    from crm.models import User

    user = make.make_user(role=role)
    user_id = user.id
    login_as(user)
    grow(user, small)
    db.session.commit()
    few, _ = _page_count(client, count_queries, path)
    grow(db.session.get(User, user_id), large - small)
    db.session.commit()
    many, body = _page_count(client, count_queries, path)
    MEASURED[path] = (few, many)
    print(f"\n{path}: {few} statements with {small} items, {many} with {large}")
    return few, many, body


def test_my_follow_ups_constant(client, db, make, count_queries, login_as):
    def grow(user, n):
        partners = [make.make_partner(owner=user) for _ in range(min(n, 25))]
        _follow_ups(make, user, partners, n)

    few, many, body = _measure(client, db, make, count_queries, login_as, "/follow-ups/",
                               grow, 5, 500)
    assert (few, many) == (MY_FOLLOW_UPS, MY_FOLLOW_UPS)
    assert body.count('class="list-group-item follow-up-row') == 500


def test_team_overdue_constant(client, db, make, count_queries, login_as):
    def grow(user, n):
        staff = [make.make_user() for _ in range(min(n, 10))]
        partners = [make.make_partner(owner=s) for s in staff]
        past = timeutil.now_utc() - timedelta(days=3)
        for i in range(n):
            make.make_follow_up(partners[i % len(partners)], staff[i % len(staff)],
                                due_at=past - timedelta(hours=i))

    few, many, _ = _measure(client, db, make, count_queries, login_as,
                            "/follow-ups/?scope=team", grow, 5, 500, role="admin")
    assert (few, many) == (TEAM_OVERDUE, TEAM_OVERDUE)


def test_log_form_constant(client, db, make, count_queries, login_as):
    from crm.models import Partner, User

    state = {}

    def grow(user, n):
        if "partner" not in state:
            state["partner"] = make.make_partner(owner=user).id
        partner = db.session.get(Partner, state["partner"])
        for _ in range(n):
            make.make_contact(partner)
            make.make_user()
            make.make_partner(owner=user)

    user = make.make_user()
    user_id = user.id
    login_as(user)
    grow(user, 5)
    db.session.commit()
    path = f"/interactions/new?partner_id={state['partner']}"
    few, _ = _page_count(client, count_queries, path)
    grow(db.session.get(User, user_id), 495)
    db.session.commit()
    many, _ = _page_count(client, count_queries, path)
    print(f"\n/interactions/new: {few} statements with 5 contacts/users/partners, "
          f"{many} with 500")
    assert (few, many) == (LOG_FORM, LOG_FORM)


def test_edit_form_constant(client, db, make, count_queries, login_as):
    user = make.make_user()
    partner = make.make_partner(owner=user)
    interaction = make.make_interaction(partner, user)
    login_as(user)
    path = f"/interactions/{interaction.id}/edit"
    few, _ = _page_count(client, count_queries, path)
    user, partner = db.session.merge(user, load=True), db.session.merge(partner, load=True)
    for _ in range(100):
        make.make_interaction(partner, user)
        make.make_contact(partner)
    db.session.commit()
    many, _ = _page_count(client, count_queries, path)
    print(f"\n{path}: {few} statements, {many} after 100 more contacts and interactions")
    assert (few, many) == (EDIT_FORM, EDIT_FORM)
