"""/api/v1/partners/<id>/contacts and /api/v1/contacts/<id>."""

from __future__ import annotations

from marshmallow import RAISE

from crm.models import Contact
from crm.services import access, contacts

from . import bp
from .guard import current_user
from .helpers import (
    ETAG_HEADER,
    READ_ERRORS,
    WRITE_ERRORS,
    documented_errors,
    paginate,
    visible,
    with_etag,
)
from .idempotent import REPLAYED_HEADER, idempotent
from .partners import load as load_partner
from .records import get_and_patch
from .schemas import ContactIn, ContactOut, ContactPatch, PageArgs, list_schema

ContactList = list_schema(ContactOut, "ContactList")


def load(contact_id: int) -> Contact:
    return visible(Contact, contact_id)


@bp.route("/partners/<int:partner_id>/contacts", methods=["GET"], tags=["contacts"])
@bp.arguments(PageArgs, location="query", as_kwargs=False,
              unknown=RAISE)
@bp.response(200, ContactList)
@documented_errors(bp, *READ_ERRORS)
def list_contacts(args: dict, partner_id: int):
    """The partner's contacts you may see (archived and erased ones left out), by name."""
    partner = load_partner(partner_id)
    stmt = (access.visible_contacts(current_user())
            .where(Contact.partner_id == partner.id, Contact.archived.is_(False),
                   Contact.erased_at.is_(None))
            .order_by(Contact.name, Contact.id))
    return paginate(stmt, args)


@bp.route("/partners/<int:partner_id>/contacts", methods=["POST"], tags=["contacts"])
@idempotent(bp)
@bp.arguments(ContactIn)
@bp.response(201, ContactOut, headers={**ETAG_HEADER, **REPLAYED_HEADER})
@documented_errors(bp, *WRITE_ERRORS)
def create_contact(data: dict, partner_id: int):
    """Add a contact (sensitivity defaults to the partner's, never lower)."""
    partner = load_partner(partner_id)
    contact = contacts.create_contact(current_user(), partner, data)
    return with_etag(load(contact.id), 201)


get_and_patch("/contacts/<int:contact_id>", name="contact", tag="contacts", out=ContactOut,
              patch=ContactPatch, load=load, update=contacts.update_contact)
