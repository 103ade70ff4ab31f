"""Agreement forms: create/edit, a report received, renew, terminate, one of The Code's
criteria. Dates and numbers are plain text fields checked by crm.services.agreements, so
the web shows the same messages as the API, each beside its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from crm.lib.safetext import record_id
from crm.models.enums import (
    AGREEMENT_KIND_LABELS,
    AGREEMENT_KINDS,
    CODE_CRITERION_STATUSES,
    SENSITIVITIES,
    label,
)
from crm.services import agreements as service

_DATE = {"type": "date", "placeholder": "YYYY-MM-DD"}
#: statuses the edit form offers (terminating and renewing have their own forms)
FORM_STATUSES = ("draft", "negotiation", "signed", "active", "expired")


def _text(limit: int, **render) -> dict:
    return {"validators": [Optional(), Length(max=limit)],
            "render_kw": {"maxlength": limit, **render}}


class AgreementForm(FlaskForm):
    SHOWS_FORM_ERRORS = True
    DATA_FIELDS = ("kind", "title", "status", "signed_on", "starts_on", "expires_on",
                   "renewal_notice_days", "reporting_every_months", "document_ref", "notes",
                   "sensitivity", "contact_ids", "staff_ids")

    kind = SelectField("Kind", choices=[(k, AGREEMENT_KIND_LABELS[k]) for k in AGREEMENT_KINDS],
                       validate_choice=False)
    title = StringField("Title", **_text(service.TITLE_MAX, autocomplete="off"))
    status = SelectField("Status", choices=[(s, label(s)) for s in FORM_STATUSES],
                         validate_choice=False)
    signed_on = StringField("Signed on", render_kw=_DATE)
    starts_on = StringField("Starts on", render_kw=_DATE)
    expires_on = StringField("Expires on", render_kw=_DATE)
    renewal_notice_days = StringField("Renewal notice (days)",
                                      render_kw={"inputmode": "numeric", "type": "number",
                                                 "min": 0, "max": service.NOTICE_MAX})
    reporting_every_months = StringField("Report every (months)",
                                         render_kw={"inputmode": "numeric", "type": "number",
                                                    "min": 1, "max": service.REPORTING_MAX})
    document_ref = StringField("Document (URL or file reference)", **_text(service.REF_MAX))
    notes = TextAreaField("Notes", **_text(service.NOTES_MAX, rows=3))
    sensitivity = SelectField("Sensitivity", choices=[(s, label(s)) for s in SENSITIVITIES],
                              validate_choice=False)
    contact_ids = SelectMultipleField("Signatories at the partner", coerce=record_id,
                                      choices=[], render_kw={"size": 4})
    staff_ids = SelectMultipleField("Staff signatories", coerce=record_id, choices=[],
                                    render_kw={"size": 4})
    #: the version the form was read at (optimistic locking)
    version = HiddenField()

    def set_choices(self, contacts, staff, status: str | None = None) -> None:
        self.contact_ids.choices = [(c.id, c.name) for c in contacts]
        self.staff_ids.choices = [(u.id, u.name) for u in staff]
        if status and status not in FORM_STATUSES:  # terminated / renewed: shown, not offered
            self.status.choices = [(status, label(status))]

    def service_data(self) -> dict:
        data = {key: getattr(self, key).data for key in self.DATA_FIELDS}
        data["contact_ids"] = data["contact_ids"] or []
        data["staff_ids"] = data["staff_ids"] or []
        return data


class ReportForm(FlaskForm):
    received_on = StringField("Received on", render_kw=_DATE)
    link = StringField("Link", **_text(service.REF_MAX, placeholder="https://…"))
    summary = TextAreaField("Summary", **_text(service.SUMMARY_MAX, rows=2))

    def service_data(self) -> dict:
        return {"received_on": self.received_on.data, "link": self.link.data,
                "summary": self.summary.data}


class RenewForm(FlaskForm):
    title = StringField("Title of the renewal", **_text(service.TITLE_MAX))
    signed_on = StringField("Signed on", render_kw=_DATE)
    starts_on = StringField("Starts on", render_kw=_DATE)
    expires_on = StringField("Expires on", render_kw=_DATE)
    document_ref = StringField("Document (URL or file reference)", **_text(service.REF_MAX))

    def service_data(self) -> dict:
        return {k: getattr(self, k).data for k in ("title", "signed_on", "starts_on",
                                                   "expires_on", "document_ref")}


class TerminateForm(FlaskForm):
    termination_reason = TextAreaField("Reason", **_text(service.REASON_MAX, rows=2))
    terminated_on = StringField("Terminated on", render_kw=_DATE)


class CriterionForm(FlaskForm):
    status = SelectField("Status", choices=[(s, label(s)) for s in CODE_CRITERION_STATUSES],
                         validate_choice=False)
    note = TextAreaField("Evidence note", **_text(service.CRITERION_NOTE_MAX, rows=2))
