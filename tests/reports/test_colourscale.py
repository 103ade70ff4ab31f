"""The map's colour rule (crm/lib/colourscale.py): grey for none, distinct blues from 1."""

from __future__ import annotations

import pytest

from crm.lib import colourscale
from crm.lib.colourscale import NONE_COLOUR, PALETTE, bounds, scale_for


def test_none_is_grey_and_never_a_step_colour():
    scale = scale_for([1, 2, 3])
    assert scale.colour(0) == NONE_COLOUR
    assert NONE_COLOUR not in PALETTE
    assert scale.colour(1) != scale.colour(0)


@pytest.mark.parametrize(("counts", "expected"), [
    ([], []),
    ([0, 0], []),
    ([1, 1, 1], [(1, 1)]),
    ([1, 3], [(1, 1), (2, 2), (3, 3)]),
    ([4, 1, 3, 2, 1], [(1, 1), (2, 2), (3, 3), (4, 4)]),
    ([5, 1], [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]),
])
def test_up_to_five_one_step_per_integer(counts, expected):
    assert bounds(counts) == expected


def test_the_demo_counts_show_every_country_and_3_differs_from_4():
    # the dashboard's demo: 24 countries with 1 to 4 partners
    counts = [1] * 13 + [2] * 6 + [3] * 3 + [4] * 2
    scale = scale_for(counts)
    colours = [scale.colour(n) for n in (0, 1, 2, 3, 4)]
    assert len(set(colours)) == 5
    assert [e["label"] for e in scale.legend()] == ["none", "1", "2", "3", "4"]
    assert [e["colour"] for e in scale.legend()] == colours


def test_above_five_quintile_steps_on_whole_numbers():
    counts = [1] * 10 + [2] * 5 + [3, 4, 6, 7, 9, 12, 15, 20, 40]
    steps = bounds(counts)
    assert steps[0][0] == 1 and steps[-1][1] == 40
    # contiguous, no gaps or overlaps, each step holding at least one country
    for (_, high), (low, _) in zip(steps, steps[1:], strict=False):
        assert low == high + 1
    for low, high in steps:
        assert any(low <= c <= high for c in counts)
    assert len(steps) <= colourscale.MAX_STEPS
    scale = scale_for(counts)
    assert [s.label for s in scale.steps] == [
        "1" if lo == hi else f"{lo}–{hi}" for lo, hi in steps]
    assert len({s.colour for s in scale.steps}) == len(steps)
    assert scale.colour(40) == scale.steps[-1].colour
    assert scale.colour(1) == scale.steps[0].colour


def test_many_large_counts_still_give_five_distinct_steps():
    counts = list(range(1, 101))
    scale = scale_for(counts)
    assert [s.label for s in scale.steps] == ["1–20", "21–40", "41–60", "61–80", "81–100"]
    assert [s.colour for s in scale.steps] == list(PALETTE)
    assert scale.colour(20) != scale.colour(21)


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5])
def test_colours_spread_and_distinct(steps):
    colours = colourscale.colours_for(steps)
    assert len(colours) == len(set(colours)) == steps
    if steps > 1:  # from the lightest to the darkest
        assert colours[0] == PALETTE[0] and colours[-1] == PALETTE[-1]
