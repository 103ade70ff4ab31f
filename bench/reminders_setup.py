"""The reminder benchmark's own database: N assignees, each with one follow-up due today.

Reminders go out as one email per recipient per sweep, so N emails need N
recipients. This small database (kept apart from S and M, whose user counts it
would distort) holds N staff users in UTC, 100 partners and N open follow-ups due
at 09:00 UTC today; a sweep run "at" 10:00 UTC today makes exactly N `reminder_due`
emails. Cached like the page data sets; each run starts with an empty ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from bench import generate

PARTNERS = 100


def database_name(emails: int) -> str:
    return f"crm_bench_reminders_{emails}_v{generate.GENERATOR_VERSION}"


def database_url(emails: int) -> str:
    return f"{generate.ADMIN_URL.rsplit('/', 1)[0]}/{database_name(emails)}"


def sweep_moment() -> tuple[datetime, datetime]:
    """(due_at of every follow-up, the time the sweep pretends it is)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(hours=9), today + timedelta(hours=10)


def _ready(emails: int) -> bool:
    with psycopg.connect(generate.ADMIN_URL, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (database_name(emails),)).fetchone():
            return False
    with psycopg.connect(database_url(emails)) as conn:
        return bool(conn.execute("SELECT 1 FROM site_settings WHERE key = %s",
                                 (generate.MARKER_KEY,)).fetchone())


def _build(emails: int) -> None:
    with psycopg.connect(generate.ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(emails)}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database_name(emails)}"')
    generate.migrate(database_url(emails))
    now = datetime.now(UTC)
    with psycopg.connect(database_url(emails)) as conn, conn.cursor() as cur:
        with cur.copy("COPY users (id, email, name, role, timezone, digest_frequency, "
                      "digest_weekday, digest_hour, digest_always, active, session_version, "
                      "totp_enabled, created_at) FROM STDIN") as copy:
            for uid in range(1, emails + 1):
                copy.write_row((uid, f"assignee{uid}@bench.example.org", f"Assignee {uid}",
                                "staff", "UTC", "off", 0, 8, False, True, 1, False, now))
        cur.execute(
            "INSERT INTO partners (id, name, name_key, sector, country, region, stage, "
            "owner_id, sensitivity, is_member, archived, version, created_at, updated_at) "
            "SELECT p, 'Reminder Partner ' || p, 'reminder partner ' || p, 'civil_society', "
            "'TH', 'Asia', 'active', p, 'standard', false, false, 1, %(now)s, %(now)s "
            "FROM generate_series(1, %(n)s) AS p", {"now": now, "n": PARTNERS})
        cur.execute(
            "INSERT INTO follow_ups (id, title, partner_id, assignee_id, created_by_id, due_at, "
            "status, version, created_at, updated_at) "
            "SELECT f, 'Send the signed agreement #' || f, 1 + mod(f, %(np)s), f, f, %(due)s, "
            "'open', 1, %(now)s, %(now)s FROM generate_series(1, %(n)s) AS f",
            {"now": now, "n": emails, "np": PARTNERS, "due": sweep_moment()[0]})
        for table in ("users", "partners", "follow_ups"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        cur.execute("INSERT INTO site_settings (key, value) VALUES (%s, %s)",
                    (generate.MARKER_KEY, psycopg.types.json.Jsonb({"emails": emails})))
        conn.commit()
    with psycopg.connect(database_url(emails), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepare(emails: int) -> str:
    """The database URL, ready for a sweep: follow-ups due today, an empty ledger."""
    if not _ready(emails):
        _build(emails)
    else:
        generate.migrate(database_url(emails))
    due, _ = sweep_moment()
    with psycopg.connect(database_url(emails)) as conn:
        conn.execute("DELETE FROM deliveries")
        conn.execute("UPDATE follow_ups SET due_at = %s, status = 'open', snoozed_until = NULL",
                     (due,))
        conn.commit()
    return database_url(emails)
