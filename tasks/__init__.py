"""The Celery application: `celery -A tasks worker` / `celery -A tasks beat`.

Builds the Flask app and its Celery app (Flask's celery_init_app pattern). Celery's
`-A tasks` looks up `tasks.app` first, so `app` is the Celery app; the Flask app
is `flask_app`.
"""

from celery.signals import worker_process_shutdown

from crm import create_app, mail

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
app = celery_app

from tasks import delivery, digests, imports, misc, reminders, retention  # noqa: E402,F401,I001
from tasks.schedule import BEAT_SCHEDULE  # noqa: E402

celery_app.conf.beat_schedule = BEAT_SCHEDULE


@worker_process_shutdown.connect
def _close_smtp(**_kwargs: object) -> None:
    """A worker process keeps one SMTP connection (crm/mail.py); QUIT it on the way out."""
    mail.close_connection()
