"""Engagement health (active / cooling / dormant) from the last interaction a reader may see.

Thresholds are days per sector: (cooling after, dormant after). They live in the
configuration (HEALTH_THRESHOLDS, HEALTH_DEFAULT_THRESHOLDS); services never read
`current_app`, so callers pass `Thresholds.from_config(app.config)` — the default
equals the configuration's defaults. A partner with no interaction at all is `dormant`:
nobody has engaged with it, which is what "dormant" asks a manager to look at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from crm.lib import timeutil
from crm.models import Partner
from crm.models.enums import HEALTH_STATES

from .errors import ValidationError

DEFAULT_SECTOR_THRESHOLDS: dict[str, tuple[int, int]] = {
    "law_enforcement": (90, 180),
    "government": (90, 180),
}
DEFAULT_THRESHOLDS: tuple[int, int] = (60, 120)


@dataclass(frozen=True)
class Thresholds:
    """(cooling, dormant) day counts per sector, with a default for the other sectors."""

    per_sector: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_SECTOR_THRESHOLDS))
    default: tuple[int, int] = DEFAULT_THRESHOLDS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """Read HEALTH_THRESHOLDS / HEALTH_DEFAULT_THRESHOLDS from a Flask config dict."""
        per_sector = config.get("HEALTH_THRESHOLDS", DEFAULT_SECTOR_THRESHOLDS)
        default = config.get("HEALTH_DEFAULT_THRESHOLDS", DEFAULT_THRESHOLDS)
        return cls({k: (int(v[0]), int(v[1])) for k, v in per_sector.items()},
                   (int(default[0]), int(default[1])))

    def for_sector(self, sector: str) -> tuple[int, int]:
        return tuple(self.per_sector.get(sector, self.default))  # type: ignore[return-value]


DEFAULT = Thresholds()


def health_of(partner: Partner, now: datetime | None = None,
              thresholds: Thresholds = DEFAULT) -> str:
    """'active', 'cooling' or 'dormant' for one loaded partner (no query)."""
    return health_for(partner.sector, partner.last_interaction_seen, now, thresholds)


def health_for(sector: str, last_interaction_at: datetime | None, now: datetime | None = None,
               thresholds: Thresholds = DEFAULT) -> str:
    """The same rule on plain values (used by reports that select columns, not objects)."""
    if last_interaction_at is None:
        return "dormant"
    now = now or timeutil.now_utc()
    cooling, dormant = thresholds.for_sector(sector)
    age = now - last_interaction_at
    if age < timedelta(days=cooling):
        return "active"
    if age < timedelta(days=dormant):
        return "cooling"
    return "dormant"


def _state_clause(state: str, cooling: int, dormant: int, now: datetime,
                  last: ColumnElement) -> ColumnElement[bool]:
    cooling_since = now - timedelta(days=cooling)
    dormant_since = now - timedelta(days=dormant)
    if state == "active":
        return last > cooling_since
    if state == "cooling":
        return and_(last <= cooling_since, last > dormant_since)
    return or_(last.is_(None), last <= dormant_since)


def health_clause(state: str, now: datetime | None = None,
                  thresholds: Thresholds = DEFAULT, *,
                  last: ColumnElement | None = None) -> ColumnElement[bool]:
    """SQL condition on `Partner` matching `health_of(...) == state` (same boundaries).

    `last` is the reader's last interaction (`access.last_interaction_seen(user)`);
    without it only standard interactions count (nothing hidden can leak through).
    """
    last = Partner.last_standard_interaction_at if last is None else last
    if state not in HEALTH_STATES:
        raise ValidationError({"health": f"health must be one of {', '.join(HEALTH_STATES)}"})
    now = now or timeutil.now_utc()
    special = [s for s in thresholds.per_sector if tuple(thresholds.per_sector[s])
               != tuple(thresholds.default)]
    parts = [
        and_(Partner.sector == sector,
             _state_clause(state, *thresholds.for_sector(sector), now, last))
        for sector in special
    ]
    others = _state_clause(state, *thresholds.default, now, last)
    parts.append(and_(Partner.sector.not_in(special), others) if special else others)
    return or_(false(), *parts)
