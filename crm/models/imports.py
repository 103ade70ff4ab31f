"""CSV import jobs: the uploaded file, its mapping and progress live in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

from ._types import UTCDateTime, enum_check, utcnow
from .enums import IMPORT_KINDS, IMPORT_STATUSES


class ImportJob(db.Model):
    __tablename__ = "import_jobs"
    __table_args__ = (enum_check("status", IMPORT_STATUSES), enum_check("kind", IMPORT_KINDS))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: partners (with one contact per row) or agreements
    kind: Mapped[str] = mapped_column(String(20), default="partners", server_default="partners")
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)  #: the decoded CSV text
    mapping: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    #: per-row outcomes: [{row, outcome, reason}]
    results: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
