"""Import tasks: thin wrappers around crm.services.imports (the task is one unit of work,
crm/celery_app.py; the import commits itself so a failed commit still marks the job)."""

from __future__ import annotations

from celery import shared_task

from crm.extensions import db
from crm.models import ImportJob
from crm.services import imports


@shared_task(name="tasks.imports.run", soft_time_limit=1800, time_limit=1900)
def run(job_id: int) -> str:
    """Import one uploaded file in one transaction; progress is written as it goes."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status in ("done", "failed"):
        return "nothing to do"
    imports.store_progress(job_id, 0)
    try:
        imports.execute_job(job, progress=lambda n: imports.store_progress(job_id, n))
        # deliberate, before the task's own commit: a COMMIT that fails (a constraint checked
        # at commit) must land in the handler below and mark the job failed
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - any failure rolls the whole file back
        db.session.rollback()
        imports.mark_failed(job_id, f"Nothing was imported: {exc}")
        return "failed"
    return "done"
