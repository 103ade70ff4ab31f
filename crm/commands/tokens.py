"""flask --app crm crm create-token EMAIL"""

from __future__ import annotations

import click

from crm.cli import crm_cli
from crm.extensions import db
from crm.services.accounts import tokens, users


@crm_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def create_token(email: str, name: str) -> None:
    """Create an API token for EMAIL and print it once."""
    user = users.find_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user with the email {email}")
    _token, plain = tokens.create_token(user, name)
    db.session.commit()
    click.echo(plain)
