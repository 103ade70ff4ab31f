"""Contact form: name, title, email, phone, language, notes, sensitivity — nothing else."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.models.enums import SENSITIVITIES, label
from crm.services.contacts import language_choices


class ContactForm(FlaskForm):
    #: the template lists `form_errors` (crm.forms.errors.show_service_errors)
    SHOWS_FORM_ERRORS = True
    DATA_FIELDS = ("name", "title", "email", "phone", "language", "notes", "sensitivity")

    name = StringField("Name", validators=[DataRequired(), Length(max=200)],
                       render_kw={"maxlength": 200, "autocomplete": "off"})
    title = StringField("Role / title", validators=[Optional(), Length(max=200)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=50)],
                        render_kw={"inputmode": "tel", "placeholder": "+66 2 123 4567"})
    #: checked by the service (pycountry), which puts its message beside this field
    language = SelectField("Preferred language", validate_choice=False,
                           render_kw={"data-searchable": "", "aria-label": "Preferred language"})
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10_000)],
                          render_kw={"rows": 3})
    sensitivity = SelectField("Sensitivity", choices=[(s, label(s)) for s in SENSITIVITIES])

    def set_choices(self) -> None:
        self.language.choices = [("", "—")] + language_choices()

    def service_data(self) -> dict:
        return {key: getattr(self, key).data for key in self.DATA_FIELDS}
