"""Personal settings: profile, digest, tokens — one module each."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from . import digest, profile, security, tokens  # noqa: E402,F401

__all__ = ["bp"]
