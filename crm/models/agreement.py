"""Agreements with partners (MoUs, The Code, data-sharing, funding …), their reports and
The Code's six criteria."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import AGREEMENT_KINDS, AGREEMENT_STATUSES, CODE_CRITERION_STATUSES, SENSITIVITIES

if TYPE_CHECKING:
    from .contact import Contact
    from .partner import Partner
    from .user import User

#: the agreement is in force or about to be: expiry and reporting reminders apply
LIVE_STATUSES = ("signed", "active")

agreement_contacts = Table(
    "agreement_contacts",
    db.metadata,
    Column("agreement_id", ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

agreement_staff = Table(
    "agreement_staff",
    db.metadata,
    Column("agreement_id", ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

_LIVE = "status IN ('signed', 'active')"


class Agreement(db.Model):
    __tablename__ = "agreements"
    __table_args__ = (
        enum_check("kind", AGREEMENT_KINDS),
        enum_check("status", AGREEMENT_STATUSES),
        enum_check("sensitivity", SENSITIVITIES),
        CheckConstraint("expires_on IS NULL OR signed_on IS NULL OR expires_on >= signed_on",
                        name="expiry_after_signing"),
        CheckConstraint("reporting_every_months IS NULL OR reporting_every_months BETWEEN 1 AND 60",
                        name="reporting_interval_range"),
        CheckConstraint("renewal_notice_days BETWEEN 0 AND 3650", name="renewal_notice_range"),
        #: the reminder sweep and the "expiring" report read live agreements by date
        Index("ix_agreements_live_expires_on", "expires_on",
              postgresql_where=text(_LIVE), sqlite_where=text(_LIVE)),
        Index("ix_agreements_live_next_report_due_on", "next_report_due_on",
              postgresql_where=text(_LIVE), sqlite_where=text(_LIVE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    #: the owner is reminded this many days before expiry (then 30 and 7 days before)
    renewal_notice_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    #: a report is due every N months (The Code: 12); None = no reporting duty
    reporting_every_months: Mapped[int | None] = mapped_column(SmallInteger)
    last_report_on: Mapped[date | None] = mapped_column(Date)
    #: derived from the last report received (or the start) and the interval; kept current by
    #: crm.services.agreements so the sweep and the reports can use an index
    next_report_due_on: Mapped[date | None] = mapped_column(Date)
    document_ref: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    #: never lower than the partner's
    sensitivity: Mapped[str] = mapped_column(String(20), default="standard", index=True)
    #: set when renewed: the agreement that replaces this one
    successor_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="SET NULL"), index=True)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(lazy="raise")
    contacts: Mapped[list[Contact]] = relationship(secondary=agreement_contacts, lazy="raise")
    staff: Mapped[list[User]] = relationship(secondary=agreement_staff, lazy="raise")
    reports: Mapped[list[AgreementReport]] = relationship(
        back_populates="agreement", lazy="raise", order_by="AgreementReport.received_on.desc()")
    criteria: Mapped[list[CodeCriterion]] = relationship(
        back_populates="agreement", lazy="raise", order_by="CodeCriterion.number")


class AgreementReport(db.Model):
    """A report received under an agreement's reporting duty."""

    __tablename__ = "agreement_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    #: the due date this report answered (for "received on time")
    due_on: Mapped[date | None] = mapped_column(Date)
    link: Mapped[str | None] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship(back_populates="reports", lazy="raise")


class CodeCriterion(db.Model):
    """One of The Code's six criteria for an agreement of kind `the_code`."""

    __tablename__ = "code_criteria"
    __table_args__ = (
        enum_check("status", CODE_CRITERION_STATUSES),
        CheckConstraint("number BETWEEN 1 AND 6", name="number_range"),
    )

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)

    agreement: Mapped[Agreement] = relationship(back_populates="criteria", lazy="raise")
