"""Contact form: the person's details, do-not-contact and the lawful basis — nothing else."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.models.enums import LAWFUL_BASES, SENSITIVITIES, label
from crm.services.contacts import LAWFUL_BASIS_NOTE_MAX, language_choices


class ContactForm(FlaskForm):
    #: the template lists `form_errors` (crm.forms.errors.show_service_errors)
    SHOWS_FORM_ERRORS = True
    DATA_FIELDS = ("name", "title", "email", "phone", "language", "notes", "sensitivity",
                   "do_not_contact", "lawful_basis", "lawful_basis_note", "lawful_basis_on")

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
    do_not_contact = BooleanField("Do not contact (the person asked not to be contacted)")
    #: checked by the service (one of LAWFUL_BASES or none), beside this field
    lawful_basis = SelectField("Lawful basis", validate_choice=False,
                               choices=[("", "— not recorded —")]
                               + [(b, label(b)) for b in LAWFUL_BASES])
    lawful_basis_note = TextAreaField(
        "Lawful basis note", validators=[Optional(), Length(max=LAWFUL_BASIS_NOTE_MAX)],
        render_kw={"rows": 2, "maxlength": LAWFUL_BASIS_NOTE_MAX})
    #: the service refuses a date in the future (in the user's time zone)
    lawful_basis_on = DateField("Recorded on", validators=[Optional()])

    def set_choices(self) -> None:
        self.language.choices = [("", "—")] + language_choices()

    def service_data(self) -> dict:
        return {key: getattr(self, key).data for key in self.DATA_FIELDS}
