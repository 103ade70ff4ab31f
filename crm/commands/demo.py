"""flask --app crm crm seed-demo"""

from __future__ import annotations

import click

from crm.cli import crm_cli
from crm.extensions import db
from crm.services import demo


@crm_cli.command("seed-demo")
def seed_demo() -> None:
    """Load the demo network (only into an empty database)."""
    made = demo.seed_demo()
    db.session.commit()
    if not made:
        click.echo("Users already exist: demo data not loaded.")
        return
    click.echo("Loaded demo data: " + ", ".join(f"{v} {k}" for k, v in made.items()))
    click.echo(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
    for email, _name, role, _tz, _region in demo.DEMO_USERS:
        click.echo(f"  {role:8} {email}")
