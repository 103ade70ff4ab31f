"""/admin/audit reads as sentences about named records: names (only for records the reader
may see, through crm.services.access), labelled changes, links, and no "#None"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.models import AuditEvent
from crm.services import audit, audit_display
from tests.admin.helpers import statements, visible_text
from tests.support.http import login

LONG = "A very long description. " * 10


@pytest.fixture
def world(db, make):
    admin = make.make_user("admin", name="Ada Admin", timezone="Asia/Tokyo")
    sam = make.make_user("staff", name="Sam Staff")
    owner = make.make_user("staff", name="Olu Owner")
    partner = make.make_partner(owner=sam, name="Mekong Child Safety Network")
    secret = make.make_partner(owner=owner, name="Quiet Task Force", sensitivity="confidential",
                               sector="law_enforcement")
    contact = make.make_contact(partner, name="Somchai Srisuk")
    interaction = make.make_interaction(
        partner, logged_by=sam, kind="call", occurred_at=datetime(2025, 3, 4, 20, 0, tzinfo=UTC))
    follow_up = make.make_follow_up(partner, sam, title="Send the MoU draft")
    db.session.commit()
    return {"admin": admin, "sam": sam, "owner": owner, "partner": partner, "secret": secret,
            "contact": contact, "interaction": interaction, "follow_up": follow_up}


def _events(w):
    sam, partner = w["sam"], w["partner"]
    audit.record("partner.update", actor=sam, object_type="partner", object_id=partner.id,
                 changes={"stage": ["dialogue", "agreement"],
                          "owner_id": [w["owner"].id, sam.id],
                          "description": [None, LONG], "is_member": [False, True],
                          "country": ["TH", "LA"], "collaborator_ids": [[], [w["owner"].id]]})
    audit.record("follow_up.update", actor=sam, object_type="follow_up",
                 object_id=w["follow_up"].id,
                 changes={"due_at": ["2025-03-04T23:30:00+00:00", "2025-03-05T01:00:00+00:00"]},
                 details={"partner_id": partner.id})
    audit.record("contact.update", actor=sam, object_type="contact", object_id=w["contact"].id,
                 changes={"title": ["", "Director"]})
    audit.record("interaction.update", actor=sam, object_type="interaction",
                 object_id=w["interaction"].id, changes={"sensitivity": ["standard",
                                                                         "restricted"]})
    audit.record("partner.view", actor=w["owner"], object_type="partner",
                 object_id=w["secret"].id)
    audit.record("export", actor=sam, object_type="report:coverage",
                 details={"filters": {"region": "Americas"}, "rows": 12, "format": "csv"})
    audit.record("settings.require_two_factor", actor=w["admin"], object_type="site_setting",
                 changes={"require_two_factor": [False, True]})
    audit.record("user.update", actor=w["admin"], object_type="user", object_id=sam.id,
                 changes={"role": ["viewer", "staff"]})


def test_the_page_names_links_and_spells_out_changes(app, db, client, world):
    _events(world)
    db.session.commit()
    login(client, world["admin"])
    body = client.get("/admin/audit").get_data(as_text=True)
    text = visible_text(body)
    p = world["partner"]
    assert f'<a href="/partners/{p.id}">Mekong Child Safety Network</a>' in body
    assert f"Partner #{p.id}" in text  # the kind and id stay beside the name
    assert "Stage: Dialogue → Agreement" in text
    assert "Owner: Olu Owner → Sam Staff" in text
    assert "Member organisation: no → yes" in text
    assert "Country: Thailand (TH) → Laos (LA)" in text
    assert "Collaborators: empty → Olu Owner" in text
    # a long value is cut, the whole of it kept for a tooltip
    assert f'title="{LONG}"' in body
    assert "Description: empty → A very long description." in text and "…" in text
    # dates in the reader's zone (Tokyo is UTC+9)
    assert "Due: 05 Mar 2025 08:30 → 05 Mar 2025 10:00" in text
    assert "Send the MoU draft (Mekong Child Safety Network)" in text
    assert "Somchai Srisuk (Mekong Child Safety Network)" in text
    assert f'href="/contacts/{world["contact"].id}"' in body
    assert "Call with Mekong Child Safety Network, 05 Mar 2025" in text
    assert f'href="/partners/{p.id}#interaction-{world["interaction"].id}"' in body
    assert "Sensitivity: Standard → Restricted" in text
    # an admin sees the confidential partner's name too
    assert "Quiet Task Force" in text
    # targets without an id
    assert "#None" not in text
    assert "Coverage report" in text and "report:coverage" not in text
    assert 'href="/reports/?report=coverage&amp;region=Americas"' in body
    assert "Site setting" in text and "Require two factor: no → yes" in text
    assert f'href="/admin/users/{world["sam"].id}"' in body
    assert "Role: Viewer → Staff" in text
    assert "{'" not in text and "['" not in text  # no raw Python structures


def test_a_records_first_values_read_without_empty_arrows(db, client, world):
    audit.record("partner.create", actor=world["sam"], object_type="partner",
                 object_id=world["partner"].id,
                 changes={"name": [None, "Mekong"], "stage": [None, "prospect"]})
    db.session.commit()
    login(client, world["admin"])
    text = visible_text(client.get("/admin/audit?action=partner.create").get_data(True))
    assert "Name: Mekong Stage: Prospect" in text and "empty" not in text


def test_names_follow_the_readers_visibility(db, world):
    """The presenter asks crm.services.access: a reader who may not see a record gets
    "Partner #id" and no link, however it is mentioned."""
    _events(world)
    db.session.flush()
    events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    by_action = {e.action: e for e in events}
    secret = world["secret"]
    audit.record("partner.update", actor=world["owner"], object_type="partner",
                 object_id=secret.id, changes={"stage": ["dialogue", "active"]})
    db.session.flush()
    secret_event = db.session.query(AuditEvent).order_by(AuditEvent.id.desc()).first()

    outsider = world["sam"]  # staff, not the owner of the confidential partner
    rows = {r.event.id: r for r in audit_display.present(outsider, [*events, secret_event])}
    hidden = rows[by_action["partner.view"].id].target
    assert (hidden.name, hidden.link, hidden.text) == (None, None, f"Partner #{secret.id}")
    assert rows[secret_event.id].target.text == f"Partner #{secret.id}"
    assert rows[by_action["partner.update"].id].target.name == "Mekong Child Safety Network"

    insider = world["owner"]
    rows = {r.event.id: r for r in audit_display.present(insider, [secret_event])}
    assert rows[secret_event.id].target.name == "Quiet Task Force"


def test_statements_stay_the_same_with_many_rows_of_every_kind(db, client, world,
                                                               count_queries):
    login(client, world["admin"])
    counts = []
    for rounds in (1, 8):  # 8 rows of 8 kinds: the page (50 rows) is full
        for _ in range(rounds):
            _events(world)
        db.session.commit()
        counts.append(statements(client, count_queries, "/admin/audit"))
    assert counts[0] == counts[1], counts


def test_the_page_stays_for_admins(app, db, client, world, make):
    other = app.test_client()
    login(other, make.make_user("manager"))
    assert other.get("/admin/audit").status_code == 403
    login(client, world["admin"])
    assert client.get("/admin/audit").status_code == 200


@pytest.mark.parametrize(("key", "label"), [("owner_id", "Owner"), ("staff_ids", "Staff present"),
                                            ("brand_new_field", "Brand new field"),
                                            ("partner_id", "Partner")])
def test_field_labels(key, label):
    assert audit_display.field_label(key) == label
