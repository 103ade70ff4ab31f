"""The POST half of every form page: validate → call the service → (the unit of work
commits), or put the service's messages beside the fields and answer 422/409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request
from flask_wtf import FlaskForm

from crm import uow
from crm.forms.errors import show_service_errors
from crm.services.errors import ConflictError, ValidationError


def save_form(form: FlaskForm, save: Callable[[], Any], *,
              fallback: str | None = None) -> tuple[bool, Any, int]:
    """(saved?, what `save` returned, HTTP status for re-rendering the form).

    A GET (or an invalid POST) calls nothing; `fallback` is the field that receives a
    service message for no field of this form (see `show_service_errors`).
    """
    if not form.validate_on_submit():
        return False, None, 422 if request.method == "POST" else 200
    return call_service(form, save, fallback=fallback)


def call_service(form: FlaskForm, save: Callable[[], Any], *,
                 fallback: str | None = None) -> tuple[bool, Any, int]:
    """`save_form` for a form the view has already validated (and checked further)."""
    try:
        result = save()
    except ValidationError as exc:
        uow.rollback()  # now: the re-rendered page's queries must not autoflush half-done work
        show_service_errors(form, exc.fields, fallback=fallback)
        return False, None, 422
    except ConflictError as exc:
        uow.rollback()
        flash(f"{exc} Reload the page to see the latest version.", "warning")
        return False, None, 409
    return True, result, 200
