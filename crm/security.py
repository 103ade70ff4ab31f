"""Request-level security: request ids, session checks, security headers.

A small `after_request` hook rather than Flask-Talisman: the policy is short, we
need it on error responses too (Flask runs `after_request` for responses built by error
handlers: 404, 429, 500 — tests/security/test_headers.py checks), the CSP is ours to
tighten page by page, and Flask-Talisman's HTTPS redirect and per-view decorators would
duplicate what the reverse proxy and our config already do.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from crm.extensions import db, login_manager
from crm.models import User
from crm.services import accounts, context

#: what a user who must enrol in two-factor may still reach
ENROLMENT_ENDPOINTS = frozenset({
    "settings.two_factor", "settings.two_factor_confirm", "auth.logout", "static",
    "health.healthz", "dev.outbox", "dev.message",
})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
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
    if app.config.get("CRM_CONFIG_NAME") == "production" and not app.config.get("TRUSTED_HOSTS"):
        app.logger.warning("TRUSTED_HOSTS is not set: any Host header is accepted "
                           "(set it to the site's host names; see README Security)")
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

    @app.before_request
    def _two_factor_enrolment():
        """Admins and managers go to enrolment first when the network requires it."""
        if request.path.startswith(("/static/", "/api/")) or request.endpoint is None:
            return None
        if request.endpoint in ENROLMENT_ENDPOINTS or not current_user.is_authenticated:
            return None
        if current_user.role not in accounts.TWO_FACTOR_ROLES or current_user.totp_enabled:
            return None
        if accounts.two_factor_required():
            return redirect(url_for("settings.two_factor"))
        return None

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy",
                                    "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if g.get("request_id"):
            response.headers.setdefault("X-Request-ID", g.request_id)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        private = current_user.is_authenticated or request.blueprint == "auth"
        if not request.path.startswith("/static/") and private:
            response.headers["Cache-Control"] = "no-store"
        return response
