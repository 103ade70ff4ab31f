"""CSV exports `/exports/<kind>.csv`: filtered as on screen, visible rows only, streamed.

The query string is the partner list's (q, sector, country, region, stage, owner_id, tag,
member, health, archived, sort; interactions also since/until): partners, their contacts,
interactions and agreements (issue 15). Each export is audited
(who, filters, row count) before the first byte is sent.
"""

from flask import Blueprint

bp = Blueprint("exports", __name__)

from . import views  # noqa: E402,F401

__all__ = ["bp"]
