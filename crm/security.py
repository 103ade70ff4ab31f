"""Request-level security: request ids, sign-ins and their end, token-link headers,
recent authentication, security headers.

A small `after_request` hook rather than Flask-Talisman: the policy is short, we
need it on error responses too (Flask runs `after_request` for responses built by error
handlers: 404, 429, 500 — tests/security/test_headers.py checks), the CSP is ours to
tighten page by page, and Flask-Talisman's HTTPS redirect and per-view decorators would
duplicate what the reverse proxy and our config already do.

Sign-ins: the session and the remember cookie both carry `<id>:<session_version>:<nonce>`
(User.get_id). The nonce names a `UserLogin` row, so sign-out and the idle timeout end
the sign-in server-side — a copied session or remember cookie dies with it — and a password
change or deactivation (session_version) ends them all. We chose a per-sign-in nonce over
bumping session_version at sign-out so that signing out on one browser does not sign the
user out everywhere. Sessions are permanent (they survive a browser restart, within
PERMANENT_SESSION_LIFETIME); under that Flask-Login's "strong" protection acts as "basic",
so we configure "basic" openly: a changed IP/browser makes the session non-fresh, and
non-fresh sessions re-enter the password for sensitive steps (`recent_auth_required`).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.extensions import db, login_manager
from crm.lib import context
from crm.models import User
from crm.services import accounts

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


#: response headers of every page reached through a link that carries a token
TOKEN_LINK_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
#: session keys: when the password was last entered in this session (epoch seconds)
AUTH_AT = "auth_at"


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """A live sign-in's user (crm.services.accounts.user_for_login), for the session or the
    remember cookie alike; its server-side idle clock moves at most every few minutes."""
    found = accounts.user_for_login(login_id, idle=current_app.config["SESSION_IDLE_TIMEOUT"])
    if found is None:
        return None
    user, login = found
    session_clean = not (db.session.new or db.session.dirty or db.session.deleted)
    if session_clean and accounts.touch_login(login):
        db.session.commit()
    return user


def start_session(user: User, *, remember: bool) -> None:
    """A fresh session for `user` (no fixation) bound to a new server-side sign-in.

    The caller commits. The password (or a link that proves the mailbox) was just given,
    so the session counts as recently authenticated.
    """
    config = current_app.config
    lifetime = (config["REMEMBER_COOKIE_DURATION"] if remember
                else config["PERMANENT_SESSION_LIFETIME"])
    session.clear()
    accounts.start_login(user, remember=remember, lifetime=lifetime)
    login_user(user, remember=remember)  # cookie lifetime: REMEMBER_COOKIE_DURATION
    session[AUTH_AT] = datetime.now(UTC).timestamp()
    session["last_seen"] = session[AUTH_AT]
    session.permanent = True


def end_session(reason: str) -> None:
    """Sign out: end the sign-in server-side, then clear the session and the remember cookie.

    Order matters: `session.clear()` after `logout_user()` would erase Flask-Login's
    instruction to delete the remember cookie, so we clear first and log out after.
    The caller commits (end_login flushes).
    """
    login_id = session.get("_user_id")
    accounts.end_login(login_id, reason=reason)
    session.clear()
    logout_user()  # sets session["_remember"] = "clear" when the browser sent the cookie


def recently_authenticated(window_seconds: float | None = None) -> bool:
    """True when this (fresh) session entered the password within REAUTH_WINDOW."""
    if not current_user.is_authenticated or session.get("_fresh") is False:
        return False
    window = window_seconds or current_app.config["REAUTH_WINDOW"].total_seconds()
    at = session.get(AUTH_AT)
    return isinstance(at, int | float) and 0 <= datetime.now(UTC).timestamp() - at <= window


def mark_reauthenticated() -> None:
    session[AUTH_AT] = datetime.now(UTC).timestamp()
    session["_fresh"] = True


def recent_auth_required(view: Callable) -> Callable:
    """Sensitive steps (e.g. creating an API token) ask for the password again unless it was
    entered in this fresh session within REAUTH_WINDOW (10 minutes by default)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not recently_authenticated():
            flash("Enter your password again to continue.", "info")
            target = request.full_path if request.method == "GET" else request.referrer
            from crm.blueprints.auth.views import safe_next

            return redirect(url_for("settings.confirm_password",
                                    next=safe_next(_site_path(target)) or ""), code=303)
        return view(*args, **kwargs)

    return wrapper


def _site_path(target: str | None) -> str | None:
    """The path (and query) of `target` when it is a URL of this site."""
    if not target:
        return None

    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path.rstrip("?")


def token_link(view: Callable) -> Callable:
    """Mark a view reached through a link that carries a token (email actions, unsubscribe,
    password reset, invitation): every answer, signed in or not, errors and rate-limit
    refusals included, says no-store, no-referrer and noindex (crm.security._headers)."""
    view._token_link = True  # type: ignore[attr-defined]
    return view


def is_token_link_endpoint(app: Flask, endpoint: str | None) -> bool:
    view = app.view_functions.get(endpoint or "")
    return bool(getattr(view, "_token_link", False))


def init_app(app: Flask) -> None:
    if app.config.get("CRM_CONFIG_NAME") == "production" and not app.config.get("TRUSTED_HOSTS"):
        app.logger.warning("TRUSTED_HOSTS is not set: any Host header is accepted "
                           "(set it to the site's host names; see docs/security.md)")
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
            end_session("idle")
            db.session.commit()
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
        # the database down (crm.http_errors.unavailable): no user to load, never cache
        private = (g.get("database_down") or current_user.is_authenticated
                   or request.blueprint == "auth")
        if not request.path.startswith("/static/") and private:
            response.headers["Cache-Control"] = "no-store"
        if is_token_link_endpoint(app, request.endpoint):
            response.headers.update(TOKEN_LINK_HEADERS)
        return response
