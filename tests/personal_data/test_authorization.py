"""Who may export or erase a person, through the API: every role × every sensitivity.

Admins: 200 / 204. Anyone else: 403 where they may see the contact, 404 where they may not
(docs/domain.md; the expectation is written out here, not asked of crm.services.access); a
viewer's token is refused every write with 403 before any look-up.
A refused erasure changes nothing.
"""

from __future__ import annotations

from tests.support import snapshot

ROLES = ("owner", "collaborator", "other_staff", "manager_in_region", "manager_outside",
         "admin", "viewer")
SEES = {
    "standard": set(ROLES),
    "restricted": {"owner", "collaborator", "manager_in_region", "admin"},
    "confidential": {"owner", "admin"},
}


def test_export_and_erase_by_role_and_sensitivity(client, db, make):
    from crm.models import Contact
    from crm.services.accounts import tokens

    users = {
        "owner": make.make_user("staff"), "collaborator": make.make_user("staff"),
        "other_staff": make.make_user("staff"),
        "manager_in_region": make.make_user("manager", region_scope="Asia"),
        "manager_outside": make.make_user("manager", region_scope="Europe"),
        "admin": make.make_user("admin"), "viewer": make.make_user("viewer"),
    }
    contacts = {}
    for level in SEES:
        partner = make.make_partner(users["owner"], country="TH", sensitivity=level,
                                    collaborators=[users["collaborator"]])
        contacts[level] = make.make_contact(partner, sensitivity=level)
    auth = {role: {"Authorization": f"Bearer {tokens.create_token(user, 'm')[1]}"}
            for role, user in users.items()}
    db.session.commit()
    wrong = []
    for role in (r for r in ROLES if r != "admin"):  # the admin erases last
        for level, contact in contacts.items():
            expected = 403 if role in SEES[level] else 404
            # a viewer's token is refused every write first (docs/api.md), seen or not
            expected_erase = 403 if role == "viewer" else expected
            got = client.get(f"/api/v1/contacts/{contact.id}/personal-data",
                             headers=auth[role]).status_code
            before = snapshot.take(db)
            erased = client.post(f"/api/v1/contacts/{contact.id}/erase", headers=auth[role])
            if (got, erased.status_code) != (expected, expected_erase):
                wrong.append((role, level, got, erased.status_code, expected, expected_erase))
            if snapshot.unchanged_but_refusals(db, before, snapshot.take(db)):
                wrong.append((role, level, "a refused erasure changed rows"))
    for contact in contacts.values():
        assert client.get(f"/api/v1/contacts/{contact.id}/personal-data",
                          headers=auth["admin"]).status_code == 200
        assert client.post(f"/api/v1/contacts/{contact.id}/erase",
                           headers=auth["admin"]).status_code == 204
        db.session.expire_all()
        assert db.session.get(Contact, contact.id).erased_at is not None
    assert not wrong, wrong
