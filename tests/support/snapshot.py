"""Whole-database snapshots, to prove a refused request changed nothing.

`take(db)` reads every row of every mapped table (a fresh connection, so it sees what is
committed, not the test session's identity map); `changes(before, after)` lists the rows
that appeared or disappeared per table. A refusal may leave exactly one trace: the audit
event that records it (`authz.forbidden`), which `unchanged_but_refusals` allows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

Snapshot = dict[str, set[tuple]]

#: audit actions that record a refusal; the only rows a refused request may add
REFUSAL_ACTIONS = frozenset({"authz.forbidden", "authz.not_found"})


def _plain(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def take(db) -> Snapshot:
    """Every committed row of every table, as sets of tuples keyed by table name."""
    snapshot: Snapshot = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            snapshot[table.name] = {tuple(_plain(v) for v in row) for row in rows}
    return snapshot


def changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple]]]:
    """{table: {"added": [...], "removed": [...]}} for each table whose rows differ."""
    diff = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, set()), after.get(name, set())
        if old != new:
            diff[name] = {"added": sorted(new - old, key=repr),
                          "removed": sorted(old - new, key=repr)}
    return diff


def unchanged_but_refusals(db, before: Snapshot, after: Snapshot) -> dict:
    """The changes between two snapshots other than new refusal audit events ({} when none)."""
    diff = changes(before, after)
    audit = diff.get("audit_events")
    if audit and not audit["removed"]:
        action_at = _column_index(db, "audit_events", "action")
        if all(row[action_at] in REFUSAL_ACTIONS for row in audit["added"]):
            del diff["audit_events"]
    return diff


def _column_index(db, table_name: str, column: str) -> int:
    table = db.metadata.tables[table_name]
    return [c.name for c in table.columns].index(column)
