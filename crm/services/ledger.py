"""How the delivery ledger reads to an administrator (/admin/deliveries).

The ledger stores four statuses (`crm.models.enums.DELIVERY_STATUSES`); people see five: a
row closed without sending (`deliveries.skip`: stored `sent`, `last_error` "not sent: …")
is shown as "not needed". The counts, the filter and the row badges all use the shown
status below, so they cannot disagree. Rows sent in one email share its Message-ID
(a reminder batch: one email per recipient per sweep); `batches` says which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import Delivery

from . import deliveries

#: the shown status of a row → its label, in the order the page lists them
STATUS_LABELS = {
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "skipped": "not needed",
    "failed": "failed",
}
#: Bootstrap badge colour of each shown status
STATUS_BADGES = {"queued": "warning", "sending": "info", "sent": "success",
                 "skipped": "secondary", "failed": "danger"}


def _skipped() -> ColumnElement[bool]:
    """SQL twin of `deliveries.is_skipped`."""
    return and_(Delivery.status == "sent",
                Delivery.last_error.startswith(deliveries.NOT_SENT, autoescape=True))


def _shown_status() -> ColumnElement[str]:
    return case((_skipped(), "skipped"), else_=Delivery.status)


def shown_status(row: Delivery) -> str:
    """The key in `STATUS_LABELS` of a loaded row."""
    return "skipped" if deliveries.is_skipped(row) else row.status


def list_query(status: str | None = None, kind: str | None = None) -> Select:
    """Ledger rows, newest first, with their recipient loaded; `status` is a shown status."""
    stmt = select(Delivery).options(selectinload(Delivery.recipient)).order_by(
        Delivery.created_at.desc(), Delivery.id.desc())
    if status in STATUS_LABELS:
        stmt = stmt.where(_shown_status() == status)
    if kind:
        stmt = stmt.where(Delivery.kind == kind)
    return stmt


def status_counts(kind: str | None = None) -> dict[str, int]:
    """How many rows have each shown status (every key present; one GROUP BY)."""
    shown = _shown_status().label("shown")
    stmt = select(shown, func.count()).group_by(shown)
    if kind:
        stmt = stmt.where(Delivery.kind == kind)
    counts = dict.fromkeys(STATUS_LABELS, 0)
    counts.update(db.session.execute(stmt).all())
    return counts


@dataclass(frozen=True)
class Batch:
    """The other rows of the email a row went out in (or will go out in)."""

    #: rows in the same email, this one excluded, by id
    others: tuple[int, ...]
    #: rows that shared the Message-ID but were left out (closed as "not needed")
    left_out: tuple[int, ...]
    #: "reminder" when every row of the email is a reminder, else "notification"
    noun: str


def batches(rows: list[Delivery]) -> dict[int, Batch]:
    """For each row sharing its Message-ID with another row: the rest of its email.

    One statement whatever the number of rows (it looks the page's Message-IDs up)."""
    message_ids = {row.message_id for row in rows if row.message_id}
    if not message_ids:
        return {}
    members: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    stmt = (select(Delivery.id, Delivery.message_id, Delivery.kind, _skipped())
            .where(Delivery.message_id.in_(message_ids)).order_by(Delivery.id))
    for row_id, message_id, kind, skipped in db.session.execute(stmt):
        members[message_id].append((row_id, kind, bool(skipped)))
    found: dict[int, Batch] = {}
    for row in rows:
        group = members.get(row.message_id or "", [])
        if len(group) < 2:
            continue
        noun = ("reminder" if all(kind.startswith("reminder") for _, kind, _ in group)
                else "notification")
        found[row.id] = Batch(
            others=tuple(i for i, _, skipped in group if not skipped and i != row.id),
            left_out=tuple(i for i, _, skipped in group if skipped and i != row.id),
            noun=noun)
    return found
