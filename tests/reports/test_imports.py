"""CSV import: clear refusals, the preview's problems, idempotent re-import, rollback."""

from __future__ import annotations

import io
import re

import pytest

from crm.extensions import db as _db
from crm.models import AuditEvent, Contact, ImportJob, Partner, PartnerTag
from crm.services import imports
from crm.services.errors import ValidationError
from crm.services.imports import writers
from tests.support import factories as f
from tests.support.http import csrf_token

GOOD = (
    "Organisation,Country,Sector,Stage,Website,Tags,Contact name,Contact email\n"
    "Fundación Renacer,Colombia,Civil society,active,renacer.org,osec;hotline,Ana Ruiz,ana@renacer.org\n"
    "Fundación Renacer,CO,civil_society,,,,Luis Paz,luis@renacer.org\n"
    "Kigali Digital Trust,RWA,Technology,prospect,,,,\n"
    "Travel Watch,TH,Travel & tourism,,,,Tom,tom@example.org\n"
)
BAD = (
    "name,country,sector,contact email\n"
    ",TH,media,\n"
    "Narnia Org,Narnia,media,\n"
    "Mail Org,TH,media,not-an-email\n"
    "Pirates,TH,piracy,\n"
    "Existing Partner,TH,media,\n"
    "Dup Contact Org,KE,media,known@example.net\n"
)


def _check(text: str, user=None) -> imports.Checked:
    header, table = imports.read_table(text)
    return imports.check_rows(header, table, imports.clean_mapping(
        header, imports.auto_mapping(header)), user)


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "x.csv", "The file is empty."),
    (b"   \n\n", "x.csv", "The file is empty."),
    (b"PK\x03\x04rest-of-a-zip", "partners.xlsx", "spreadsheet workbook, not CSV"),
    (b"%PDF-1.4", "partners.pdf", "Upload a .csv file."),
    (b"name,country\x00\x00", "x.csv", "binary data"),
    (b"a" * 2000, "x.csv", "the limit is"),
])
def test_refusals_say_why(data, name, message):
    with pytest.raises(ValidationError) as info:
        imports.decode_upload(data, name, max_bytes=1000)
    assert message in info.value.fields["file"]


def test_latin1_is_read_and_said():
    decoded = imports.decode_upload("name,country\nFundación,CO\n".encode("latin-1"), "a.csv",
                                    10_000)
    assert decoded.encoding == "latin-1" and "Latin-1" in decoded.note
    assert "Fundación" in decoded.text
    utf8 = imports.decode_upload("\ufeffname\nÑ\n".encode(), "a.csv", 10_000)
    assert utf8.encoding == "utf-8" and utf8.note is None and utf8.text == "name\nÑ\n"


@pytest.mark.parametrize(("text", "message"), [
    ("just one column\nvalue\n", "header row"),
    ("name,country,sector\n", "no data rows"),
])
def test_not_a_table(text, message):
    with pytest.raises(ValidationError) as info:
        imports.read_table(text)
    assert message in info.value.fields["file"]


def test_auto_mapping_and_semicolons():
    header, _ = imports.read_table("Partner name;ISO;Type;Contact e-mail\nA;TH;media;a@b.org\n")
    assert imports.auto_mapping(header) == {"name": "Partner name", "country": "ISO",
                                            "sector": "Type", "contact_email": "Contact e-mail"}
    with pytest.raises(ValidationError) as info:
        imports.clean_mapping(header, {"name": "Partner name"})
    assert "Sector" in info.value.fields["mapping"] and "Country" in info.value.fields["mapping"]


def test_preview_lists_problems_per_row(db):
    existing = f.make_partner(name="Existing Partner", country="TH", sector="media")
    other = f.make_partner(name="Somewhere", country="KE")
    f.make_contact(other, email="Known@example.net")
    checked = _check(BAD)
    problems = {r.line: r.problems for r in checked.rows}
    assert problems[2] == ["missing name"]
    assert problems[3] == ["unknown country 'Narnia'"]
    assert problems[4][0].startswith("bad contact email")
    assert problems[5] == ["unknown sector 'piracy'"]
    assert problems[6] == [] and problems[7] == []
    notes = {r.line: " ".join(r.notes) for r in checked.rows}
    assert f"duplicate of existing partner #{existing.id}" in notes[6]
    assert "duplicate contact: known@example.net already exists" in notes[7]
    assert checked.summary() == {"rows": 6, "problems": 4, "new_partners": 1,
                                 "existing_partners": 1}


def test_preview_hides_partners_the_importer_cannot_see(db):
    owner = f.make_user("staff")
    manager = f.make_user("manager", region_scope="Africa")
    f.make_partner(owner, name="Existing Partner", country="TH", sector="media",
                   sensitivity="confidential")
    row = next(r for r in _check(BAD, manager).rows if r.line == 6)
    # refused (never a silent duplicate), in words that do not say the partner exists
    assert row.problems == [imports.WITHHELD] and row.notes == []
    assert "confidential" in row.withheld[0]  # why: for administrators only
    admin_row = next(r for r in _check(BAD, f.make_user("admin")).rows if r.line == 6)
    assert admin_row.ok and "duplicate of existing partner" in admin_row.notes[0]


def _run(text: str, user) -> imports.Outcome:
    job = imports.create_job(user, "p.csv", imports.Decoded(text, "utf-8"))
    out = imports.execute_job(job)
    _db.session.commit()
    return out


def test_import_creates_then_reimport_changes_nothing(db):
    admin = f.make_user("admin")
    out = _run(GOOD, admin)
    assert (out.created, out.updated, out.skipped, out.failed) == (3, 1, 0, 0)
    renacer = db.session.query(Partner).filter_by(name_key="fundacion renacer").one()
    assert (renacer.country, renacer.region, renacer.sector, renacer.stage) == (
        "CO", "Americas", "civil_society", "active")
    assert renacer.website == "https://renacer.org" and renacer.owner_id == admin.id
    assert {t.tag for t in db.session.query(PartnerTag).filter_by(partner_id=renacer.id)} == {
        "osec", "hotline"}
    assert db.session.query(Contact).count() == 3
    assert db.session.query(AuditEvent).filter_by(action="partner.create").count() == 3
    counts = (db.session.query(Partner).count(), db.session.query(Contact).count(),
              db.session.query(PartnerTag).count())

    again = _run(GOOD, admin)
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert again.skipped == 4
    assert (db.session.query(Partner).count(), db.session.query(Contact).count(),
            db.session.query(PartnerTag).count()) == counts


def test_reimport_updates_changed_fields_and_audits(db):
    admin = f.make_user("admin")
    _run(GOOD, admin)
    out = _run(GOOD.replace("Technology,prospect", "Technology,dialogue"), admin)
    assert (out.created, out.updated) == (0, 1)
    kigali = db.session.query(Partner).filter_by(country="RW").one()
    assert kigali.stage == "dialogue" and kigali.version == 2
    event = db.session.query(AuditEvent).filter_by(action="partner.update").one()
    assert event.changes == {"stage": ["prospect", "dialogue"]}


def test_failure_rolls_back_the_whole_file(db, monkeypatch):
    """A failure after partners were inserted leaves nothing behind (task path)."""
    from tasks import imports as task_module

    admin = f.make_user("admin")
    job = imports.create_job(admin, "p.csv", imports.Decoded(GOOD, "utf-8"))
    db.session.commit()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writers, "_add_contacts", boom)
    assert task_module.run(job.id) == "failed"
    db.session.expire_all()
    assert db.session.query(Partner).count() == 0
    assert db.session.query(AuditEvent).filter_by(action="partner.create").count() == 0
    job = db.session.get(ImportJob, job.id)
    assert job.status == "failed" and "disk on fire" in job.error
    assert "Nothing was imported" in job.error


def test_bulk_statements_not_per_row(db, count_queries):
    admin = f.make_user("admin")
    rows = "".join(f"Org {i},TH,media,,,,C{i},c{i}@example.org\n" for i in range(2500))
    text = GOOD.splitlines()[0] + "\n" + rows
    job = imports.create_job(admin, "p.csv", imports.Decoded(text, "utf-8"))
    with count_queries() as counter:
        out = imports.execute_job(job)
    assert out.created == 2500
    # per chunk of 1000 rows: SELECT partners, SELECT contacts, INSERT partners, INSERT
    # contacts, INSERT audit … a few statements, never one per row
    assert counter.count < 40, counter.count


# --- the web pages -----------------------------------------------------------------------

def _upload(client, text: bytes, name: str = "partners.csv"):
    token = csrf_token(client, "/admin/import")
    return client.post("/admin/import", data={"csrf_token": token,
                                              "file": (io.BytesIO(text), name)},
                       content_type="multipart/form-data")


def test_web_upload_preview_and_start(db, client, login_as):
    manager = f.make_user("manager")
    login_as(manager)
    response = _upload(client, BAD.encode())
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "unknown country &#39;Narnia&#39;" in page and "missing name" in page
    assert 'data-problems="4"' in page
    # change the mapping: without a country column the preview says what is missing
    token = csrf_token(client, job_url)
    bad_map = client.post(job_url, data={"csrf_token": token, "map-name": "name",
                                         "map-sector": "sector", "preview": "1"})
    assert bad_map.status_code == 400 and "Choose the column holding: Country" in bad_map.get_data(as_text=True)
    started = client.post(job_url, data={"csrf_token": token, "map-name": "name",
                                         "map-country": "country", "map-sector": "sector",
                                         "start": "1"})
    assert started.status_code == 302
    job = db.session.scalars(db.select(ImportJob)).one()
    db.session.refresh(job)
    assert job.status == "running" and job.mapping["country"] == "country"
    status = client.get(f"/admin/import/{job.id}/status").get_data(as_text=True)
    assert 'data-status="running"' in status and 'hx-trigger="every 1s"' in status
    assert db.session.query(Partner).count() == 0  # nothing written before the worker runs


def test_web_refusals_are_messages_beside_the_field(db, client, login_as, app):
    login_as(f.make_user("admin"))
    empty = _upload(client, b"")
    assert empty.status_code == 400 and "The file is empty." in empty.get_data(as_text=True)
    xlsx = _upload(client, b"PK\x03\x04....", "p.xlsx")
    assert "not CSV" in xlsx.get_data(as_text=True)
    latin = _upload(client, "name,country,sector\nCrème,FR,media\n".encode("latin-1"))
    assert latin.status_code == 302
    assert "Latin-1" in client.get(latin.headers["Location"]).get_data(as_text=True)
    app.config["IMPORT_MAX_BYTES"] = 100
    try:
        big = _upload(client, b"name,country,sector\n" + b"x,TH,media\n" * 50)
    finally:
        app.config["IMPORT_MAX_BYTES"] = 20 * 1024 * 1024
    assert big.status_code in (400, 413) and "limit" in big.get_data(as_text=True)


def test_import_pages_are_for_admins_and_managers(db, client, login_as):
    login_as(f.make_user("staff"))
    assert client.get("/admin/import").status_code == 403


def test_results_page_and_csv(db, client, login_as):
    admin = f.make_user("admin")
    job = imports.create_job(admin, "p.csv", imports.Decoded(BAD.replace(
        "Narnia Org", "=Narnia Org"), "utf-8"))
    imports.execute_job(job)
    db.session.commit()
    login_as(admin)
    page = client.get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert re.search(r'data-outcome="failed"', page) and "unknown country" in page
    csv_text = client.get(f"/admin/import/{job.id}/results.csv").data.decode("utf-8-sig")
    assert "3,'=Narnia Org,failed,unknown country 'Narnia'" in csv_text
    other = f.make_user("manager")
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_as(other)
    assert client.get(f"/admin/import/{job.id}").status_code == 404


# --- the CLI -----------------------------------------------------------------------------

def test_cli_import_dry_run_then_import_then_again(db, app, tmp_path):
    admin = f.make_user("admin", email="boss@example.org")
    db.session.commit()
    path = tmp_path / "partners.csv"
    path.write_text(GOOD, encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["crm", "import-partners", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 new partners" in dry.output and "Dry run: nothing written." in dry.output
    assert db.session.query(Partner).count() == 0
    report = tmp_path / "results.csv"
    first = runner.invoke(args=["crm", "import-partners", str(path), "--as", "BOSS@example.org",
                                "--report", str(report)])
    assert first.exit_code == 0, first.output
    assert "Created 3, updated 1, skipped 0, failed 0" in first.output
    assert report.read_text(encoding="utf-8").startswith("\ufeffrow,name,outcome,reason")
    assert db.session.query(Partner).filter_by(owner_id=admin.id).count() == 3
    again = runner.invoke(args=["crm", "import-partners", str(path)])
    assert "Created 0, updated 0, skipped 4, failed 0" in again.output


def test_cli_refuses_a_workbook(app, tmp_path):
    path = tmp_path / "partners.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    result = app.test_cli_runner().invoke(args=["crm", "import-partners", str(path)])
    assert result.exit_code != 0 and "not CSV" in result.output
