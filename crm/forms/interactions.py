"""Log / edit an interaction. Choices are filled by the view; the service re-checks all."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from crm.models.enums import INTERACTION_KINDS, SENSITIVITIES, label
from crm.services.followups import TITLE_MAX
from crm.services.interactions import OUTCOME_MAX, SUMMARY_MAX


def _int_or_none(value):
    if value in (None, ""):
        return None
    return int(value)


class InteractionForm(FlaskForm):
    """The fields both logging and editing show (partner and follow-up are logging only)."""

    kind = SelectField("Kind", choices=[(k, label(k)) for k in INTERACTION_KINDS],
                       default="meeting")
    occurred_at = DateTimeLocalField(
        "When", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Enter when it happened.")])
    summary = TextAreaField("Summary", validators=[
        InputRequired("Write a short summary of what was discussed."),
        Length(max=SUMMARY_MAX)], render_kw={"rows": 4})
    outcome = TextAreaField("Outcome", validators=[Optional(), Length(max=OUTCOME_MAX)],
                            render_kw={"rows": 2})
    contact_ids = SelectMultipleField("Contacts present", coerce=int, choices=[])
    #: options are filled with the chosen people only (remote autocomplete); the service
    #: decides who may be listed, so WTForms does not check against the options
    staff_ids = SelectMultipleField("Other staff present", coerce=int, choices=[],
                                    validate_choice=False, render_kw={"data-searchable": "",
                                               "aria-label": "Other staff present"})
    #: "" = the partner's default (law enforcement → restricted), decided by the service
    sensitivity = SelectField("Sensitivity", default="",
                              choices=[("", "Default"), *((s, label(s)) for s in SENSITIVITIES)])


class LogInteractionForm(InteractionForm):
    partner_id = SelectField("Partner", coerce=_int_or_none, choices=[], validate_choice=False,
                             validators=[InputRequired("Choose a partner.")])
    follow_up_title = StringField("Follow-up", validators=[Optional(), Length(max=TITLE_MAX)])
    follow_up_due = DateField("Due", validators=[Optional()])
    follow_up_assignee_id = SelectField("Assignee", coerce=_int_or_none, choices=[],
                                        validate_choice=False, validators=[Optional()])
    submit = SubmitField("Save interaction")

    #: service error keys → form fields (crm.forms.errors.show_service_errors)
    FIELD_FOR_ERROR = {"follow_up.title": "follow_up_title", "follow_up.due_at": "follow_up_due",
                       "follow_up.assignee_id": "follow_up_assignee_id"}


class EditInteractionForm(InteractionForm):
    version = HiddenField()
    submit = SubmitField("Save changes")

    FIELD_FOR_ERROR: dict[str, str] = {}

