"""/api/v1/partners/<id>/contacts and /api/v1/contacts/<id>."""

from __future__ import annotations

from marshmallow import RAISE

from crm.extensions import db
from crm.models import Contact
from crm.services import access, contacts

from . import bp
from .guard import current_user
from .helpers import (
    ETAG_HEADER,
    IF_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    check_if_match,
    documented_errors,
    paginate,
    visible,
    with_etag,
)
from .partners import load as load_partner
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
    """The partner's contacts you may see (archived ones left out), by name."""
    partner = load_partner(partner_id)
    stmt = (access.visible_contacts(current_user())
            .where(Contact.partner_id == partner.id, Contact.archived.is_(False))
            .order_by(Contact.name, Contact.id))
    return paginate(stmt, args)


@bp.route("/partners/<int:partner_id>/contacts", methods=["POST"], tags=["contacts"])
@bp.arguments(ContactIn)
@bp.response(201, ContactOut, headers=ETAG_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def create_contact(data: dict, partner_id: int):
    """Add a contact (sensitivity defaults to the partner's, never lower)."""
    partner = load_partner(partner_id)
    contact = contacts.create_contact(current_user(), partner, data)
    db.session.commit()
    return with_etag(load(contact.id), 201)


@bp.route("/contacts/<int:contact_id>", methods=["GET"], tags=["contacts"])
@bp.response(200, ContactOut, headers=ETAG_HEADER)
@documented_errors(bp, *READ_ERRORS)
def get_contact(contact_id: int):
    """One contact."""
    return with_etag(load(contact_id))


@bp.route("/contacts/<int:contact_id>", methods=["PATCH"], tags=["contacts"])
@bp.doc(parameters=[IF_MATCH])
@bp.arguments(ContactPatch(partial=True))
@bp.response(200, ContactOut, headers=ETAG_HEADER)
@documented_errors(bp, *WRITE_ERRORS)
def update_contact(data: dict, contact_id: int):
    """Change the fields sent; a stale If-Match answers 409."""
    contact = load(contact_id)
    check_if_match(contact)
    contacts.update_contact(current_user(), contact, data)
    db.session.commit()
    return with_etag(load(contact_id))
