"""`flask crm export-personal-data` and `flask crm erase-contact`: the same services, as an
administrator named on the command line."""

from __future__ import annotations

import json

from .conftest import EMAIL, NAME


def _run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["crm", *args], input=input)


def test_export_prints_the_document_and_audits_it(app, db, person, tmp_path):
    from crm.models import AuditEvent

    result = _run(app, "export-personal-data", "--contact", str(person.contact.id),
                  "--admin", person.admin.email)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["contact"]["email"] == EMAIL
    out = tmp_path / "user.json"
    result = _run(app, "export-personal-data", "--user", str(person.staff.id),
                  "--admin", person.admin.email, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["user"]["email"] == "staffer@example.org"
    assert {e.action for e in db.session.query(AuditEvent).filter(
        AuditEvent.action.like("%.export_personal_data"))} == {
        "contact.export_personal_data", "user.export_personal_data"}
    refused = _run(app, "export-personal-data", "--contact", str(person.contact.id),
                   "--admin", person.staff.email)
    assert refused.exit_code != 0 and "no active administrator" in refused.output


def test_erase_asks_for_the_name_and_erases_once(app, db, person):
    from crm.models import Contact

    wrong = _run(app, "erase-contact", str(person.contact.id), "--admin", person.admin.email,
                 input="Someone Else\n")
    assert wrong.exit_code != 0 and "nothing changed" in wrong.output
    db.session.expire_all()
    assert db.session.get(Contact, person.contact.id).erased_at is None
    done = _run(app, "erase-contact", str(person.contact.id), "--admin", person.admin.email,
                "--keep-mentions", input=f"{NAME.lower()}\n")
    assert done.exit_code == 0, done.output
    assert f"now Erased contact #{person.contact.id}; 0 mention(s)" in done.output
    again = _run(app, "erase-contact", str(person.contact.id), "--admin", person.admin.email,
                 "--confirm", "x")
    assert again.exit_code == 0 and "already erased" in again.output
