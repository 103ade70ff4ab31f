"""Partners (organisations), their tags, collaborators and stage history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, func, null
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import SECTORS, SENSITIVITIES, STAGES

if TYPE_CHECKING:
    from .contact import Contact
    from .user import User

partner_collaborators = Table(
    "partner_collaborators",
    db.metadata,
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Partner(db.Model):
    __tablename__ = "partners"
    __table_args__ = (
        enum_check("sector", SECTORS),
        enum_check("stage", STAGES),
        enum_check("sensitivity", SENSITIVITIES),
        Index("ix_partners_name_key_country", "name_key", "country"),
        Index("ix_partners_archived_last_interaction", "archived", "last_interaction_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: lower-cased, accent-free name: search and duplicate detection on every backend
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    sector: Mapped[str] = mapped_column(String(30), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)  #: ISO 3166-1 alpha-2
    region: Mapped[str] = mapped_column(String(64), index=True)  #: UN M49 region
    stage: Mapped[str] = mapped_column(String(20), default="prospect", index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    sensitivity: Mapped[str] = mapped_column(String(20), default="standard", index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    description: Mapped[str | None] = mapped_column(Text)
    is_member: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: the latest occurred_at of its interactions, kept current on every write
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: the latest occurred_at per interaction sensitivity, kept in the same statement as
    #: `last_interaction_at`: a reader is shown the latest of the levels they may see
    #: (`access.last_interaction_seen`), so a hidden meeting never leaks its date
    last_standard_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_restricted_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_confidential_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the latest interaction the *reader* may see, loaded by `access.visible_partners`
    #: (`with_expression`); anywhere else it falls back to the standard level's date
    last_interaction_seen: Mapped[datetime | None] = query_expression(
        default_expr=func.coalesce(last_standard_interaction_at.column, null()))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: optimistic-concurrency counter (the API's ETag)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="raise")
    collaborators: Mapped[list[User]] = relationship(secondary=partner_collaborators, lazy="raise")
    tags: Mapped[list[PartnerTag]] = relationship(
        back_populates="partner", cascade="all, delete-orphan", lazy="raise"
    )
    contacts: Mapped[list[Contact]] = relationship(back_populates="partner", lazy="raise")

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)

    def __repr__(self) -> str:
        return f"<Partner {self.id} {self.name!r}>"


class PartnerTag(db.Model):
    __tablename__ = "partner_tags"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)

    partner: Mapped[Partner] = relationship(back_populates="tags")


class StageChange(db.Model):
    """A partner's stage moved: shown on the timeline and in digests."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_partner_changed", "partner_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    changed_by: Mapped[User | None] = relationship(lazy="raise")
