"""The colour scale of a choropleth of counts (partners per country on the dashboard's map).

The rule, in one place (the map, its legend and the tests read it from here):

- **0 is a neutral grey**, never a shade of the scale, so "none" and "one" never look alike;
- from 1 upwards a **sequential blue scale of at most five steps, each a different colour**:
  - when the largest count is at most five, one step per integer (1, 2, 3, 4, 5), so 3 and 4
    are never the same colour;
  - above that, steps at the quintiles of the non-zero counts, rounded to whole numbers and
    merged where they coincide ("1", "2", "3–5", "6–12", "13–40"), so each step holds some
    countries and the few large counts do not wash out the many small ones.

Pure functions over integers: no database, no request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: "no partners": Bootstrap's gray-300, a grey the blues below never come near
NONE_COLOUR = "#dee2e6"
#: ColorBrewer "Blues" (9 classes), its four lightest left out so that the first step is a
#: clear blue next to the grey of none; every pair of neighbours differs visibly
PALETTE = ("#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
MAX_STEPS = len(PALETTE)


@dataclass(frozen=True)
class Step:
    """Counts `low`..`high` (both included) share `colour`."""

    low: int
    high: int
    colour: str

    @property
    def label(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"

    def as_dict(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high, "label": self.label, "colour": self.colour}


@dataclass(frozen=True)
class Scale:
    """The steps from 1 upwards (empty when every count is 0); 0 is always NONE_COLOUR."""

    steps: tuple[Step, ...]

    def colour(self, count: int) -> str:
        """The fill for `count`: grey for 0 (or less), else its step's blue."""
        if count <= 0 or not self.steps:
            return NONE_COLOUR
        for step in self.steps:
            if count <= step.high:
                return step.colour
        return self.steps[-1].colour

    def legend(self) -> list[dict[str, object]]:
        """The legend's entries, "none" first: label and colour of each."""
        none = {"low": 0, "high": 0, "label": "none", "colour": NONE_COLOUR}
        return [none, *(s.as_dict() for s in self.steps)]


def bounds(counts: Iterable[int], max_steps: int = MAX_STEPS) -> list[tuple[int, int]]:
    """The (low, high) ranges of the steps for these counts; zeros are left out.

    Integer steps up to `max_steps`, else quintile steps on whole numbers (see the module).
    """
    values = sorted(c for c in counts if c > 0)
    if not values:
        return []
    top = values[-1]
    if top <= max_steps:
        return [(n, n) for n in range(1, top + 1)]
    # the lower bound of each step: the value at each quantile (nearest rank), deduplicated
    lows = sorted({1} | {values[(len(values) * i) // max_steps] for i in range(1, max_steps)})
    highs = [nxt - 1 for nxt in lows[1:]] + [top]
    return list(zip(lows, highs, strict=True))


def colours_for(steps: int) -> list[str]:
    """`steps` colours of PALETTE, spread from the lightest to the darkest (all distinct)."""
    if steps <= 0:
        return []
    if steps == 1:
        return [PALETTE[len(PALETTE) // 2]]
    last = len(PALETTE) - 1
    return [PALETTE[round(i * last / (steps - 1))] for i in range(steps)]


def scale_for(counts: Iterable[int], max_steps: int = MAX_STEPS) -> Scale:
    """The scale for these counts (see the module for the rule)."""
    ranges = bounds(counts, min(max_steps, MAX_STEPS))
    return Scale(tuple(Step(low, high, colour) for (low, high), colour
                       in zip(ranges, colours_for(len(ranges)), strict=True)))
