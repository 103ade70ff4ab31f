"""crm/lib/when.py: the "when" and "due" phrases of the log form, in the user's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.lib.when import PhraseError, parse_due, parse_when

#: Thursday 2026-03-05, 10:17:42 UTC
NOW = datetime(2026, 3, 5, 10, 17, 42, 123456, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("", utc(2026, 3, 5, 10, 17, 42)),
    (None, utc(2026, 3, 5, 10, 17, 42)),
    ("now", utc(2026, 3, 5, 10, 17, 42)),
    ("  NOW ", utc(2026, 3, 5, 10, 17, 42)),
    ("today", utc(2026, 3, 5, 10, 17, 42)),
    ("today 15:00", utc(2026, 3, 5, 15, 0)),
    ("Today, 9:05", utc(2026, 3, 5, 9, 5)),
    ("today at 3pm", utc(2026, 3, 5, 15, 0)),
    ("15:00", utc(2026, 3, 5, 15, 0)),
    ("3:30 pm", utc(2026, 3, 5, 15, 30)),
    ("12am", utc(2026, 3, 5, 0, 0)),
    ("12pm", utc(2026, 3, 5, 12, 0)),
    ("yesterday 15:00", utc(2026, 3, 4, 15, 0)),
    ("yesterday", utc(2026, 3, 4, 12, 0)),
    ("thursday 08:00", utc(2026, 3, 5, 8, 0)),  # today is a Thursday: today
    ("monday 14:00", utc(2026, 3, 2, 14, 0)),
    ("last fri 10:00", utc(2026, 2, 27, 10, 0)),
    ("2026-12-01 09:30", utc(2026, 12, 1, 9, 30)),
    ("2026-12-01T09:30", utc(2026, 12, 1, 9, 30)),  # what a datetime-local input sends
    ("2026-01-15T10:30:15", utc(2026, 1, 15, 10, 30, 15)),
    ("2026-1-5 7:05", utc(2026, 1, 5, 7, 5)),
    ("2026-12-01", utc(2026, 12, 1, 12, 0)),
])
def test_when_phrases_in_utc(text, expected):
    assert parse_when(text, "UTC", NOW) == expected


def test_when_is_read_in_the_users_zone_far_east_and_far_west():
    # 10:17 UTC on the 5th is already 00:17 on the 6th in Kiritimati (UTC+14) and still
    # 23:17 on the 4th in Pago Pago (UTC-11)
    assert parse_when("today 15:00", "Pacific/Kiritimati", NOW) == utc(2026, 3, 6, 1, 0)
    assert parse_when("yesterday 15:00", "Pacific/Kiritimati", NOW) == utc(2026, 3, 5, 1, 0)
    assert parse_when("today 15:00", "Pacific/Pago_Pago", NOW) == utc(2026, 3, 5, 2, 0)
    assert parse_when("2026-12-01 09:30", "Asia/Bangkok", NOW) == utc(2026, 12, 1, 2, 30)
    # "today" is the user's today, not UTC's: at 23:30 UTC it is tomorrow in Auckland
    late = utc(2026, 3, 5, 23, 30)
    assert parse_when("today 09:00", "Pacific/Auckland", late) == utc(2026, 3, 5, 20, 0)
    assert parse_when("friday 09:00", "Pacific/Auckland", late) == utc(2026, 3, 5, 20, 0)


def test_when_in_a_dst_gap_moves_forward_and_a_repeated_hour_takes_the_first():
    # Paris springs forward 2026-03-29 02:00 → 03:00: 02:30 does not exist there
    assert parse_when("2026-03-29 02:30", "Europe/Paris", NOW) == utc(2026, 3, 29, 1, 30)
    assert parse_when("2026-03-29 03:30", "Europe/Paris", NOW) == utc(2026, 3, 29, 1, 30)
    # autumn: 02:30 happens twice on 2026-10-25; the first (summer time, UTC+2) is taken
    assert parse_when("2026-10-25 02:30", "Europe/Paris", NOW) == utc(2026, 10, 25, 0, 30)
    # New York springs forward 2026-03-08 02:00
    assert parse_when("2026-03-08 02:15", "America/New_York", NOW) == utc(2026, 3, 8, 7, 15)


@pytest.mark.parametrize("text", [
    "tomorrow", "next week", "soon", "15", "25:00", "10:60", "13pm", "0am", "2026-02-30 10:00",
    "2026-13-01", "01/12/2026", "yesterday 25:00", "yesterday noonish", "monday at",
    "2026-12-01 09:30 +02:00", "1 day ago", "\x00", "x" * 10_000, "now now",
])
def test_bad_when_is_a_phrase_error_with_examples(text):
    with pytest.raises(PhraseError) as caught:
        parse_when(text, "Europe/Paris", NOW)
    assert str(caught.value)  # a message for the field, never an empty one


@pytest.mark.parametrize("text", ["0001-01-01 00:00", "9999-12-31 23:59", "1899-12-31"])
def test_years_no_zone_arithmetic_survives_are_refused(text):
    with pytest.raises(PhraseError, match="year between"):
        parse_when(text, "Pacific/Kiritimati", NOW)
    with pytest.raises(PhraseError, match="year between"):
        parse_due(text.split(" ")[0], "Pacific/Pago_Pago", NOW)


def test_unknown_zone_falls_back_to_utc():
    assert parse_when("today 15:00", "Mars/Olympus", NOW) == utc(2026, 3, 5, 15, 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("", None),
    ("  ", None),
    ("today", date(2026, 3, 5)),
    ("tomorrow", date(2026, 3, 6)),
    ("Friday", date(2026, 3, 6)),
    ("fri", date(2026, 3, 6)),
    ("next friday", date(2026, 3, 6)),
    ("thursday", date(2026, 3, 12)),  # typed on a Thursday: the next one
    ("wed", date(2026, 3, 11)),
    ("monday", date(2026, 3, 9)),
    ("+3d", date(2026, 3, 8)),
    ("3d", date(2026, 3, 8)),
    ("+ 2w", date(2026, 3, 19)),
    ("in 3 days", date(2026, 3, 8)),
    ("in 1 day", date(2026, 3, 6)),
    ("in 2 weeks", date(2026, 3, 19)),
    ("in a week", date(2026, 3, 12)),
    ("next week", date(2026, 3, 12)),
    ("+0d", date(2026, 3, 5)),
    ("2026-12-01", date(2026, 12, 1)),
    ("2026-12-01.", date(2026, 12, 1)),
])
def test_due_phrases(text, expected):
    assert parse_due(text, "UTC", NOW) == expected


def test_due_is_the_users_local_date():
    # 10:17 UTC on Thursday the 5th: Friday the 6th in Kiritimati, Wednesday the 4th in Pago Pago
    assert parse_due("tomorrow", "Pacific/Kiritimati", NOW) == date(2026, 3, 7)
    assert parse_due("tomorrow", "Pacific/Pago_Pago", NOW) == date(2026, 3, 5)
    assert parse_due("friday", "Pacific/Kiritimati", NOW) == date(2026, 3, 13)
    assert parse_due("friday", "Pacific/Pago_Pago", NOW) == date(2026, 3, 6)


@pytest.mark.parametrize("text", [
    "yesterday", "soon", "friday 15:00", "ad", "+d", "+3x", "in days", "+99999d", "-3d",
    "2026-02-30", "2026/12/01", "12/01", "3", "\x00", "x" * 10_000,
])
def test_bad_due_is_a_phrase_error(text):
    with pytest.raises(PhraseError) as caught:
        parse_due(text, "UTC", NOW)
    assert str(caught.value)
