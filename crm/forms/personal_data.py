"""Forms of a person's erasure: the typed confirmation and the mentions to redact."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from crm.services.personal_data import erasure


class EraseForm(FlaskForm):
    """The admin types the contact's name; the mentions found are ticked to be redacted."""

    confirmation = StringField(
        "Type the person's name to confirm",
        validators=[DataRequired(message="Type the person's name to confirm."),
                    Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    #: `Mention.key`s; the view sets the choices to the mentions found now
    mentions = SelectMultipleField("Redact these mentions", choices=[])

    def confirms(self, name: str) -> bool:
        return erasure.confirms(self.confirmation.data, name)


class RedactMentionForm(FlaskForm):
    mention = HiddenField(validators=[DataRequired(), Length(max=100)])
