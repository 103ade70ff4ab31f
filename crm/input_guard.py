"""One guard for every route against input the database cannot hold (issue 14, part 3).

Registered by crm.http_errors.init_app; field-level rules (control characters, URLs,
e-mail, dates, ids in bodies) are the validators' (crm/services/validation.py, the forms'
coercions, the API's schema fields).
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge

from crm.lib import safetext
from crm.services.errors import ValidationError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


#: a web form's body at most (the longest field, a 20,000-character summary, percent-encoded
#: is under 200 KB); file uploads (multipart) keep MAX_CONTENT_LENGTH
FORM_MAX = 1024 * 1024


def refuse_unstorable_input() -> None:
    """One guard for every route, before any view or form sees the request.

    A web form body over FORM_MAX (uploads aside) is a 413 page. An id in the URL beyond
    what an id column holds names no record: 404, as for any other missing record. A NUL
    byte or a lone surrogate in any query or form field (name or value) could not be
    stored: the API answers 422 naming the field, a web page 400 saying which field.
    JSON bodies are checked field by field by the API's schemas
    (crm/blueprints/api/fields.py).
    """
    if request.routing_exception is not None:
        return  # a 404/405 answers anyway
    if not _wants_json() and request.mimetype != "multipart/form-data" and \
            (request.content_length or 0) > FORM_MAX:
        raise RequestEntityTooLarge(f"A form may send at most {FORM_MAX // 1024} KB.")
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not isinstance(value, bool) and value > safetext.MAX_ID:
            raise NotFound()
    pairs = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not _wants_json():
        pairs += list(request.form.items(multi=True))
    name = safetext.first_unstorable(pairs)
    if name is None:
        return
    shown = safetext.printable(name)
    if _wants_json():
        raise ValidationError({shown: safetext.UNSTORABLE_MESSAGE})
    raise BadRequest(f"The field “{shown}” contains a character that cannot be stored "
                     "(a NUL byte or invalid Unicode). Remove it and try again.")


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_input)
