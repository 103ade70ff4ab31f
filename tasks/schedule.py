"""The beat schedule. Run exactly one `celery -A tasks beat`."""

from __future__ import annotations

BEAT_SCHEDULE = {
    "sweep-reminders": {"task": "tasks.reminders.sweep", "schedule": 60.0,
                        "options": {"expires": 55}},
    "sweep-digests": {"task": "tasks.digests.sweep", "schedule": 900.0,
                      "options": {"expires": 840}},
}
