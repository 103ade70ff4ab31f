"""Property tests for the service validators: URL, email, names (text), ids, tags, dates.

For any input (any Unicode, control characters, lone surrogates, any type) a validator
returns a value or refuses the field with the service's ValidationError (the `clean_*`
shape: a message in `errors`); it never raises anything else, and what it accepts can be
stored (no NUL, no lone surrogate, no control character) and round-trips: validating the
accepted value again gives the same value. Dates: the phrase parsers raise only their
PhraseError, and accepted moments survive the conversions the services make. No database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crm.lib import safetext, timeutil, when
from crm.services import partners
from crm.services.errors import ValidationError
from crm.services.followups import check_due_at
from crm.services.validation import (
    check_text,
    clean_email,
    clean_text,
    clean_url,
    parse_id,
    parse_ids,
)

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

#: text with everything hostile in reach: NUL, C0 controls, lone surrogates, URL syntax
_hostile_chars = st.sampled_from(list("\x00\x01\x1a\x1b\x7f\ud800\udfff]:[/@.% \t\n"))
hostile_text = st.one_of(
    st.text(),
    st.text(st.one_of(st.characters(), _hostile_chars), max_size=60),
    st.builds(lambda a, b: f"{a}.{b}", st.text(max_size=20), st.text(max_size=10)),
    st.builds(lambda s, rest: s + rest,
              st.sampled_from(["http://", "https://", "ftp://", "//", "http://[", "https://]",
                               "www.", "mailto:", "http://a.b:", "https://x.org:99999"]),
              st.text(st.one_of(st.characters(), _hostile_chars), max_size=30)),
)
any_value = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text,
                      st.lists(st.integers(), max_size=3), st.binary(max_size=10))


def _run(check, *args, **kwargs):
    """(value, None) or (None, the refused fields): any other exception fails the test."""
    try:
        return check(*args, **kwargs), None
    except ValidationError as exc:
        return None, dict(exc.fields)


def _storable(value) -> bool:
    return not isinstance(value, str) or not safetext.has_control(value)


@SETTINGS
@given(any_value)
@example("]\x1a")  # the case Schemathesis found: urlsplit raised ValueError
@example("http://[::1")
@example("https://example.org:port")
@example("\x00")
def test_clean_url_only_reports_and_accepted_urls_round_trip(value):
    errors: dict[str, str] = {}
    url = clean_url(value, errors)
    if errors:
        assert set(errors) == {"website"}
        return
    assert url is None or (url.startswith(("http://", "https://")) and _storable(url))
    if url is not None:
        again: dict[str, str] = {}
        assert clean_url(url, again) == url and not again


@SETTINGS
@given(any_value)
@example("name\x00@example.org")
@example("a@b\ud800.org")
@example("x@xn--.org")
def test_clean_email_only_reports_and_accepted_addresses_round_trip(value):
    errors: dict[str, str] = {}
    email = clean_email(value, errors)
    if errors:
        assert set(errors) == {"email"}
        return
    assert email is None or ("@" in email and _storable(email))
    if email is not None:
        again: dict[str, str] = {}
        assert clean_email(email, again) == email and not again


@SETTINGS
@given(any_value, st.integers(min_value=1, max_value=300), st.booleans())
def test_names_and_text_are_stored_as_given_or_refused(value, limit, required):
    text, refused = _run(check_text, value, limit, "name", required=required)
    if refused is not None:
        assert set(refused) == {"name"}
        return
    assert text is None or (0 < len(text) <= limit and _storable(text))
    if text is not None:
        assert check_text(text, limit, "name") == text
        assert clean_text(text, limit, "name", {}) == text


@SETTINGS
@given(st.one_of(any_value, st.integers(min_value=-(2**70), max_value=2**70).map(str)))
@example(2**31)
@example("18446744073709551617")
@example("²")
@example(1e300)
def test_ids_are_in_the_id_column_range_or_refused(value):
    number, refused = _run(parse_id, value, "owner_id")
    if refused is not None:
        assert refused == {"owner_id": "Choose a valid option."}
        return
    assert number is None or 1 <= number <= safetext.MAX_ID
    if number is not None:
        assert parse_id(str(number), "owner_id") == number


@SETTINGS
@given(st.one_of(any_value, st.lists(any_value, max_size=4)))
def test_id_lists_are_ids_or_refused(value):
    numbers, refused = _run(parse_ids, value, "collaborator_ids")
    if refused is not None:
        assert set(refused) == {"collaborator_ids"}
        return
    assert numbers == sorted(set(numbers))
    assert all(1 <= n <= safetext.MAX_ID for n in numbers)
    assert parse_ids(numbers, "collaborator_ids") == numbers


@SETTINGS
@given(st.one_of(hostile_text, st.lists(hostile_text, max_size=25)))
@example(["ok", "bad\x00"])
@example("=1+1, ' OR 1=1 --")
def test_tags_are_normalised_or_refused_on_the_tags_field(value):
    problems = partners.validation_errors({"tags": value}, partial=True)
    assert set(problems) <= {"tags"}
    if not problems:
        errors: dict[str, str] = {}
        tags = partners._clean_tags(value, errors)
        assert not errors
        assert all(_storable(t) and t == partners.normalise_tag(t) for t in tags)
        assert partners._clean_tags(tags, {}) == tags


@SETTINGS
@given(st.one_of(st.none(), hostile_text,
                 st.datetimes(timezones=st.sampled_from(
                     [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))])),
                 st.datetimes()))
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))
@example(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))))
def test_due_dates_are_aware_and_in_range_or_refused(value):
    due, refused = _run(check_due_at, value, now=NOW)
    if refused is not None:
        assert set(refused) == {"due_at"}
        return
    assert due.tzinfo is UTC and due.year >= 1990
    assert check_due_at(due, now=NOW) == due


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati",
                         "Pacific/Pago_Pago", "Australia/Lord_Howe", "Asia/Kathmandu"])
phrases = st.one_of(
    hostile_text,
    st.builds(lambda y, mo, d, h, mi: f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}",
              st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32),
              st.integers(0, 25), st.integers(0, 61)),
)


@SETTINGS
@given(phrases, ZONES)
@example("0001-01-01 00:00", "Pacific/Kiritimati")
@example("9999-12-31 23:59", "Pacific/Pago_Pago")
@example("2026-03-29 02:30", "Europe/Berlin")  # inside the spring-forward gap
@example("2026-03-08 02:30", "America/New_York")
def test_when_phrases_give_an_aware_moment_or_a_phrase_error(text, tz):
    try:
        moment = when.parse_when(text, tz, NOW)
    except when.PhraseError:
        return
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    local = moment.astimezone(timeutil.zone(tz))
    assert when.parse_when(local.strftime("%Y-%m-%d %H:%M:%S"), tz, NOW) == moment


@SETTINGS
@given(st.one_of(phrases, st.builds(lambda y: f"{y:04d}-01-01", st.integers(0, 9999))), ZONES)
def test_due_phrases_give_a_date_or_a_phrase_error(text, tz):
    try:
        day = when.parse_due(text, tz, NOW)
    except when.PhraseError:
        return
    assert day is None or when.FIRST_YEAR <= day.year <= when.LAST_YEAR or \
        abs((day - NOW.date()).days) <= when.MAX_DAYS




@SETTINGS
@given(st.one_of(hostile_text, st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
                                         st.integers(0, 9999), st.integers(0, 13),
                                         st.integers(0, 32))))
@example("0001-01-01")
@example("9999-12-31")
def test_filter_days_are_in_range_or_a_value_error(text):
    try:
        day = when.iso_day(text)
    except ValueError:
        return
    assert 2 <= day.year <= 9998
    assert when.iso_day(day.isoformat()) == day
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # the day's first and last instants
        timeutil.local_day_at(day, 0, tz)
        timeutil.local_day_at(day + timedelta(days=1), 0, tz)
