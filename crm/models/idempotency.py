"""Idempotency keys: a retried write answers what the first attempt answered.

One row per key per API token (`token_id`, `key`), or per user for the web log form's
one-time form key (`token_id` NULL). The row is inserted before the write and committed
with it in the request's unit of work, so a key is either unused or holds the stored
answer of a write that happened (see crm/services/idempotency.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

from ._types import UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: the API token the key belongs to; NULL for a web form key (scoped by user_id)
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and canonical JSON body
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


#: a web form key is unique per user (API keys are unique per token, above)
Index(
    "uq_idempotency_keys_user_form_key",
    IdempotencyKey.user_id,
    IdempotencyKey.key,
    unique=True,
    sqlite_where=text("token_id IS NULL"),
    postgresql_where=text("token_id IS NULL"),
)
