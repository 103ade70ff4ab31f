"""Log / edit an interaction. Choices are filled by the view; the service re-checks all."""

from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from crm.lib import timeutil, when
from crm.lib.safetext import optional_record_id, record_id
from crm.models.enums import INTERACTION_KINDS, SENSITIVITIES, label
from crm.services.followups import TITLE_MAX
from crm.services.interactions import OUTCOME_MAX, SUMMARY_MAX

#: what the "When" field of a new interaction says until someone types over it
NOW = "now"
#: how a stored moment is shown in the "When" field (and one of the forms it accepts)
WHEN_FORMAT = "%Y-%m-%d %H:%M"


#: a record id or nothing; an id beyond an id column is "not a valid choice", not a 500
_int_or_none = optional_record_id


def _newlines(value: str | None) -> str | None:
    """Browsers send a textarea's line breaks as CRLF but count them as one character
    for `maxlength`: count them the same way here."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _long_text(limit: int, **kwargs) -> dict:
    """A textarea's arguments: `maxlength` in the page and the same limit on the server,
    with a message beside the field (text is refused, never cut)."""
    return {"filters": [_newlines],
            "validators": [*kwargs.pop("validators", [Optional()]), Length(
                max=limit, message=f"Keep this under {limit:,} characters "
                                   f"(this text has %(length)s).")],
            "render_kw": {"maxlength": limit, "data-limit": limit, **kwargs}}


class PhraseField(StringField):
    """A text field read by a `crm.lib.when` parser in the form's zone at the form's now:
    `.value` holds the result (None when blank or refused); a refusal is the field's error."""

    def __init__(self, label, parse, **kwargs) -> None:
        super().__init__(label, **kwargs)
        self.parse = parse
        self.value: datetime | date | None = None

    def pre_validate(self, form) -> None:
        try:
            self.value = self.parse(self.data, form.tz, form.now)
        except when.PhraseError as exc:
            self.value = None
            raise ValidationError(str(exc)) from None


class InteractionForm(FlaskForm):
    """The fields both logging and editing show (partner and follow-up are logging only).

    `tz` and `now` say how "yesterday 15:00" is read (the user's zone; now by default)."""

    def __init__(self, *args, tz: str | None = None, now: datetime | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.now = now or timeutil.now_utc()

    kind = SelectField("Kind", choices=[(k, label(k)) for k in INTERACTION_KINDS],
                       default="meeting")
    #: "now", "yesterday 15:00", "2026-12-01 09:30" … (crm.lib.when.parse_when); blank = now
    occurred_at = PhraseField("When", when.parse_when, render_kw={
        "autocomplete": "off", "maxlength": 40, "spellcheck": "false"})
    summary = TextAreaField("Summary", **_long_text(SUMMARY_MAX, rows=4, validators=[
        InputRequired("Write a short summary of what was discussed.")]))
    outcome = TextAreaField("Outcome", **_long_text(OUTCOME_MAX, rows=2))
    contact_ids = SelectMultipleField("Contacts present", coerce=record_id, choices=[])
    #: options are filled with the chosen people only (remote autocomplete); the service
    #: decides who may be listed, so WTForms does not check against the options
    staff_ids = SelectMultipleField("Other staff present", coerce=record_id, choices=[],
                                    validate_choice=False, render_kw={"data-searchable": "",
                                               "aria-label": "Other staff present"})
    #: "" = the partner's default (law enforcement → restricted), decided by the service
    sensitivity = SelectField("Sensitivity", default="",
                              choices=[("", "Default"), *((s, label(s)) for s in SENSITIVITIES)])


class LogInteractionForm(InteractionForm):
    partner_id = SelectField("Partner", coerce=_int_or_none, choices=[], validate_choice=False,
                             validators=[InputRequired("Choose a partner.")])
    follow_up_title = StringField("Follow-up", validators=[Optional(), Length(max=TITLE_MAX)],
                                  render_kw={"maxlength": TITLE_MAX, "autocomplete": "off"})
    #: "tomorrow", "friday", "+3d", "2026-12-01" … (crm.lib.when.parse_due): a local date
    follow_up_due = PhraseField("Due", when.parse_due, render_kw={
        "autocomplete": "off", "maxlength": 40, "spellcheck": "false"})
    follow_up_assignee_id = SelectField("Assignee", coerce=_int_or_none, choices=[],
                                        validate_choice=False, validators=[Optional()])
    submit = SubmitField("Save interaction")
    #: one-time form key (crm/services/idempotency.py): a double-click or a resubmitted
    #: form logs the interaction once
    form_key = HiddenField()

    #: service error keys → form fields (crm.forms.errors.show_service_errors)
    FIELD_FOR_ERROR = {"follow_up.title": "follow_up_title", "follow_up.due_at": "follow_up_due",
                       "follow_up.assignee_id": "follow_up_assignee_id"}


class EditInteractionForm(InteractionForm):
    version = HiddenField()
    submit = SubmitField("Save changes")

    FIELD_FOR_ERROR: dict[str, str] = {}

