"""`flask --app crm crm …` commands: one module per area under crm/commands/."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

crm_cli = AppGroup("crm", help="Partner CRM administration commands.")


def register_commands(app: Flask) -> None:
    from crm.commands import (  # noqa: F401
        demo,
        digests,
        imports,
        personal_data,
        reminders,
        retention,
        tokens,
        users,
    )

    app.cli.add_command(crm_cli)
