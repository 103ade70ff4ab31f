"""The notification ledger: one row per email that should exist (docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import DELIVERY_KINDS, DELIVERY_STATUSES

if TYPE_CHECKING:
    from .user import User


class Delivery(db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        enum_check("kind", DELIVERY_KINDS),
        enum_check("status", DELIVERY_STATUSES),
        Index("ix_deliveries_status_updated", "status", "updated_at"),
        Index("ix_deliveries_recipient_kind", "recipient_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    #: address used when there is no user yet (e.g. an invitation)
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    #: e.g. reminder:<follow-up id>:<kind>:<due_at> or digest:<user id>:<period start>
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    #: rows sent together as one email share a batch key (one email per recipient per sweep)
    batch_key: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: generated once, before the first attempt; a retry reuses it
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    #: what the email is about (follow-up id, period bounds …), JSON only
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[User | None] = relationship(lazy="raise")
