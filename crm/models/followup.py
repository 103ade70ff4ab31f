"""Follow-ups: something someone must do for a partner by a date."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, text, true
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import FOLLOW_UP_STATUSES, SENSITIVITIES

if TYPE_CHECKING:
    from .interaction import Interaction
    from .partner import Partner
    from .user import User


#: open, and some reminder of the current due time not yet settled (the partial index's
#: predicate; the sweep's WHERE repeats it so the planner uses the index)
REMINDERS_PENDING = ("status = 'open' AND (reminder_stage < 3 OR reminded_due_at IS NULL"
                     " OR reminded_due_at <> due_at)")


class FollowUp(db.Model):
    __tablename__ = "follow_ups"
    __table_args__ = (
        enum_check("status", FOLLOW_UP_STATUSES),
        enum_check("sensitivity", SENSITIVITIES),
        Index("ix_follow_ups_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_follow_ups_status_due", "status", "due_at"),
        Index("ix_follow_ups_partner_due", "partner_id", "due_at"),
        # the reminder sweep's candidates: open follow-ups not yet reminded of everything
        # for their current due time (crm.services.reminders.pending)
        Index("ix_follow_ups_reminders_pending", "due_at",
              postgresql_where=text(REMINDERS_PENDING), sqlite_where=text(REMINDERS_PENDING)),
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
    #: how many of the reminders (due day, overdue, escalation) the sweep has settled for
    #: the due time in `reminded_due_at`; a new due_at (snooze, reschedule) re-arms them all
    reminder_stage: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    reminded_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
