"""Helpers for the admin page tests: what a reader sees, and statement counts."""

from __future__ import annotations

import re


def visible_text(html: str) -> str:
    """What a reader sees: the markup removed, the spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def statements(client, count_queries, path: str) -> int:
    """SQL statements one GET of `path` runs (after a warm-up request)."""
    client.get(path)
    with count_queries() as counter:
        assert client.get(path).status_code == 200
    return counter.count
