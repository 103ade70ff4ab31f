"""Dates and times as people type them: "now", "yesterday 15:00", "friday", "+3d".

Pure: the caller passes the current instant and the user's zone (nothing here reads a
clock), so a phrase means the same thing in a test as on the page. Every refusal is a
`PhraseError` (a ValueError) whose message can be shown beside the field.

When something happened (`parse_when`), in the user's zone:
- "" or "now" → now; "today" → now
- "today 15:00", "yesterday 9:30", "monday 14:00" (the latest Monday, today included)
- "15:00" → today at 15:00; "3pm", "3:30 pm" work wherever a time does
- "2026-12-01 09:30" (also "2026-12-01T09:30", seconds allowed); a date alone is 12:00
Non-existent local times (a spring-forward gap) move forward an hour; repeated ones
(autumn) take the first, as `timeutil.local_to_utc` does.

When something is due (`parse_due`), a local *date*:
- "today", "tomorrow", "friday" / "fri" (the next one, never today), "next friday" (the same)
- "+3d", "3d", "+2w", "in 3 days", "in 2 weeks", "in a week"
- "2026-12-01"
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from crm.lib import timeutil

#: the phrases a person can read in a message or a hint
WHEN_EXAMPLES = '"now", "yesterday 15:00" or "2026-12-01 09:30"'
DUE_EXAMPLES = '"tomorrow", "friday", "+3d" or "2026-12-01"'
#: years outside these are refused here (time-zone arithmetic near year 1 or 9999 overflows);
#: the services apply their own, narrower ranges
FIRST_YEAR, LAST_YEAR = 1900, 2200
#: "+Nd" / "in N weeks" at most this many days ahead
MAX_DAYS = 3660

WEEKDAYS = {name: i for i, names in enumerate((
    ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
    ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
    ("sunday", "sun"))) for name in names}

_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?\s*(?P<ampm>am|pm)?$")
_DATE = re.compile(r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})$")
_OFFSET = re.compile(r"^(?:\+\s*|in\s+)?(?:(?P<n>\d{1,5})\s*(?P<unit>d|days?|w|wks?|weeks?)"
                     r"|(?:an?|one)\s+(?P<word>day|week))$")


class PhraseError(ValueError):
    """A phrase that means no date or time; `str(error)` is the message for the field."""


def _words(text: str | None) -> str:
    """Lower case, single spaces, no trailing punctuation ("Yesterday,  15:00." → …)."""
    cleaned = re.sub(r"\s+", " ", (text or "").strip().lower()).strip(" .,")
    return cleaned.replace(" at ", " ").replace(", ", " ")


def _time(text: str) -> time | None:
    """"15:00", "9:30", "15:00:00", "3pm", "3:30 pm" → a time; None when it is no time."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute, second = int(match["h"]), int(match["m"] or 0), int(match["s"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
    elif match["m"] is None:
        return None  # a bare number ("15") is too easy to mistype: ask for "15:00"
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _iso_date(text: str) -> date | None:
    match = _DATE.match(text)
    if not match:
        return None
    try:
        day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PhraseError(f"Enter a year between {FIRST_YEAR} and {LAST_YEAR}.")
    return day


def iso_day(text: str) -> date:
    """A YYYY-MM-DD day for a filter or a report, in years 2 to 9998: year 1 and 9999 overflow
    in the time zone arithmetic that turns a day into its first and last instants (a far
    year is allowed: it simply matches nothing). Else PhraseError, which is a ValueError."""
    day = date.fromisoformat(text)
    if not 2 <= day.year <= 9998:
        raise PhraseError("Enter a year between 2 and 9998.")
    return day


def _split_date_time(words: str) -> tuple[str, str]:
    """("2026-12-01", "09:30") from "2026-12-01t09:30" or "2026-12-01 09:30"."""
    if _DATE.match(words.split("t", 1)[0]) and "t" in words:
        day, _, rest = words.partition("t")
        return day, rest
    day, _, rest = words.partition(" ")
    return day, rest


def parse_when(text: str | None, tz: str | None, now: datetime) -> datetime:
    """The UTC instant a person in zone `tz` means by `text` at `now` (aware).

    Raises PhraseError for anything else. Nothing here refuses the future: the caller
    decides how far ahead is allowed.
    """
    words = _words(text)
    local_now = timeutil.to_local(now, tz)
    if words in ("", "now", "today", "right now", "just now"):
        return now.astimezone(UTC).replace(microsecond=0)
    only_time = _time(words)
    if only_time is not None:
        return _at(local_now.date(), only_time, tz)
    head, rest = _split_date_time(words)
    if head == "last" and rest.split(" ", 1)[0] in WEEKDAYS:  # "last monday 10:00"
        head, _, rest = rest.partition(" ")
    day = _past_day(head, local_now.date())
    if day is None:
        raise PhraseError(f"Not a valid time: write when it happened, e.g. {WHEN_EXAMPLES}.")
    if not rest:
        return _at(day, time(12), tz)
    moment = _time(rest)
    if moment is None:
        raise PhraseError(f'"{rest}" is not a time: write it as 15:00 or 3pm.')
    return _at(day, moment, tz)


def _past_day(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    if word in WEEKDAYS:
        return today - timedelta(days=(today.weekday() - WEEKDAYS[word]) % 7)
    return _iso_date(word)


def _at(day: date, moment: time, tz: str | None) -> datetime:
    return timeutil.local_to_utc(datetime.combine(day, moment), tz)


def parse_due(text: str | None, tz: str | None, now: datetime) -> date | None:
    """The local date a person in zone `tz` means by `text` at `now`; None when blank.

    Raises PhraseError for anything else. Weekdays look forward and never mean today
    ("friday" typed on a Friday is the next one).
    """
    words = _words(text)
    if not words:
        return None
    today = timeutil.local_date(now, tz)
    if words == "today":
        return today
    if words == "tomorrow":
        return today + timedelta(days=1)
    weekday = words.removeprefix("next ").removeprefix("this ")
    if weekday in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[weekday] - today.weekday() - 1) % 7 + 1)
    if words == "next week":
        return today + timedelta(days=7)
    match = _OFFSET.match(words)
    if match:
        count, unit = (int(match["n"]), match["unit"]) if match["n"] else (1, match["word"])
        days = count * (7 if unit.startswith("w") else 1)
        if days > MAX_DAYS:
            raise PhraseError("That is more than ten years ahead.")
        return today + timedelta(days=days)
    day = _iso_date(words)
    if day is None:
        raise PhraseError(f"Not a valid date: write when it is due, e.g. {DUE_EXAMPLES}.")
    return day
