"""The agreements CSV import on the partner import's machinery: upload, preview with each
row's problems, the job run by the task's own function, results; the export reads back as
is and a re-import creates and changes nothing; hidden partners are refused neutrally."""

from __future__ import annotations

import io
from datetime import date

from crm.models import Agreement, AuditEvent, ImportJob
from crm.services import imports
from tests.agreement_reminders.helpers import make_agreement
from tests.support.http import csrf_token

FILE = """partner,country,kind,title,status,signed_on,expires_on,reporting_every_months
Bangkok Hotels,Thailand,The Code,Code membership,active,2024-01-15,2027-01-14,
Bangkok Hotels,TH,mou,Training MoU,signed,2025-02-01,2024-01-01,
Nowhere Inc,TH,mou,Ghost MoU,,,,
Bangkok Hotels,TH,treaty,Odd,,,,
Bangkok Hotels,TH,the_code,code MEMBERSHIP,,,,
Secret Unit,TH,mou,Hidden MoU,,,,
"""


def _upload(client, text: str):
    token = csrf_token(client, "/admin/import/agreements")
    return client.post("/admin/import/agreements",
                       data={"csrf_token": token,
                             "file": (io.BytesIO(text.encode()), "agreements.csv")},
                       content_type="multipart/form-data")


def _run(db) -> ImportJob:
    """What the Celery task `tasks.imports.run` does, in process."""
    job = db.session.scalars(db.select(ImportJob).order_by(ImportJob.id.desc())).first()
    imports.execute_job(job)
    db.session.commit()
    return job


def test_upload_preview_import_then_reimport_of_the_export_changes_nothing(
        app, db, make, client, login_as):
    manager = make.make_user("manager")
    other = make.make_user()
    make.make_partner(owner=manager, name="Bangkok Hotels", country="TH",
                      sector="travel_tourism")
    make.make_partner(owner=other, name="Secret Unit", country="TH", sensitivity="confidential")
    login_as(manager)
    response = _upload(client, FILE)
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "1</strong> new agreements" in page and 'data-problems="4"' in page
    assert "Expires on: The expiry date cannot be before the signing date." in page
    assert "no partner with this name and country" in page and "unknown kind" in page
    assert "same agreement as line 2" in page
    assert "ask an administrator" in page and "confidential" not in page  # no oracle
    token = csrf_token(client, job_url)
    started = client.post(job_url, data={"csrf_token": token, "start": "1", **{
        f"map-{f}": c for f, c in db.session.scalars(db.select(ImportJob)).one()
        .mapping.items()}})
    assert started.status_code == 302
    job = _run(db)
    assert (job.status, job.created_count, job.failed_count, job.skipped_count) == (
        "done", 1, 4, 1)
    [code] = db.session.scalars(db.select(Agreement)).all()
    assert (code.kind, code.status, code.expires_on, code.reporting_every_months) == (
        "the_code", "active", date(2027, 1, 14), 12)
    assert db.session.query(AuditEvent).filter_by(action="agreement.create").count() == 1
    assert db.session.query(AuditEvent).filter_by(action="import.agreements").count() == 1

    # the export reads back as is: nothing new, nothing changed
    exported = client.get("/exports/agreements.csv").data.decode("utf-8-sig")
    assert _upload(client, exported).status_code == 302
    again = _run(db)
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 1)
    assert db.session.query(Agreement).count() == 1

    # a changed cell updates that field, audited old → new
    changed = exported.replace("2027-01-14", "2028-01-14")
    _upload(client, changed)
    third = _run(db)
    assert (third.created_count, third.updated_count) == (0, 1)
    db.session.refresh(code)
    assert code.expires_on == date(2028, 1, 14) and code.version == 2
    assert client.get("/admin/import/agreements").status_code == 200


def test_agreements_the_importer_cannot_see_are_withheld(db, make):
    manager = make.make_user("manager", region_scope="Europe")
    owner = make.make_user()
    hidden = make.make_partner(owner=owner, name="Thai Police", country="TH",
                               sensitivity="restricted")
    shown = make.make_partner(owner=owner, name="Paris Hotels", country="FR")
    make_agreement(shown, title="Restricted MoU", sensitivity="confidential")
    header = ["partner_id", "kind", "title"]
    table = [[str(hidden.id), "mou", "A"], [str(shown.id), "mou", "restricted mou"],
             [str(shown.id), "mou", "Fine"]]
    checked = imports.KINDS["agreements"].check_rows(
        header, table, {"partner_id": "partner_id", "kind": "kind", "title": "title"},
        manager)
    assert [r.problems for r in checked.rows] == [[imports.WITHHELD], [imports.WITHHELD], []]
    assert "restricted" in checked.rows[0].withheld[0]  # for administrators only
