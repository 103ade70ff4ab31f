"""Admin forms for users: invite, edit. Forms validate; services save."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from crm.lib import countries, timeutil
from crm.models.enums import ROLES


def role_choices() -> list[tuple[str, str]]:
    return [(r, r.capitalize()) for r in ROLES]


def region_choices() -> list[tuple[str, str]]:
    return [("", "The whole network")] + [(r, r) for r in countries.regions()]


def timezone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in timeutil.timezone_names()]


class _UserFields(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=role_choices)
    region_scope = SelectField("Region scope", choices=region_choices,
                               description="Managers see restricted records of this region.")
    timezone = SelectField("Time zone", choices=timezone_choices, default="UTC",
                           render_kw={"data-searchable": ""})


#: an invitation starts with the least privilege; the admin raises it on purpose
INVITE_DEFAULT_ROLE = "viewer"


class InviteForm(_UserFields):
    """Defaults: read-only (`viewer`) and the inviter's own time zone, which the invited
    person can change in their settings."""

    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=role_choices, default=INVITE_DEFAULT_ROLE,
                       description="Viewer: reads standard records only. Staff: logs "
                                   "interactions and follow-ups. Manager: also team reports, "
                                   "imports and a region's restricted records. Admin: "
                                   "everything, including users.")
    submit = SubmitField("Send invitation")

    def __init__(self, *args, inviter_timezone: str | None = None, **kwargs):
        if inviter_timezone in timeutil.timezone_names():  # a zone the list offers
            kwargs.setdefault("timezone", inviter_timezone)
        super().__init__(*args, **kwargs)


class EditUserForm(_UserFields):
    active = BooleanField("Active (can sign in)")
    submit = SubmitField("Save changes")


class TwoFactorPolicyForm(FlaskForm):
    require = BooleanField("Require two-factor sign-in for admins and managers")
    submit = SubmitField("Save")
