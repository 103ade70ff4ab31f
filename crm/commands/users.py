"""flask --app crm crm create-user EMAIL --name NAME --role ROLE [--password P]"""

from __future__ import annotations

import click

from crm.cli import crm_cli
from crm.extensions import db
from crm.models.enums import ROLES
from crm.services.accounts import users


@crm_cli.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--region", "region_scope", default=None, help="Region scope (managers).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when absent.")
def create_user(email: str, name: str, role: str, timezone: str, region_scope: str | None,
                password: str) -> None:
    """Create a user who can sign in at once."""
    try:
        user = users.create_user(email, name, role, password, timezone=timezone,
                                 region_scope=region_scope)
    except users.UserError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")
