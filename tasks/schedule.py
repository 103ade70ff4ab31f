"""The beat schedule. Run exactly one `celery -A tasks beat`."""

from __future__ import annotations

from celery.schedules import crontab

from crm.services.personal_data.retention import NIGHTLY_AT

BEAT_SCHEDULE = {
    "sweep-reminders": {"task": "tasks.reminders.sweep", "schedule": 60.0,
                        "options": {"expires": 55}},
    "sweep-digests": {"task": "tasks.digests.sweep", "schedule": 900.0,
                      "options": {"expires": 840}},
    # nightly (UTC); a run not started within 6 h is dropped: the next night catches up
    "apply-retention": {"task": "tasks.retention.apply",
                        "schedule": crontab(hour=NIGHTLY_AT.hour, minute=NIGHTLY_AT.minute),
                        "options": {"expires": 6 * 3600}},
}
