"""After erasure the person's name, email and phone appear nowhere: on no page, CSV, API
answer, digest preview or reminder email an admin can reach (the leak-canary crawl's route
plan, tests/privacy/routes.py, fills every GET route), and in no row of the database."""

from __future__ import annotations

from email import policy

import pytest
from sqlalchemy import text

from tests.privacy import routes
from tests.privacy.test_pages import _text
from tests.privacy.world import PEOPLE, Record, World

from .conftest import leaks

pytestmark = [pytest.mark.postgres]

#: never fetched: it ends the session the crawl runs in
SKIPPED = frozenset({"auth.logout"})


def _world(person, job_id: int) -> World:
    """The crawl's world, made of the person's records (so every id route is filled)."""
    world = World()
    world.user_ids = {p.key: person.staff.id for p in PEOPLE}
    world.user_ids["admin"] = person.admin.id
    world.import_job_id = job_id
    rows = [("partner", person.partner), ("contact", person.contact),
            ("contact", person.other), ("interaction", person.interaction),
            ("interaction", person.plain_interaction), ("follow_up", person.follow_up),
            ("follow_up", person.mention_follow_up)]
    for n, (kind, obj) in enumerate(rows, start=1):
        world.records[(kind, n)] = Record(kind=kind, n=n, partner=1, level="standard",
                                          db_id=obj.id)
    return world


def _targets(app, person, job_id: int) -> list[routes.Target]:
    plan = routes.plan(app, routes.Context(_world(person, job_id)))
    # the canary crawl's own search terms (CNRY…) and list orderings find nothing more here
    targets = [t for t in plan.targets if t.endpoint not in SKIPPED and "CNRY" not in t.url
               and not any(f"{key}=" in t.url for key in ("sort", "health"))]
    adapter = app.url_map.bind("localhost")
    for endpoint in sorted(routes.SEARCHES):
        # parts only: a search page echoes its query, and only a whole name is a leak
        for term in ("Amara", "Quillfeather", "amara.quill", "555 0199"):
            url = adapter.build(endpoint, {"q": term}, method="GET")
            targets.append(routes.Target(endpoint, url, url, url.startswith("/api/v1/")))
    return targets


def _url(app, endpoint: str, **values) -> str:
    return app.url_map.bind("localhost").build(endpoint, values, method="GET")


def _reminder(db, person) -> str:
    """The reminder email the mentioning follow-up's assignee would get, as sent."""
    from flask import current_app

    from crm import mail
    from crm.models import Delivery, FollowUp
    from crm.services import reminders
    from crm.services.deliveries import MailSettings

    fu = db.session.get(FollowUp, person.mention_follow_up.id)
    row = Delivery(kind="reminder_due", recipient_id=person.staff.id, dedupe_key="leak:1",
                   payload={"follow_up_id": fu.id, "due_at": fu.due_at.isoformat()})
    email = reminders.render([row], MailSettings.from_config(current_app.config))
    assert email is not None
    return mail.build(email).as_string(policy=policy.SMTP)


def _database_rows(db) -> list[tuple[str, str]]:
    """(table, row as text) for every row of every table holding one of the strings."""
    found = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for (row,) in conn.execute(text(f'SELECT t::text FROM "{table.name}" t')):
                if leaks(row):
                    found.append((table.name, row[:300]))
    return found


def test_after_erasure_the_person_appears_nowhere(app, db, client, person, login_as):
    from crm.models import ImportJob

    job_id = db.session.query(ImportJob.id).scalar()
    login_as(person.admin)
    auth = {"Authorization": f"Bearer {person.token}"}
    # the checks can fail: before erasure the person is on the pages, in the mail, in rows
    partner_page = client.get(f"/partners/{person.partner.id}").get_data(as_text=True)
    assert leaks(partner_page)
    assert leaks(client.get(_url(app, "exports.contacts")).get_data(as_text=True))
    assert leaks(_reminder(db, person))
    tables = {table for table, _ in _database_rows(db)}
    assert {"contacts", "audit_values", "interactions", "follow_ups", "import_jobs",
            "idempotency_keys", "deliveries"} <= tables

    response = client.post(f"/api/v1/contacts/{person.contact.id}/erase", headers=auth)
    assert response.status_code == 204

    targets = _targets(app, person, job_id)
    found, statuses = [], {}
    for target in targets:
        response = client.get(target.url, headers=auth if target.api else {})
        statuses[target.endpoint] = response.status_code
        assert response.status_code < 500, target.url
        body = _text(response)
        response.close()
        if leaks(body):
            found.append(f"{target.url}: {leaks(body)}")
    assert not found, "\n".join(found)
    print(f"{len(targets)} URLs crawled after erasure")
    must_answer = {"partners.show", "interactions.edit", "exports.contacts",
                   "exports.interactions", "api.get_contact", "api.get_interaction",
                   "api.list_interactions", "settings.digest_preview", "dashboard.index",
                   "contacts.personal_data", "admin.audit"}
    assert {e for e in must_answer if statuses.get(e) == 200} == must_answer, statuses
    assert not leaks(_reminder(db, person))
    assert _database_rows(db) == []
