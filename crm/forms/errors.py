"""The one way a service's ValidationError reaches a form: beside the fields it names."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

#: fields that are never rendered with their errors
_UNSHOWN = frozenset({"HiddenField", "CSRFTokenField"})


def show_service_errors(form: FlaskForm, fields: dict[str, str], *,
                        fallback: str | None = None) -> None:
    """Put each message of a service's `ValidationError.fields` beside its field.

    A service key is renamed through the form's `FIELD_FOR_ERROR` (e.g. "follow_up.title"
    → `follow_up_title`). A message for no shown field goes to the `fallback` field when
    given, else to `form.form_errors` when the form's template lists them
    (`SHOWS_FORM_ERRORS`), else into a flash message above the form.
    """
    rename = getattr(form, "FIELD_FOR_ERROR", {})
    for key, message in fields.items():
        name = rename.get(key, key)
        if name not in form or form[name].type in _UNSHOWN:
            name = fallback
        if name is not None:
            form[name].errors = [*form[name].errors, message]
        elif getattr(form, "SHOWS_FORM_ERRORS", False):
            form.form_errors.append(message)
        else:
            flash(message, "danger")
