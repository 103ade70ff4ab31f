"""Engagement health (new / engaged / cooling / lapsed) from the last interaction a reader may see.

Thresholds are days per sector: (cadence, lapsed after). The cadence is how often the
sector expects an interaction; past it a partner is `cooling`, past the second number
`lapsed`. They live in the configuration (HEALTH_THRESHOLDS, HEALTH_DEFAULT_THRESHOLDS);
services never read `current_app`, so callers pass `Thresholds.from_config(app.config)` —
the default equals the configuration's defaults.

A partner with no interaction (that the reader may see) is measured from its creation:
`new` until its sector's cadence has passed since it was added, then `cooling`, then
`lapsed`, so a partner created or imported minutes ago is not reported as neglected.
The health words deliberately differ from the stages (a stage `dormant` or `active` is a
decision someone took; health is only the calendar).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_

from crm.lib import timeutil
from crm.models import Partner, enums
from crm.models.enums import HEALTH_STATES

from .errors import ValidationError

DEFAULT_SECTOR_THRESHOLDS: dict[str, tuple[int, int]] = {
    "law_enforcement": (90, 180),
    "government": (90, 180),
}
DEFAULT_THRESHOLDS: tuple[int, int] = (60, 120)


@dataclass(frozen=True)
class Thresholds:
    """(cadence, lapsed after) day counts per sector, with a default for the other sectors."""

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

    def meanings(self) -> dict[str, str]:
        """What each state means with these numbers, for the dashboard's health boxes
        (the partner badges say it for one partner: `Health.explanation`)."""
        cadence, lapsed = self.default
        exceptions = "; ".join(
            f"{enums.label(sector).lower()}: {c} and {lapse}"
            for sector, (c, lapse) in sorted(self.per_sector.items()) if (c, lapse) != self.default)
        numbers = f"{cadence} days, lapsed after {lapsed}"
        if exceptions:
            numbers += f" ({exceptions})"
        return {
            "new": "Added recently and not contacted yet: within its sector's cadence "
                   "since it was added.",
            "engaged": f"An interaction within its sector's cadence ({numbers}).",
            "cooling": "No interaction for longer than its sector's cadence.",
            "lapsed": "No interaction for longer than its sector's lapse limit.",
        }


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Health:
    """A partner's health and why: what the badge shows and its explanation."""

    state: str
    #: whole days since the last interaction the reader may see (or since creation)
    days: int
    #: True when no interaction is known and `days` counts from the partner's creation
    since_created: bool
    cadence: int
    lapsed_after: int

    def __str__(self) -> str:
        return self.state

    @property
    def explanation(self) -> str:
        """One sentence for a tooltip: 'No interaction for 120 days; this sector expects
        one every 90 (lapsed after 180).'"""
        expects = f"this sector expects one every {self.cadence} days"
        if self.since_created:
            fact = (f"Added {_days(self.days)}, no interaction yet" if self.state == "new"
                    else f"No interaction since it was added {_days(self.days)}")
        elif self.state == "engaged":
            fact = f"Last interaction {_days(self.days)}"
        else:
            fact = f"No interaction for {self.days} day{'' if self.days == 1 else 's'}"
        return f"{fact}; {expects} (lapsed after {self.lapsed_after} days)."


def _days(days: int) -> str:
    return "today" if days <= 0 else f"{days} day{'' if days == 1 else 's'} ago"


def assess(partner: Partner, now: datetime | None = None,
           thresholds: Thresholds = DEFAULT) -> Health:
    """The health of one loaded partner with the numbers behind it (no query)."""
    now = now or timeutil.now_utc()
    last = partner.last_interaction_seen
    since = last if last is not None else (partner.created_at or now)
    state = health_for(partner.sector, last, now, thresholds, created_at=partner.created_at)
    cadence, lapsed = thresholds.for_sector(partner.sector)
    return Health(state, max((now - since).days, 0), last is None, cadence, lapsed)


def health_of(partner: Partner, now: datetime | None = None,
              thresholds: Thresholds = DEFAULT) -> str:
    """'new', 'engaged', 'cooling' or 'lapsed' for one loaded partner (no query)."""
    return health_for(partner.sector, partner.last_interaction_seen, now, thresholds,
                      created_at=partner.created_at)


def health_for(sector: str, last_interaction_at: datetime | None, now: datetime | None = None,
               thresholds: Thresholds = DEFAULT, *,
               created_at: datetime | None = None) -> str:
    """The same rule on plain values (used by reports that select columns, not objects).

    Without an interaction the age counts from `created_at` (unknown: treated as long ago).
    """
    now = now or timeutil.now_utc()
    cadence, lapsed = thresholds.for_sector(sector)
    if last_interaction_at is None:
        if created_at is not None and now - created_at < timedelta(days=cadence):
            return "new"
        since = created_at
    else:
        since = last_interaction_at
        if now - since < timedelta(days=cadence):
            return "engaged"
    if since is not None and now - since < timedelta(days=lapsed):
        return "cooling"
    return "lapsed"


def _state_clause(state: str, cadence: int, lapsed: int, now: datetime,
                  last: ColumnElement) -> ColumnElement[bool]:
    cooling_since = now - timedelta(days=cadence)
    lapsed_since = now - timedelta(days=lapsed)
    since = func.coalesce(last, Partner.created_at)
    if state == "new":
        return and_(last.is_(None), Partner.created_at > cooling_since)
    if state == "engaged":
        return last > cooling_since
    if state == "cooling":
        return and_(since <= cooling_since, since > lapsed_since)
    return or_(since.is_(None), since <= lapsed_since)


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
