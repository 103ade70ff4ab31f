"""The people picker: find colleagues by name for remote autocompletes, and name the ids a
form already holds. Both return (id, name) rows only, so page cost does not grow with the
number of users. Who may actually be chosen is still decided by the service that saves.

The staff directory is not public: a viewer (read-only: board members, auditors) chooses
no owner, assignee or colleague, so they get no directory at all (an empty list), and
nobody gets email addresses here. Search matches names only: matching emails would let
anyone confirm a colleague's address letter by letter.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from crm.extensions import db
from crm.lib.text import like_escape
from crm.models import User

SEARCH_LIMIT = 20


def may_browse(reader: User | None) -> bool:
    """Whether `reader` may look people up: active users who can write (not viewers)."""
    return reader is not None and reader.is_active and reader.can_write


def search(reader: User | None, q: str, limit: int = SEARCH_LIMIT,
           exclude_id: int | None = None) -> list[tuple[int, str]]:
    """Active, non-viewer users whose name contains `q`, by name (one query); nothing for
    a viewer."""
    if not may_browse(reader):
        return []
    stmt = select(User.id, User.name).where(User.active.is_(True), User.role != "viewer")
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    q = (q or "").strip()[:100]
    if q:
        pattern = f"%{like_escape(q.lower())}%"
        stmt = stmt.where(func.lower(User.name).like(pattern, escape="\\"))
    stmt = stmt.order_by(func.lower(User.name), User.id).limit(limit)
    return [(row.id, row.name) for row in db.session.execute(stmt)]


def named(ids: Iterable[int | None], reader: User | None = None) -> list[tuple[int, str]]:
    """(id, name) of exactly these users, by name; unknown ids are left out (one query).

    With `reader` given, a viewer gets nothing: otherwise `?owner_id=N` would name any user
    by id.
    """
    if reader is not None and not may_browse(reader):
        return []
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted:
        return []
    stmt = (select(User.id, User.name).where(User.id.in_(wanted[:500]))
            .order_by(func.lower(User.name), User.id))
    return [(row.id, row.name) for row in db.session.execute(stmt)]
