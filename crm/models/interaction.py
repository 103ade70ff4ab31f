"""Interactions (meetings, calls, events …) and who was present."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import INTERACTION_KINDS, SENSITIVITIES

if TYPE_CHECKING:
    from .contact import Contact
    from .partner import Partner
    from .user import User

interaction_contacts = Table(
    "interaction_contacts",
    db.metadata,
    Column("interaction_id", ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

interaction_staff = Table(
    "interaction_staff",
    db.metadata,
    Column("interaction_id", ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (
        enum_check("kind", INTERACTION_KINDS),
        enum_check("sensitivity", SENSITIVITIES),
        Index("ix_interactions_partner_occurred", "partner_id", "occurred_at"),
        #: digests and reports count a period's interactions by partner and sensitivity
        #: from this index alone (an index-only scan), not from the table
        Index("ix_interactions_occurred_partner_sensitivity", "occurred_at", "partner_id",
              "sensitivity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    logged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    sensitivity: Mapped[str] = mapped_column(String(20), default="standard", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: set when retention replaced the summary and outcome (crm.services.personal_data)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(lazy="raise")
    logged_by: Mapped[User | None] = relationship(lazy="raise")
    contacts: Mapped[list[Contact]] = relationship(secondary=interaction_contacts, lazy="raise")
    staff: Mapped[list[User]] = relationship(secondary=interaction_staff, lazy="raise")
