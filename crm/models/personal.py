"""Personal data kept apart so it can be erased: audit values and retention aggregates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

from ._types import UTCDateTime, utcnow


class AuditValue(db.Model):
    """One personal value an audit event refers to (``{"$pv": id}`` in its changes).

    The audit trail keeps the fact (who changed which field of which record, when); the
    value itself lives here so erasure can scrub it without touching the append-only
    ``audit_events``. The only change ever made to a row is setting ``value`` to NULL (the
    database refuses anything else on PostgreSQL).
    """

    __tablename__ = "audit_values"
    __table_args__ = (Index("ix_audit_values_object", "object_type", "object_id", "field"),)

    #: client-made (uuid4 hex) so an event can refer to it before anything is flushed
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(60))
    value: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InteractionMonthCount(db.Model):
    """How many interactions retention deleted, per month, partner, sensitivity and kind, so
    reports and charts still show the history."""

    __tablename__ = "interaction_month_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  #: the first of the month (UTC)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True, index=True)
    sensitivity: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
