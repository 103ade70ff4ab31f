"""The retention policy form (admins): years and action per sensitivity.

The form only carries the values; crm.services.personal_data.retention.parse_policy checks
them (one rule for the web, the CLI and tests) and the view puts its messages beside the
fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField

from crm.models.enums import RETENTION_ACTIONS, SENSITIVITIES

ACTION_CHOICES = [("redact", "Redact (keep the interaction, clear its text)"),
                  ("delete", "Delete (keep only monthly counts)")]
assert [code for code, _label in ACTION_CHOICES] == list(RETENTION_ACTIONS)


class RetentionForm(FlaskForm):
    standard_years = StringField("Standard: keep for (years)",
                                 render_kw={"inputmode": "numeric"})
    standard_action = SelectField("Standard: then", choices=ACTION_CHOICES)
    restricted_years = StringField("Restricted: keep for (years)",
                                   render_kw={"inputmode": "numeric"})
    restricted_action = SelectField("Restricted: then", choices=ACTION_CHOICES)
    confidential_years = StringField("Confidential: keep for (years)",
                                     render_kw={"inputmode": "numeric"})
    confidential_action = SelectField("Confidential: then", choices=ACTION_CHOICES)
    submit = SubmitField("Save retention policy")

    def rows(self):
        """(sensitivity, years field, action field) in the order of SENSITIVITIES."""
        return [(s, self[f"{s}_years"], self[f"{s}_action"]) for s in SENSITIVITIES]
