"""/api/v1/contacts/<id>/personal-data and /api/v1/contacts/<id>/erase (admins).

A contact the token's user may not see answers 404; one they see without being an admin
answers 403 (crm.services.personal_data checks the role).
"""

from __future__ import annotations

from marshmallow import Schema, fields

from crm.services.personal_data import erasure, export

from . import bp
from . import fields as f
from .contacts import load
from .guard import current_user
from .helpers import WRITE_ERRORS, documented_errors


class PersonalDataOut(Schema):
    """Everything held about one contact (docs/api.md: personal data)."""

    kind = fields.String(required=True, metadata={"description": "`contact`"})
    generated_at = fields.String(required=True, metadata={"description": "ISO 8601"})
    contact = fields.Dict(required=True, metadata={
        "description": "every field of the contact record, with `partner_name`"})
    interactions = fields.List(fields.Dict(), required=True, metadata={
        "description": "the interactions they attended (date, kind, partner, summary and "
                       "outcome as stored); other people present only as \"another "
                       "contact\" and a count of staff"})
    follow_ups = fields.List(fields.Dict(), required=True, metadata={
        "description": "follow-ups of those interactions and follow-ups whose title "
                       "mentions them"})
    agreements_signed = fields.List(fields.Dict(), required=True, metadata={
        "description": "the agreements they signed for their organisation"})
    audit_events = fields.List(fields.Dict(), required=True, metadata={
        "description": "the audit events about them, personal values resolved (null once "
                       "erased)"})


class EraseIn(Schema):
    redact_mentions = f.StrictBool(load_default=True, metadata={
        "description": "also redact the interaction and follow-up texts that name them "
                       "(default true)"})


@bp.route("/contacts/<int:contact_id>/personal-data", methods=["GET"], tags=["personal data"])
@bp.response(200, PersonalDataOut)
@documented_errors(bp, 401, 403, 404, 422, 429)
def contact_personal_data(contact_id: int):
    """Everything held about a contact, as one document (admins; audited as an export)."""
    return export.export_contact(current_user(), load(contact_id))


@bp.route("/contacts/<int:contact_id>/erase", methods=["POST"], tags=["personal data"])
@bp.arguments(EraseIn, required=False)
@bp.response(204)
@documented_errors(bp, *WRITE_ERRORS)
def erase_contact(data: dict, contact_id: int):
    """Erase a contact (admins): it becomes "Erased contact #id", its audit values are
    scrubbed and, unless `redact_mentions` is false, the texts naming it are redacted.
    The body is optional; erasing again answers 204 and changes nothing."""
    contact = load(contact_id)
    redact = data.get("redact_mentions", True) if data else True
    erasure.erase_contact(current_user(), contact, redact_keys=None if redact else ())
