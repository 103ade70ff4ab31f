"""GET /api/v1/me: who the token acts as."""

from __future__ import annotations

from flask import g

from . import bp
from .helpers import documented_errors
from .schemas import MeOut


@bp.route("/me", methods=["GET"], tags=["me"])
@bp.response(200, MeOut)
@documented_errors(bp, 401, 429)
def me():
    """The token's user and role (a token acts with its user's visibility)."""
    user = g.api_user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "timezone": user.timezone, "region_scope": user.region_scope,
            "can_write": user.can_write, "token": g.api_token}
