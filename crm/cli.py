"""`flask --app crm crm …` commands: one module per area under crm/commands/."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

crm_cli = AppGroup("crm", help="Partner CRM administration commands.")


def register_commands(app: Flask) -> None:
    from crm.commands import demo, digests, imports, reminders, tokens, users  # noqa: F401

    app.cli.add_command(crm_cli)
