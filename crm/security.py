"""Request-level security: request ids, session checks, security headers.

A small `after_request` hook rather than Flask-Talisman: the policy is short, we
need it on error responses too, and the CSP is ours to tighten page by page.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import Flask, g, request, session
from flask_login import current_user, logout_user

from crm.extensions import db, login_manager
from crm.models import User
from crm.services import context

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions carry `<id>:<session_version>`; an old version (password change) is dead."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def init_app(app: Flask) -> None:
    @app.before_request
    def _request_context() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
        context.request_id.set(g.request_id)
        context.client_ip.set(request.remote_addr)

    @app.before_request
    def _idle_timeout() -> None:
        if request.path.startswith(("/static/", "/api/")):
            return
        if not current_user.is_authenticated:
            return
        now = datetime.now(UTC).timestamp()
        last = session.get("last_seen")
        idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
        if last and now - last > idle:
            logout_user()
            session.clear()
            return
        session["last_seen"] = now
        session.permanent = True

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy",
                                    "camera=(), microphone=(), geolocation=()")
        if g.get("request_id"):
            response.headers.setdefault("X-Request-ID", g.request_id)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if not request.path.startswith("/static/") and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
