"""Follow-up forms: add, snooze to a date, reassign. Choices come from the view."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from crm.lib.safetext import optional_record_id
from crm.models.enums import SENSITIVITIES, label
from crm.services.followups import TITLE_MAX

#: a record id or nothing; an id beyond an id column is "not a valid choice", not a 500
_int_or_none = optional_record_id


class FollowUpForm(FlaskForm):
    partner_id = SelectField("Partner", coerce=_int_or_none, choices=[], validate_choice=False,
                             validators=[InputRequired("Choose a partner.")])
    title = StringField("What needs doing", validators=[
        InputRequired("Say what needs doing."), Length(max=TITLE_MAX)])
    due = DateField("Due", validators=[InputRequired("Choose a due date.")])
    assignee_id = SelectField("Assignee", coerce=_int_or_none, choices=[],
                              validate_choice=False,
                              validators=[InputRequired("Choose who will do it.")])
    #: "" = as sensitive as the partner (the service never goes below it)
    sensitivity = SelectField("Sensitivity", default="",
                              choices=[("", "As the partner"),
                                       *((s, label(s)) for s in SENSITIVITIES)])
    submit = SubmitField("Add follow-up")

    FIELD_FOR_ERROR = {"due_at": "due"}


class SnoozeForm(FlaskForm):
    """Snooze by `days` (1 or 7) or to a picked `date`."""

    days = SelectField(choices=[("", ""), ("1", "1 day"), ("7", "1 week")], default="",
                       validate_choice=True)
    date = DateField("Snooze until", validators=[Optional()])
    next = HiddenField()

    FIELD_FOR_ERROR = {"until": "date"}


class ReassignForm(FlaskForm):
    assignee_id = SelectField("New assignee", coerce=_int_or_none, choices=[],
                              validate_choice=False,
                              validators=[InputRequired("Choose who will do it.")])
    next = HiddenField()
    submit = SubmitField("Reassign")


class ActionForm(FlaskForm):
    """Complete / cancel: just the CSRF token and where to go back to."""

    next = HiddenField()
