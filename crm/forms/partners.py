"""Partner form: shows (and therefore may change) exactly the fields in `PartnerForm.DATA_FIELDS`.

Choices are filled in by the view; a tampered select value fails WTForms' choice check,
and the service validates everything again.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.lib.countries import country_choices
from crm.lib.safetext import optional_record_id, record_id
from crm.models import User
from crm.models.enums import SECTORS, SENSITIVITIES, STAGES, label

#: a record id or nothing; an id beyond an id column is "not a valid choice", not a 500
_optional_int = optional_record_id


class PartnerForm(FlaskForm):
    #: form field → service key: only these reach `create_partner` / `update_partner`
    #: the template lists `form_errors` (crm.forms.errors.show_service_errors)
    SHOWS_FORM_ERRORS = True
    DATA_FIELDS = ("name", "sector", "country", "stage", "owner_id", "collaborator_ids",
                   "sensitivity", "website", "email", "description", "is_member", "tags")

    name = StringField("Name", validators=[DataRequired(), Length(max=200)],
                       render_kw={"maxlength": 200, "autocomplete": "off"})
    sector = SelectField("Sector", choices=[("", "Choose…")] + [(s, label(s)) for s in SECTORS],
                         validators=[DataRequired(message="Choose a sector.")])
    country = SelectField("Country", validators=[DataRequired(message="Choose a country.")],
                          render_kw={"data-searchable": "", "aria-label": "Country"})
    stage = SelectField("Stage", choices=[(s, label(s)) for s in STAGES], default="prospect")
    owner_id = SelectField("Owner", coerce=_optional_int)
    collaborator_ids = SelectMultipleField(
        "Collaborators", coerce=record_id,
        render_kw={"data-searchable": "", "aria-label": "Collaborators"})
    sensitivity = SelectField("Sensitivity", choices=[(s, label(s)) for s in SENSITIVITIES],
                              default="standard")
    website = StringField("Website", validators=[Optional(), Length(max=500)],
                          render_kw={"placeholder": "https://www.example.org", "inputmode": "url"})
    email = EmailField("General email", validators=[Optional(), Length(max=254)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)],
                                render_kw={"rows": 4})
    is_member = BooleanField("Member organisation of the network")
    tags = StringField("Tags", validators=[Optional(), Length(max=1000)],
                       render_kw={"placeholder": "osec, training, mou"})
    #: optimistic concurrency on edit: the version the form was loaded with
    version = HiddenField()
    confirm_duplicate = BooleanField("Create anyway: this is a different organisation")

    def set_choices(self, users: list[User]) -> None:
        self.country.choices = [("", "Choose a country…")] + country_choices()
        people = [(u.id, f"{u.name} ({u.role})") for u in users]
        self.owner_id.choices = [(None, "Nobody")] + people
        self.collaborator_ids.choices = people

    #: True when the editor may not change who sees the partner (see `lock_access`)
    access_locked = False

    def lock_access(self, current_sensitivity: str) -> None:
        """For an editor who may not widen access: owner and collaborators are shown but
        not sent, and only the current or a stricter sensitivity can be chosen."""
        self.access_locked = True
        for name in ("owner_id", "collaborator_ids"):
            getattr(self, name).render_kw = {**(getattr(self, name).render_kw or {}),
                                             "disabled": True}
        floor = SENSITIVITIES.index(current_sensitivity)
        self.sensitivity.choices = [(s, label(s)) for s in SENSITIVITIES[floor:]]

    def service_data(self) -> dict:
        """The values the service receives: only the fields this form shows."""
        keys = [k for k in self.DATA_FIELDS
                if not (self.access_locked and k in ("owner_id", "collaborator_ids"))]
        data = {key: getattr(self, key).data for key in keys}
        data["tags"] = [t for t in (data["tags"] or "").split(",") if t.strip()]
        if "collaborator_ids" in data:
            data["collaborator_ids"] = list(data["collaborator_ids"] or [])
        return data
