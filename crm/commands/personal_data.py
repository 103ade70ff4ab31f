"""A person's data from the command line, acting as an administrator (audited as them):

    flask --app crm crm export-personal-data (--contact ID | --user ID) --admin EMAIL
        [--output FILE]
    flask --app crm crm erase-contact ID --admin EMAIL [--confirm NAME] [--keep-mentions]

The same services as the web and the API (crm.services.personal_data); one transaction each.
"""

from __future__ import annotations

import json

import click

from crm.cli import crm_cli
from crm.extensions import db
from crm.models import Contact, User
from crm.services.accounts import users
from crm.services.personal_data import erasure, export


def _admin(email: str) -> User:
    user = users.find_by_email(email)
    if user is None or not user.active or user.role != "admin":
        raise click.ClickException(f"no active administrator with the email {email}")
    return user


def _get(model: type, object_id: int, what: str):
    found = db.session.get(model, object_id) if 0 < object_id < 2**31 else None
    if found is None:
        raise click.ClickException(f"no {what} #{object_id}")
    return found


@crm_cli.command("export-personal-data")
@click.option("--contact", "contact_id", type=int, help="The contact's id.")
@click.option("--user", "user_id", type=int, help="A user account's id (instead).")
@click.option("--admin", "admin_email", required=True, help="The administrator acting.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the JSON here (default: print it).")
def export_personal_data(contact_id: int | None, user_id: int | None, admin_email: str,
                         output: str | None) -> None:
    """Everything held about a contact (or a user account) as one JSON document."""
    if (contact_id is None) == (user_id is None):
        raise click.UsageError("give exactly one of --contact and --user")
    admin = _admin(admin_email)
    if contact_id is not None:
        document = export.export_contact(admin, _get(Contact, contact_id, "contact"))
    else:
        document = export.export_user(admin, _get(User, user_id, "user"))
    db.session.commit()  # the export's audit event
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output:
        with open(output, "w", encoding="utf-8") as sink:
            sink.write(text + "\n")
        click.echo(f"written to {output}", err=True)
    else:
        click.echo(text)


@crm_cli.command("erase-contact")
@click.argument("contact_id", type=int)
@click.option("--admin", "admin_email", required=True, help="The administrator acting.")
@click.option("--confirm", "confirmation", default=None,
              help="The contact's name, typed out (asked for when not given).")
@click.option("--keep-mentions", is_flag=True,
              help="Leave the interaction and follow-up texts that name them as they are.")
def erase_contact(contact_id: int, admin_email: str, confirmation: str | None,
                  keep_mentions: bool) -> None:
    """Erase a contact: "Erased contact #ID", audit values scrubbed, mentions redacted."""
    admin = _admin(admin_email)
    contact = _get(Contact, contact_id, "contact")
    if contact.erased_at is not None:
        click.echo(f"{contact.name} was already erased; nothing changed.")
        return
    mentions = [] if keep_mentions else erasure.find_mentions(contact)
    if confirmation is None:
        confirmation = click.prompt(f"Type the contact's name ({contact.name}) to confirm")
    if not erasure.confirms(confirmation, contact.name):
        raise click.ClickException("that is not the contact's name; nothing changed")
    erased = erasure.erase_contact(admin, contact, redact_keys=() if keep_mentions else None)
    db.session.commit()
    if not erased:  # someone else erased them meanwhile
        click.echo(f"{contact.name} was already erased; nothing changed.")
        return
    click.echo(f"Erased: now {contact.name}; {len(mentions)} mention(s) redacted.")
