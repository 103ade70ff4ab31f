"""Engagement digests: periods in the user's zone, set-based compilation, the email.

A digest covers one period ending at the user's local morning (weekly, Monday 08:00 by
default; or daily). `compile_digest` runs a fixed number of aggregate statements per
digest — at most one per section, never one per partner or interaction — each scoped by
crm.services.access, so a digest shows what the web pages would show, and derived values
(health, last contact) come from the interactions the recipient may see. An email leaves
the application, so restricted and confidential records are named as crm.services.outside
says ("a restricted partner"), for every recipient: their names and text are picked as NULL
in SQL, never fetched, and interactions are only counted.

One module per job, in the order a digest travels through them:

- `schedule`     periods in the user's zone, who is due, the ledger rows (`sweep`)
- `data`         the result types (`DigestData` and its items and sections)
- `compile`      the set-based statements that fill them (`compile_digest`)
- `preferences`  the user's settings and the one-click unsubscribe
- `email`        subject, reason, the composed email and the `digest` renderer (`render`)

Callers use this package's names (`digests.sweep`, `digests.render`, …); each module
imports only those before it.
"""

from __future__ import annotations

from .compile import (
    COVERAGE_SECTORS,
    MAX_FOLLOW_UPS,
    MAX_INTERACTIONS,
    MAX_LAPSED,
    UPCOMING_DAYS,
    compile_digest,
    one_line,
)
from .data import (
    CountRow,
    DigestData,
    FollowUpItem,
    InteractionItem,
    NetworkSection,
    PartnerItem,
    SensitiveCount,
    StageItem,
    TeamSection,
    is_empty,
)
from .email import build_email, digest_for, reason_for, render, subject_for
from .preferences import (
    UNSUBSCRIBE_MAX_AGE,
    UNSUBSCRIBE_PURPOSE,
    unsubscribe,
    unsubscribe_token,
    update_preferences,
    user_for_unsubscribe,
)
from .schedule import (
    WEEKDAYS,
    DueDigest,
    Period,
    dedupe_key,
    due_digests,
    ledger_rows,
    next_digest_at,
    period_for,
    previous_start,
    sweep,
)

__all__ = [
    "COVERAGE_SECTORS",
    "MAX_FOLLOW_UPS",
    "MAX_INTERACTIONS",
    "MAX_LAPSED",
    "UNSUBSCRIBE_MAX_AGE",
    "UNSUBSCRIBE_PURPOSE",
    "UPCOMING_DAYS",
    "WEEKDAYS",
    "CountRow",
    "DigestData",
    "DueDigest",
    "FollowUpItem",
    "InteractionItem",
    "NetworkSection",
    "PartnerItem",
    "Period",
    "SensitiveCount",
    "StageItem",
    "TeamSection",
    "build_email",
    "compile_digest",
    "dedupe_key",
    "digest_for",
    "due_digests",
    "is_empty",
    "ledger_rows",
    "next_digest_at",
    "one_line",
    "period_for",
    "previous_start",
    "reason_for",
    "render",
    "subject_for",
    "sweep",
    "unsubscribe",
    "unsubscribe_token",
    "update_preferences",
    "user_for_unsubscribe",
]
