"""Errors services raise so that the web, the API and the CLI can answer alike."""

from __future__ import annotations


class ValidationError(ValueError):
    """Input that cannot be saved. `fields` maps a field name to a message for the user."""

    def __init__(self, fields: dict[str, str] | str, message: str | None = None) -> None:
        if isinstance(fields, str):
            fields = {"__all__": fields}
        self.fields = fields
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in fields.items()))


class ConflictError(ValueError):
    """The record changed since the caller read it, or a unique value is taken (409)."""
