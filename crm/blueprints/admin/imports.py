"""/admin/import: upload a CSV of partners, map columns, preview problems, run, see results;
/admin/import/agreements: the same for agreements (the job's `kind` picks the machinery:
crm.services.imports.KINDS).

The import itself runs as the Celery task `tasks.imports.run`; the page polls a status
fragment with htmx. Jobs are visible to the person who uploaded them and to admins.
A row that clashes with a partner or contact the importer cannot see is refused with the
same neutral words whatever the record (no oracle); administrators see why.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from crm import uow
from crm.blueprints.csvdownload import csv_download
from crm.blueprints.decorators import roles_required
from crm.celery_app import enqueue
from crm.extensions import db
from crm.forms.errors import show_service_errors
from crm.forms.imports import MappingForm, UploadForm
from crm.models import ImportJob
from crm.services import audit, imports
from crm.services.errors import ValidationError

from . import bp

ROLES = ("admin", "manager")
PREVIEW_LIMIT = 200


def _job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id, populate_existing=True)  # progress is live
    if job is None or not (current_user.is_admin or job.created_by_id == current_user.id):
        abort(404)
    return job


def _too_large_message() -> str:
    limit = min(current_app.config["IMPORT_MAX_BYTES"],
                current_app.config.get("MAX_CONTENT_LENGTH") or float("inf"))
    return f"The file is larger than the {limit / 1e6:.1f} MB limit. Split it into smaller files."


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*ROLES)
def import_partners():
    return _upload("partners")


@bp.route("/import/agreements", methods=["GET", "POST"])
@roles_required(*ROLES)
def import_agreements():
    return _upload("agreements")


def _upload(kind: str):
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        form = UploadForm(formdata=None)
        form.file.errors = [_too_large_message()]
        return render_template("admin/import_upload.html", form=form, jobs=_recent(),
                               kind=kind), 413
    try:
        form = UploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        form = UploadForm(formdata=None)
        form.file.errors = [_too_large_message()]
        return render_template("admin/import_upload.html", form=form, jobs=_recent(),
                               kind=kind), 413
    if valid:
        upload = form.file.data
        data = upload.read(limit + 1)
        try:
            decoded = imports.decode_upload(data, upload.filename or "", limit)
            job = imports.create_job(current_user, upload.filename or "upload.csv", decoded,
                                     kind=kind)
        except ValidationError as exc:
            uow.rollback()  # now: `_recent()` below must not autoflush a half-made job
            show_service_errors(form, exc.fields, fallback="file")
            return render_template("admin/import_upload.html", form=form, jobs=_recent(),
                                   kind=kind), 400
        if decoded.note:
            flash(decoded.note, "warning")
        return redirect(url_for("admin.import_job", job_id=job.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/import_upload.html", form=form, jobs=_recent(),
                           kind=kind), status


def _recent() -> list[ImportJob]:
    stmt = db.select(ImportJob).order_by(ImportJob.id.desc()).limit(10)
    if not current_user.is_admin:
        stmt = stmt.where(ImportJob.created_by_id == current_user.id)
    return list(db.session.scalars(stmt))


@bp.route("/import/<int:job_id>", methods=["GET", "POST"])
@roles_required(*ROLES)
def import_job(job_id: int):
    job = _job(job_id)
    if job.status != "pending":
        return render_template("admin/import_job.html", job=job)
    header, table = imports.job_table(job)
    kind = imports.KINDS[job.kind or "partners"]
    form = MappingForm()
    mapping = dict(job.mapping or {})
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        mapping = {f: request.form.get(f"map-{f}", "") for f in kind.fields}
        mapping = {f: c for f, c in mapping.items() if c}
        job.mapping = mapping
        try:
            kind.clean_mapping(header, mapping)
        except ValidationError as exc:
            errors = exc.fields
        if not errors and form.start.data:
            job.status = "running"
            job.processed_rows = 0
            uow.after_commit(lambda job_id=job.id: _start(job_id))
            return redirect(url_for("admin.import_job", job_id=job.id))
        if errors:
            # deliberate: the chosen mapping is kept although the preview answers 400
            db.session.commit()
    checked = None
    if not errors:
        try:
            checked = kind.check_rows(header, table, kind.clean_mapping(header, mapping),
                                      current_user)
        except ValidationError as exc:
            errors = exc.fields
    return render_template("admin/import_preview.html", job=job, form=form, header=header,
                           mapping=mapping, fields=kind.fields, required=kind.required,
                           checked=checked,
                           errors=errors, limit=PREVIEW_LIMIT), (400 if errors and
                                                                 request.method == "POST"
                                                                 else 200)


def _start(job_id: int) -> None:
    """Hand the committed job to the worker (after the request's commit)."""
    if not enqueue(current_app, "tasks.imports.run", job_id):
        flash("The task queue is not reachable right now; the import will start when "
              "a worker is available.", "warning")


@bp.get("/import/<int:job_id>/status")
@roles_required(*ROLES)
def import_status(job_id: int):
    job = _job(job_id)
    response = Response(render_template("admin/import_status.html", job=job))
    if job.status in ("done", "failed") and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"
    return response


@bp.get("/import/<int:job_id>/results.csv")
@roles_required(*ROLES)
def import_results(job_id: int):
    job = _job(job_id)
    # why a row was withheld from its importer is for administrators only
    admin = current_user.is_admin
    rows = imports.result_rows(job, with_detail=admin)
    audit.record("export", actor=current_user.id, object_type="import_results",
                 object_id=job.id, details={"rows": len(rows), "format": "csv"})
    # the unit of work commits this audit event before the first row is streamed
    header = imports.ADMIN_RESULT_HEADER if admin else imports.RESULT_HEADER
    return csv_download(f"import-{job.id}-results.csv", header, rows)
