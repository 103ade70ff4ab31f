"""Marshmallow schemas: they validate the requests and generate the OpenAPI document.

Shape only (types, enumerations, lengths, country codes, time ranges); the domain rules
(who may be an owner, whether a contact belongs to the partner …) live in the services,
which the web uses too. Unknown fields are refused (marshmallow's RAISE, the default).
"""

from __future__ import annotations

from marshmallow import Schema, fields, post_dump, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from crm.models.enums import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUSES,
    CODE_CRITERION_STATUSES,
    FOLLOW_UP_STATUSES,
    HEALTH_STATES,
    INTERACTION_KINDS,
    LAWFUL_BASES,
    ROLES,
    SECTORS,
    SENSITIVITIES,
    STAGES,
)
from crm.services.partners import SORTS as PARTNER_SORTS

from . import fields as f

MAX_PER_PAGE = 200

# --- errors and envelopes -------------------------------------------------------------


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={
        "description": "lower-case machine code, e.g. validation_error, not_found"})
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                               data_key="fields",
                               metadata={"description": "field name → message (may be empty)"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBody, required=True)


class PageArgs(Schema):
    page = f.QueryInt(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = f.QueryInt(load_default=50, validate=validate.Range(min=1, max=10_000),
                          metadata={"description": f"items per page, capped at {MAX_PER_PAGE}"})


def list_schema(item: type[Schema], name: str) -> type[Schema]:
    """The list envelope {"items", "total", "page", "per_page"} around `item`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
    }, name=name)


# --- me -----------------------------------------------------------------------------


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    expires_at = fields.AwareDateTime(allow_none=True, required=True)


class MeOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    timezone = fields.String(required=True)
    region_scope = fields.String(allow_none=True, required=True)
    can_write = fields.Boolean(required=True)
    token = fields.Nested(TokenOut, required=True)


# --- partners ---------------------------------------------------------------------------


class PartnerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    sector = fields.String(required=True)
    country = fields.String(required=True)
    region = fields.String(required=True)
    stage = fields.String(required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    sensitivity = fields.String(required=True)
    website = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    is_member = fields.Boolean(required=True)
    tags = fields.List(fields.String(), required=True, attribute="tag_names")
    collaborator_ids = fields.Method("_collaborators", required=True,
                                     metadata={"type": "array", "items": {"type": "integer"}})
    #: the latest interaction the caller may see (a hidden meeting's date never leaks)
    last_interaction_at = fields.AwareDateTime(allow_none=True, required=True,
                                               attribute="last_interaction_seen")
    archived = fields.Boolean(required=True)
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)

    def _collaborators(self, partner) -> list[int]:
        return sorted(u.id for u in partner.collaborators)


class PartnerFilters(PageArgs):
    q = f.text(200, metadata={"description": "part of the name (accents and case ignored)"})
    sector = f.enum(SECTORS)
    country = f.country()
    region = f.text(64, metadata={"description": "UN M49 region, e.g. Asia"})
    stage = f.enum(STAGES)
    owner_id = f.QueryInt(validate=validate.Range(min=1, max=f.MAX_ID))
    tag = f.text(50)
    member = fields.Boolean(metadata={"description": "member organisations only (true/false)"})
    health = f.enum(HEALTH_STATES)
    archived = fields.Boolean(metadata={"description": "true: archived partners only"})
    sort = f.enum(PARTNER_SORTS)


class PartnerIn(Schema):
    name = f.text(200, required=True, min_length=1)
    sector = f.enum(SECTORS, required=True)
    country = f.country(required=True)
    stage = f.enum(STAGES)
    owner_id = f.Id(allow_none=True, metadata={"description": "defaults to you"})
    sensitivity = f.enum(SENSITIVITIES)
    website = f.text(500, allow_none=True)
    email = f.text(254, allow_none=True)
    description = f.text(10_000, allow_none=True)
    is_member = f.StrictBool()
    tags = fields.List(f.text(50), validate=validate.Length(max=20))
    collaborator_ids = f.ids()


class PartnerPatch(PartnerIn):
    """Every field optional (used with partial=True): only the fields sent change."""


# --- contacts ---------------------------------------------------------------------------


class ContactOut(Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True)
    name = fields.String(required=True)
    title = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    language = fields.String(allow_none=True, required=True)
    notes = fields.String(allow_none=True, required=True)
    sensitivity = fields.String(required=True)
    archived = fields.Boolean(required=True)
    do_not_contact = fields.Boolean(required=True, metadata={
        "description": "the person asked not to be contacted"})
    lawful_basis = fields.String(allow_none=True, required=True, metadata={
        "enum": [*LAWFUL_BASES, None], "description": "why the network may hold the data"})
    lawful_basis_note = fields.String(allow_none=True, required=True)
    lawful_basis_on = fields.Date(allow_none=True, required=True, metadata={
        "description": "when the lawful basis was recorded (YYYY-MM-DD)"})
    erased = fields.Method("_erased", required=True, metadata={
        "type": "boolean", "readOnly": True,
        "description": "the person's data was erased (the record is 'Erased contact #id' "
                       "and can no longer be changed: PATCH answers 409)"})
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)

    def _erased(self, contact) -> bool:
        return contact.erased_at is not None


class ContactIn(Schema):
    name = f.text(200, required=True, min_length=1)
    title = f.text(200, allow_none=True)
    email = f.text(254, allow_none=True)
    phone = f.text(50, allow_none=True)
    language = f.text(20, allow_none=True)
    notes = f.text(10_000, allow_none=True)
    sensitivity = f.enum(SENSITIVITIES)
    do_not_contact = f.StrictBool()
    lawful_basis = f.enum(LAWFUL_BASES, allow_none=True)
    lawful_basis_note = f.text(2_000, allow_none=True)
    lawful_basis_on = f.Day(allow_none=True)


class ContactPatch(ContactIn):
    """Every field optional (used with partial=True)."""


# --- interactions -----------------------------------------------------------------------


class InteractionOut(Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    summary = fields.String(required=True)
    outcome = fields.String(allow_none=True, required=True)
    logged_by_id = fields.Integer(allow_none=True, required=True)
    sensitivity = fields.String(required=True)
    contact_ids = fields.Method("_contacts", required=True,
                                metadata={"type": "array", "items": {"type": "integer"},
                                          "description": "the contacts present that you "
                                                         "may see"})
    staff_ids = fields.Method("_staff", required=True,
                              metadata={"type": "array", "items": {"type": "integer"}})
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)

    def _contacts(self, interaction) -> list[int]:
        # the API views load `contacts` scoped to the caller (api/interactions.py)
        return sorted(c.id for c in interaction.contacts)

    def _staff(self, interaction) -> list[int]:
        return sorted(u.id for u in interaction.staff)


class FollowUpIn(Schema):
    title = f.text(300, required=True, min_length=1)
    due_at = f.Moment(required=True)
    assignee_id = f.Id(allow_none=True, metadata={"description": "defaults to you"})
    sensitivity = f.enum(SENSITIVITIES, metadata={
        "description": "raised to at least the partner's and the interaction's"})


def _check_range(data: dict, low: str, high: str) -> None:
    if data.get(low) and data.get(high) and data[low] > data[high]:
        raise SchemaError({high: [f"Must not be before {low}."]})


class InteractionFilters(PageArgs):
    partner_id = f.QueryInt(validate=validate.Range(min=1, max=f.MAX_ID))
    since = f.Moment(metadata={"description": "occurred at or after (ISO 8601 with offset)"})
    until = f.Moment(metadata={"description": "occurred before (ISO 8601 with offset)"})

    @validates_schema
    def _range(self, data: dict, **_kwargs) -> None:
        _check_range(data, "since", "until")


class InteractionFields(Schema):
    kind = f.enum(INTERACTION_KINDS, required=True)
    occurred_at = f.Moment(required=True)
    summary = f.text(20_000, required=True, min_length=1)
    outcome = f.text(20_000, allow_none=True)
    contact_ids = f.ids()
    staff_ids = f.ids()
    sensitivity = f.enum(SENSITIVITIES)


class InteractionIn(InteractionFields):
    partner_id = f.Id(required=True)
    follow_up = fields.Nested(FollowUpIn, metadata={
        "description": "a follow-up created in the same transaction"})


class InteractionPatch(InteractionFields):
    """Every field optional (used with partial=True); the partner cannot change."""


# --- follow-ups -------------------------------------------------------------------------


class FollowUpOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    partner_id = fields.Integer(required=True)
    interaction_id = fields.Integer(allow_none=True, required=True)
    assignee_id = fields.Integer(allow_none=True, required=True)
    created_by_id = fields.Integer(allow_none=True, required=True)
    due_at = fields.AwareDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_STATUSES))
    completed_at = fields.AwareDateTime(allow_none=True, required=True)
    snoozed_until = fields.AwareDateTime(allow_none=True, required=True)
    sensitivity = fields.String(required=True, validate=validate.OneOf(SENSITIVITIES))
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)


class FollowUpFilters(PageArgs):
    assignee_id = f.QueryInt(validate=validate.Range(min=1, max=f.MAX_ID))
    status = f.enum(FOLLOW_UP_STATUSES)
    due_before = f.Moment()


class FollowUpCreate(FollowUpIn):
    partner_id = f.Id(required=True)


class FollowUpSnooze(Schema):
    """Exactly one of `days` or `until`."""

    days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366), metadata={
        "description": "put it off by N days: 09:00 in your time zone, N days after its due "
                       "day (after today if it is overdue); never earlier than it was due"})
    until = f.Moment(metadata={
        "description": "put it off to this moment: in the future and after its due time"})

    @validates_schema
    def _one_of(self, data: dict, **kwargs) -> None:
        if ("days" in data) == ("until" in data):
            raise SchemaError({"days": ["Give either days or until."]})


# --- agreements (issue 15) ----------------------------------------------------------------


class CriterionOut(Schema):
    number = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 6})
    status = fields.String(required=True, validate=validate.OneOf(CODE_CRITERION_STATUSES))
    note = fields.String(allow_none=True, required=True)
    updated_at = fields.AwareDateTime(required=True)


class AgreementOut(Schema):
    id = fields.Integer(required=True)
    partner_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(AGREEMENT_KINDS))
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(AGREEMENT_STATUSES))
    signed_on = fields.Date(allow_none=True, required=True)
    starts_on = fields.Date(allow_none=True, required=True)
    expires_on = fields.Date(allow_none=True, required=True)
    renewal_notice_days = fields.Integer(required=True)
    reporting_every_months = fields.Integer(allow_none=True, required=True)
    last_report_on = fields.Date(allow_none=True, required=True)
    next_report_due_on = fields.Date(allow_none=True, required=True, metadata={
        "description": "derived: the last report received (else the start, else the signing) "
                       "plus the reporting interval"})
    document_ref = fields.String(allow_none=True, required=True)
    notes = fields.String(allow_none=True, required=True)
    sensitivity = fields.String(required=True, validate=validate.OneOf(SENSITIVITIES))
    contact_ids = fields.Method("_contacts", required=True, metadata={
        "type": "array", "items": {"type": "integer"},
        "description": "the signatories at the partner that you may see"})
    staff_ids = fields.Method("_staff", required=True,
                              metadata={"type": "array", "items": {"type": "integer"}})
    successor_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "set when renewed: the agreement that replaces this one"})
    terminated_on = fields.Date(allow_none=True, required=True)
    termination_reason = fields.String(allow_none=True, required=True)
    criteria = fields.List(fields.Nested(CriterionOut), metadata={
        "description": "The Code's six criteria (kind the_code only)"})
    version = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)

    def _contacts(self, agreement) -> list[int]:
        # the API views load them scoped to the caller (api/agreements.py)
        return sorted(getattr(agreement, "visible_contact_ids", ()))

    def _staff(self, agreement) -> list[int]:
        return sorted(u.id for u in agreement.staff)

    @post_dump(pass_original=True)
    def _criteria_for_the_code(self, data: dict, original, **_kwargs) -> dict:
        if original.kind != "the_code":
            data.pop("criteria", None)
        return data


class AgreementFilters(PageArgs):
    partner_id = f.QueryInt(validate=validate.Range(min=1, max=f.MAX_ID))
    kind = f.enum(AGREEMENT_KINDS)
    status = f.enum(AGREEMENT_STATUSES)
    expires_before = f.Day(metadata={"description": "expires before this day (YYYY-MM-DD)"})
    report_due_before = f.Day(metadata={
        "description": "next report due before this day (YYYY-MM-DD)"})


class AgreementFields(Schema):
    kind = f.enum(AGREEMENT_KINDS, required=True)
    title = f.text(300, required=True, min_length=1)
    status = f.enum(AGREEMENT_STATUSES, metadata={
        "description": "draft → negotiation → signed → active → expired; terminated needs "
                       "termination_reason; renewed is not set here"})
    signed_on = f.Day(allow_none=True)
    starts_on = f.Day(allow_none=True)
    expires_on = f.Day(allow_none=True, metadata={"description": "not before signed_on"})
    renewal_notice_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=3650))
    reporting_every_months = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=60),
        metadata={"description": "1-60, or null for no reporting duty (the_code: 12)"})
    document_ref = f.text(500, allow_none=True)
    notes = f.text(10_000, allow_none=True)
    sensitivity = f.enum(SENSITIVITIES, metadata={
        "description": "never below the partner's; MoUs with law enforcement default to "
                       "restricted"})
    contact_ids = f.ids(metadata={"description": "signatories: contacts at the partner"})
    staff_ids = f.ids(metadata={"description": "staff signatories: active users"})
    termination_reason = f.text(2_000, allow_none=True)
    terminated_on = f.Day(allow_none=True)


class AgreementIn(AgreementFields):
    partner_id = f.Id(required=True)


class AgreementPatch(AgreementFields):
    """Every field optional (used with partial=True); the partner cannot change."""


class ReportIn(Schema):
    received_on = f.Day(required=True, metadata={"description": "not in the future"})
    link = f.text(500, allow_none=True)
    summary = f.text(10_000, allow_none=True)


class ReportOut(Schema):
    id = fields.Integer(required=True)
    agreement_id = fields.Integer(required=True)
    received_on = fields.Date(required=True)
    due_on = fields.Date(allow_none=True, required=True, metadata={
        "description": "the due date this report answered"})
    link = fields.String(allow_none=True, required=True)
    summary = fields.String(allow_none=True, required=True)
    next_report_due_on = fields.Method("_next", required=True, metadata={
        "type": "string", "format": "date", "nullable": True,
        "description": "the agreement's next due date after this report"})
    created_at = fields.AwareDateTime(required=True)

    def _next(self, report) -> str | None:
        due = report.agreement.next_report_due_on
        return due.isoformat() if due else None


class CriterionPatch(Schema):
    status = f.enum(CODE_CRITERION_STATUSES)
    note = f.text(5_000, allow_none=True)
