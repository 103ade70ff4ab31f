"""Site settings: network-wide switches an administrator changes at run time, by key."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db


class SiteSetting(db.Model):
    """Network-wide switches an admin can change (e.g. require two-factor for managers)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | None] = mapped_column(JSON)
