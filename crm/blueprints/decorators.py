"""View helpers shared by the blueprints."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from crm.extensions import db
from crm.models import User
from crm.services import audit


def signed_in_user() -> User:
    """The signed-in `User` itself, not Flask-Login's proxy (for code that keeps it, such as
    `login_user`); Flask-Login loaded it into this session, so no query is needed."""
    return db.session.get(User, current_user.id)


def roles_required(*roles: str):
    """Signed in with one of `roles`, else 403 (and an audit event for the refusal)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                audit.record_now("authz.forbidden", actor=current_user.id,
                                 details={"view": view.__name__})
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def writer_required(view):
    """Any role but `viewer`."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.can_write:
            audit.record_now("authz.forbidden", actor=current_user.id,
                             details={"view": view.__name__})
            abort(403)
        return view(*args, **kwargs)

    return wrapped
