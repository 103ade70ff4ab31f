"""A user account's personal data export (admins)."""

from __future__ import annotations

from flask_login import current_user

from crm.blueprints.contacts.personal_data import json_download
from crm.blueprints.decorators import roles_required
from crm.services.personal_data import export

from . import bp
from .users import _user_or_404


@bp.get("/users/<int:user_id>/personal-data")
@roles_required("admin")
def user_personal_data(user_id: int):
    user = _user_or_404(user_id)
    document = export.export_user(current_user, user)
    return json_download(document, f"user-{user.id}-personal-data.json")
