"""The report filter bar (a GET form: no CSRF, nothing is changed)."""

from __future__ import annotations

from wtforms import DateField, Form, HiddenField, SelectField

from crm.lib import countries
from crm.models.enums import SECTOR_LABELS
from crm.services.reports import PERIODS


class ReportFilterForm(Form):
    report = HiddenField()
    period = SelectField("Period", choices=list(PERIODS.items()), default="last_90")
    start = DateField("From", validators=[], render_kw={"data-custom-date": "1"})
    end = DateField("To", validators=[], render_kw={"data-custom-date": "1"})
    region = SelectField("Region", choices=[])
    sector = SelectField("Sector", choices=[("", "All sectors"), *SECTOR_LABELS.items()])
    owner_id = SelectField("Owner", choices=[])

    def set_choices(self, owners: list[tuple[int, str]]) -> ReportFilterForm:
        """Regions from the countries data; owners the user can see."""
        self.region.choices = [("", "All regions")] + [
            (r, r) for r in countries.regions() if r != "Antarctic"]
        self.owner_id.choices = [("", "All owners")] + [(str(i), n) for i, n in owners]
        return self
