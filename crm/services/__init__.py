"""Domain logic shared by the web, the API, the CLI and Celery.

Services take plain values, work on `db.session`, flush and return; the caller
(a view, a task, a command) owns the transaction and commits.
"""
