"""Follow-ups: something someone must do for a partner by a date."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import FOLLOW_UP_STATUSES, SENSITIVITIES

if TYPE_CHECKING:
    from .interaction import Interaction
    from .partner import Partner
    from .user import User


class FollowUp(db.Model):
    __tablename__ = "follow_ups"
    __table_args__ = (
        enum_check("status", FOLLOW_UP_STATUSES),
        enum_check("sensitivity", SENSITIVITIES),
        Index("ix_follow_ups_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_follow_ups_status_due", "status", "due_at"),
        Index("ix_follow_ups_partner_due", "partner_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: effective sensitivity: never below its partner's and its interaction's (raised with
    #: them by the services), settable higher; `access.visible_follow_ups` applies it
    sensitivity: Mapped[str] = mapped_column(String(20), default="standard")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    #: True when the reader may not see the partner (an assignee who lost access keeps
    #: their follow-up, not the partner's name); loaded by `access.visible_follow_ups`,
    #: and True wherever it is not, so a forgotten scope hides rather than shows
    partner_hidden: Mapped[bool] = query_expression(default_expr=true())

    partner: Mapped[Partner] = relationship(lazy="raise")
    interaction: Mapped[Interaction | None] = relationship(lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="raise")
