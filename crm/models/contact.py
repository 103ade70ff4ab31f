"""Contacts: people at a partner."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import LAWFUL_BASES, SENSITIVITIES

if TYPE_CHECKING:
    from .partner import Partner


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        enum_check("sensitivity", SENSITIVITIES),
        enum_check("lawful_basis", LAWFUL_BASES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    #: never lower than the partner's sensitivity
    sensitivity: Mapped[str] = mapped_column(String(20), default="standard")
    archived: Mapped[bool] = mapped_column(default=False)
    #: the person asked not to be contacted: a badge, and the log form warns
    do_not_contact: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: why the network may hold this person's data (LAWFUL_BASES), with a note and a date
    lawful_basis: Mapped[str | None] = mapped_column(String(40))
    lawful_basis_note: Mapped[str | None] = mapped_column(Text)
    lawful_basis_on: Mapped[date | None] = mapped_column(Date)
    #: set once by crm.services.personal_data.erasure; the record is then "Erased contact #id"
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="contacts", lazy="raise")


#: one contact per email per partner, case-insensitively
Index(
    "uq_contacts_partner_email",
    Contact.partner_id,
    func.lower(Contact.email),
    unique=True,
    sqlite_where=text("email IS NOT NULL"),
    postgresql_where=text("email IS NOT NULL"),
)

#: case-insensitive look-up of a contact by email across partners (imports' duplicate check)
Index("ix_contacts_email_lower", func.lower(Contact.email))
