"""Who and where a change comes from, without services importing Flask.

The web layer, the API, the CLI and tasks set these per unit of work; the audit
service reads them.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
