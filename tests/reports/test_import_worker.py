"""A real `celery -A tasks worker` runs an import and reports progress on the ImportJob row."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery

from crm.services import imports
from tests.support import factories as f
from tests.support.wait import wait_for_log, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROWS = 6_000


@pytest.fixture
def worker(database_url, tmp_path):
    """The worker on the embedded filesystem broker inside its own instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "CRM_", "SMTP_"))}
    env.update(CRM_CONFIG="test", CRM_INSTANCE_PATH=str(tmp_path), DATABASE_URL=database_url,
               PYTHONUNBUFFERED="1")
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "tasks", "worker", "--concurrency", "1", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=out, stderr=out)
    wait_for_log(log, "ready", process, timeout=90)
    folder = str(tmp_path / "broker" / "out")
    producer = Celery("producer", broker="filesystem://", broker_transport_options={
        "data_folder_in": folder, "data_folder_out": folder})
    producer.conf.task_serializer = "json"
    try:
        yield producer, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.postgres
def test_worker_imports_and_reports_progress(db, client, login_as, worker):
    producer, log = worker
    admin = f.make_user("admin")
    text = "name,country,sector,contact email\n" + "".join(
        f"Org {i},{('TH', 'KE', 'BR', 'DE')[i % 4]},media,p{i}@example.org\n"
        for i in range(ROWS))
    job = imports.create_job(admin, "big.csv", imports.Decoded(text, "utf-8"))
    job.status = "running"
    db.session.commit()
    login_as(admin)

    producer.send_task("tasks.imports.run", args=[job.id])
    seen: list[int] = []

    def finished() -> str | None:  # what the page's progress bar polls, sampled as it runs
        body = client.get(f"/admin/import/{job.id}/status").get_data(as_text=True)
        seen.append(int(re.search(r'data-processed="(\d+)"', body).group(1)))
        status = re.search(r'data-status="(\w+)"', body).group(1)
        return status if status in ("done", "failed") else None

    status = wait_until(finished, timeout=240, interval=0.1,
                        message=lambda: f"the import to finish:\n{log.read_text()[-3000:]}")
    assert status == "done", log.read_text()[-3000:]
    assert any(0 < n < ROWS for n in seen), f"no intermediate progress seen: {sorted(set(seen))}"
    assert seen[-1] == ROWS
    db.session.expire_all()
    db.session.refresh(job)
    assert (job.created_count, job.failed_count, job.total_rows) == (ROWS, 0, ROWS)
    page = client.get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert f"{ROWS} created" in page
