"""The POST half of a form page, shared by the interaction and follow-up pages:
validate → call the service → commit, or put the service's messages beside the fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request
from flask_wtf import FlaskForm

from crm.extensions import db
from crm.forms.interactions import apply_errors
from crm.services.errors import ConflictError, ValidationError


def save_form(form: FlaskForm, save: Callable[[], Any]) -> tuple[bool, Any, int]:
    """(saved?, what `save` returned, HTTP status for re-rendering the form)."""
    if not form.validate_on_submit():
        return False, None, 422 if request.method == "POST" else 200
    try:
        result = save()
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        for message in apply_errors(form, exc.fields):
            flash(message, "danger")
        return False, None, 422
    except ConflictError as exc:
        db.session.rollback()
        flash(f"{exc} Reload the page to see the latest version.", "warning")
        return False, None, 409
    return True, result, 200
