"""A deterministic, realistic data set on PostgreSQL at two scales (S and M).

Users and partners are built in Python (names need `name_key`, countries need
`region_of`) and streamed with COPY; contacts, interactions, who was present and
follow-ups are generated inside PostgreSQL with `INSERT … SELECT generate_series`
from a fixed seed. Each scale lives in its own database named after the generator
version, so a second `make bench` reuses it (`--force` regenerates).

    python -m bench.generate S        # or M; prints the load time
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from crm.lib import countries
from crm.lib.text import name_key
from crm.models.enums import SECTORS, STAGES

#: bump when the data set changes: cached databases are keyed on it
GENERATOR_VERSION = 1
SEED = 20_240_601
ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_PASSWORD = "bench-password-not-secret"
BENCH_EMAIL = "bench@example.org"
#: the partner whose timeline holds exactly this many interactions (partner id 1)
TIMELINE_PARTNER_ID = 1
TIMELINE_INTERACTIONS = 1_000
MARKER_KEY = "bench:generator"


@dataclass(frozen=True)
class Scale:
    name: str
    users: int
    partners: int
    contacts: int
    interactions: int
    follow_ups: int


SCALES = {
    "M": Scale("M", 1_000, 10_000, 50_000, 1_000_000, 100_000),
    "S": Scale("S", 100, 1_000, 5_000, 100_000, 10_000),
}

COUNTRIES = ("TH", "PH", "KH", "VN", "ID", "IN", "NP", "LK", "BD", "KE", "UG", "TZ", "ZA", "NG",
             "GH", "SN", "MA", "EG", "BR", "CO", "MX", "PE", "GT", "US", "CA", "GB", "FR", "DE",
             "ES", "IT", "NL", "SE", "NO", "PL", "RO", "UA", "TR", "JO", "LB", "AU", "NZ", "FJ",
             "JP", "KR", "MY", "SG", "MN", "PK", "ET", "RW")
TIMEZONES = ("UTC", "Europe/London", "Europe/Paris", "Asia/Bangkok", "Asia/Manila",
             "Africa/Nairobi", "America/New_York", "America/Bogota", "Australia/Sydney")
FIRST = ("Amara", "Somchai", "Lucía", "Jean", "Wanjiru", "Priya", "Mateus", "Ngozi", "Linh",
         "Olga", "Farid", "Chloé", "Kofi", "Aiko", "Sven", "Zeynep", "Tomás", "Fatima", "Arjun",
         "Maya")
LAST = ("Okafor", "Srisuk", "García", "Dupont", "Mwangi", "Sharma", "Silva", "Adeyemi",
        "Nguyen", "Kowalska", "Haddad", "Lefèvre", "Mensah", "Tanaka", "Lindqvist", "Yılmaz",
        "Rodríguez", "Benali", "Patel", "Cohen")
ORG_WORDS = {
    "law_enforcement": ("National Police", "Cybercrime Unit", "Anti-Trafficking Division",
                        "Child Protection Police", "Border Police"),
    "technology": ("Digital Safety Lab", "Cloud Services", "Social Network", "Trust & Safety",
                   "Online Platforms"),
    "travel_tourism": ("Hotels Group", "Tourism Board", "Airlines", "Travel Association",
                       "Resorts"),
    "government": ("Ministry of Social Development", "Ministry of Justice",
                   "Child Welfare Department", "Ministry of Education", "Family Office"),
    "intergovernmental": ("UN Office", "Regional Commission", "Development Programme",
                          "Child Rights Secretariat", "Human Rights Office"),
    "civil_society": ("Child Rights Coalition", "Fundación Niñez Segura", "Street Children Trust",
                      "Youth Helpline", "Community Child Network"),
    "faith_based": ("Interfaith Council", "Churches Alliance", "Islamic Relief Committee",
                    "Buddhist Youth Mission", "Faith for Children"),
    "academia": ("University Child Studies Centre", "Institute of Criminology",
                 "Research Network", "School of Social Work", "Policy Institute"),
    "media": ("Broadcasting Corporation", "Journalists Network", "Press Council",
              "Media Foundation", "Newsroom"),
    "funder": ("Children's Fund", "Philanthropy Foundation", "Development Fund",
               "Trust for Children", "Grants Programme"),
    "private_sector": ("Payments Company", "Telecom Group", "Bank", "Logistics",
                       "Retail Group"),
}
PREFIXES = ("", "", "", "Safe ", "Bright ", "Global ", "United ", "New Horizon ", "Hope ",
            "Children First ", "Aurora ", "Ubuntu ", "Sankofa ", "Mekong ", "Andes ")
TAGS = ("online-safety", "trafficking", "travel", "hotline", "training", "policy", "research",
        "funding", "csam", "schools", "helpline", "youth-voice", "justice", "referral",
        "awareness")
SUMMARIES = (
    "Quarterly coordination meeting on referral pathways",
    "Call about the joint training for hotel staff",
    "Shared the draft code of conduct for comments",
    "Workshop on online grooming indicators with investigators",
    "Discussed funding for the youth helpline expansion",
    "Follow-up on the memorandum of understanding",
    "Presented the research findings on livestreamed abuse",
    "Site visit to the shelter and case-management review",
    "Agreed a reporting workflow for suspected trafficking",
    "Panel at the regional child-protection forum",
    "Reviewed the awareness campaign materials",
    "Call with legal counsel about data sharing",
    "Training of trainers for frontline police officers",
    "Introduced the new country programme lead",
    "Letter of support for the national action plan",
    "Debrief after the joint operation and victim support",
    "Planning the safer internet day activities",
    "Budget review for the next grant period",
    "Consultation with survivors' advisory board",
    "Exchange on platform reporting tools and escalation",
)


def database_url(scale: str) -> str:
    """The SQLAlchemy/psycopg URL of the cached database for `scale`."""
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database_name(scale)}"


def database_name(scale: str) -> str:
    return f"crm_bench_{scale.lower()}_v{GENERATOR_VERSION}"


def _is_ready(scale: str) -> dict | None:
    """The marker of a finished load, or None when the database must be (re)built."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (database_name(scale),)).fetchone()
    if not exists:
        return None
    try:
        with psycopg.connect(database_url(scale)) as conn:
            row = conn.execute("SELECT value FROM site_settings WHERE key = %s",
                               (MARKER_KEY,)).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def _recreate_database(scale: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(scale)}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database_name(scale)}"')


def migrate(url: str) -> None:
    """Build or update the schema with the real migrations (`flask db upgrade`)."""
    env = {**os.environ, "DATABASE_URL": url, "CRM_CONFIG": "development",
           "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-migrate")}
    env.pop("CRM_BENCH", None)
    flask = str(Path(sys.executable).with_name("flask"))
    done = subprocess.run([flask, "--app", "crm", "db", "upgrade"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")


# --- Python-built rows (COPY) ------------------------------------------------------

def _users(scale: Scale, rng: random.Random, password_hash: str, now: datetime):
    """Role mix: 0.5% admins, 5% managers, 90% staff, the rest viewers; user 1 is bench."""
    regions = countries.regions()
    admins = max(2, scale.users // 200)
    managers = max(3, scale.users // 20)
    viewers = max(2, scale.users // 25)
    for uid in range(1, scale.users + 1):
        if uid == 1:
            role, email, name = "staff", BENCH_EMAIL, "Bench Staff"
        else:
            if uid <= 1 + admins:
                role = "admin"
            elif uid <= 1 + admins + managers:
                role = "manager"
            elif uid > scale.users - viewers:
                role = "viewer"
            else:
                role = "staff"
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"user{uid}@bench.example.org"
        scope = rng.choice(regions) if role == "manager" and uid % 3 else None
        yield (uid, email, name, role, rng.choice(TIMEZONES), scope, "weekly", uid % 5, 8,
               False, True, password_hash, 1, False, now - timedelta(days=900 + uid % 700))


def _owner_ids(scale: Scale) -> list[int]:
    """Users that own partners: staff and managers (never viewers)."""
    viewers = max(2, scale.users // 25)
    return list(range(1, scale.users - viewers + 1))


def _partners(scale: Scale, rng: random.Random, now: datetime):
    owners = _owner_ids(scale)
    seen: set[str] = set()
    for pid in range(1, scale.partners + 1):
        sector = SECTORS[rng.randrange(len(SECTORS))]
        country = rng.choice(COUNTRIES)
        if pid == TIMELINE_PARTNER_ID:
            name, sector, country = "Mekong Child Safety Network", "civil_society", "TH"
        else:
            name = f"{rng.choice(PREFIXES)}{rng.choice(ORG_WORDS[sector])} " \
                   f"{countries.country_name(country)}"
            while name_key(name) in seen:
                name = f"{name} {rng.randint(2, 999)}"
        seen.add(name_key(name))
        if sector == "law_enforcement":
            sensitivity = "restricted"
        else:
            roll = rng.random()
            sensitivity = "confidential" if roll < 0.02 else "restricted" if roll < 0.10 \
                else "standard"
        if pid == TIMELINE_PARTNER_ID:
            sensitivity = "standard"
        owner = 1 if pid == TIMELINE_PARTNER_ID or pid % 97 == 0 else rng.choice(owners)
        created = now - timedelta(days=1900 + rng.randrange(400))
        slug = name_key(name).replace(" ", "-")[:40]
        yield (pid, name, name_key(name), sector, country, countries.region_of(country),
               rng.choice(STAGES[:5]) if pid % 11 else "closed", owner, sensitivity,
               f"https://{slug}.example.org", f"info@{slug}.example.org",
               f"{name}: a partner in {countries.country_name(country)}.",
               rng.random() < 0.12, False, 1, created, created)


def _tags(scale: Scale, rng: random.Random):
    for pid in range(1, scale.partners + 1):
        for tag in rng.sample(TAGS, rng.randrange(4)):
            yield (pid, tag)


def _collaborators(scale: Scale, rng: random.Random):
    owners = _owner_ids(scale)
    for pid in range(1, scale.partners + 1):
        for uid in sorted(set(rng.sample(owners, rng.randrange(3)))):
            yield (pid, uid)


def _copy(cur, table: str, columns: str, rows) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- SQL-generated rows -------------------------------------------------------------

def _sql_statements(scale: Scale, now: datetime) -> list[tuple[str, dict]]:
    cpp = scale.contacts // scale.partners  # contacts per partner, ids dense per partner
    summaries = "(ARRAY[" + ", ".join("'" + s.replace("'", "''") + "'" for s in SUMMARIES) + "])"
    params = {"now": now, "np": scale.partners, "nc": scale.contacts, "cpp": cpp,
              "ni": scale.interactions, "nf": scale.follow_ups, "tl": TIMELINE_INTERACTIONS,
              "tp": TIMELINE_PARTNER_ID}
    return [
        ("SELECT setseed(0.4242)", {}),
        ("""
        INSERT INTO contacts (id, partner_id, name, title, email, phone, language, notes,
                              sensitivity, archived, version, created_at, updated_at)
        SELECT c, p.id,
               (ARRAY['Amara','Somchai','Lucía','Jean','Wanjiru','Priya','Ngozi','Linh'])
                 [1 + mod(c, 8)] || ' ' ||
               (ARRAY['Okafor','Srisuk','García','Dupont','Mwangi','Sharma','Nguyen','Silva'])
                 [1 + mod(c / 8, 8)],
               (ARRAY['Director','Programme officer','Head of unit','Legal adviser',
                      'Coordinator'])[1 + mod(c, 5)],
               'contact' || c || '@partner' || p.id || '.example.org',
               '+66 2 555 ' || lpad(mod(c, 10000)::text, 4, '0'),
               (ARRAY['en','fr','es','th'])[1 + mod(c, 4)], NULL, p.sensitivity, false, 1,
               p.created_at, p.created_at
        FROM generate_series(1, %(nc)s) AS c
        JOIN partners p ON p.id = 1 + (c - 1) / %(cpp)s
        """, params),
        (f"""
        INSERT INTO interactions (id, partner_id, kind, occurred_at, summary, outcome,
                                  logged_by_id, sensitivity, version, created_at, updated_at)
        SELECT g.i, p.id,
               (ARRAY['meeting','call','email','event','training','visit','letter','other'])
                 [1 + floor(g.r2 * 8)::int],
               g.at, {summaries}[1 + floor(g.r3 * {len(SUMMARIES)})::int],
               CASE WHEN g.r2 < 0.6 THEN 'Agreed next steps and owners.' END,
               p.owner_id, p.sensitivity, 1, g.at, g.at
        FROM (
          SELECT i,
                 CASE WHEN i <= %(tl)s THEN %(tp)s
                      ELSE 2 + floor((%(np)s - 1) * power(random(), 1.3))::int END AS pid,
                 %(now)s::timestamptz - interval '1 second' * floor(random() * 157680000)
                   AS at,
                 random() AS r2, random() AS r3
          FROM generate_series(1, %(ni)s) AS i
        ) AS g
        JOIN partners p ON p.id = g.pid
        """, params),
        ("""
        INSERT INTO interaction_contacts (interaction_id, contact_id)
        SELECT i.id, (i.partner_id - 1) * %(cpp)s + 1 + mod(i.id, %(cpp)s) FROM interactions i
        """, params),
        ("""
        INSERT INTO follow_ups (id, title, partner_id, interaction_id, assignee_id,
                                created_by_id, due_at, status, completed_at, snoozed_until,
                                version, created_at, updated_at, sensitivity)
        SELECT x.k,
               (ARRAY['Send the draft agreement','Share training materials',
                      'Schedule the next meeting','Confirm funding decision',
                      'Send meeting notes'])[1 + mod(x.k, 5)],
               x.partner_id, x.iid, x.owner, x.owner, x.due,
               CASE WHEN x.due > %(now)s::timestamptz THEN 'open'
                    WHEN x.r < 0.04 THEN 'open'
                    WHEN x.r < 0.10 THEN 'cancelled' ELSE 'done' END,
               CASE WHEN x.due <= %(now)s::timestamptz AND x.r >= 0.10
                    THEN x.due - interval '1 day' * floor(x.r * 5) END,
               NULL, 1, x.occurred_at, x.occurred_at, x.sensitivity
        FROM (
          SELECT f.k, f.r, i.id AS iid, i.partner_id, i.logged_by_id AS owner, i.occurred_at,
                 i.sensitivity,
                 i.occurred_at + interval '1 day' * (7 + mod(f.k, 24)) AS due
          FROM (SELECT k, ((k::bigint * %(ni)s) / %(nf)s)::int AS iid, random() AS r
                FROM generate_series(1, %(nf)s) AS k) AS f
          JOIN interactions i ON i.id = f.iid
        ) AS x
        """, params),
        ("""
        UPDATE partners p SET last_interaction_at = m.last,
               last_standard_interaction_at = m.std, last_restricted_interaction_at = m.res,
               last_confidential_interaction_at = m.conf
        FROM (SELECT partner_id, max(occurred_at) AS last,
                     max(occurred_at) FILTER (WHERE sensitivity = 'standard') AS std,
                     max(occurred_at) FILTER (WHERE sensitivity = 'restricted') AS res,
                     max(occurred_at) FILTER (WHERE sensitivity = 'confidential') AS conf
              FROM interactions GROUP BY partner_id) AS m
        WHERE m.partner_id = p.id
        """, {}),
    ]


def _reset_sequences(cur) -> None:
    for table in ("users", "partners", "contacts", "interactions", "follow_ups"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")


def load(scale_name: str) -> float:
    """Fill the (empty, migrated) database of `scale_name`; returns the seconds taken."""
    from crm.lib.passwords import hash_password

    scale = SCALES[scale_name]
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    with psycopg.connect(database_url(scale_name)) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET max_parallel_workers_per_gather = 0")  # keeps random() ordered
        _copy(cur, "users", "id, email, name, role, timezone, region_scope, digest_frequency, "
              "digest_weekday, digest_hour, digest_always, active, password_hash, "
              "session_version, totp_enabled, created_at",
              _users(scale, rng, hash_password(BENCH_PASSWORD), now))
        _copy(cur, "partners", "id, name, name_key, sector, country, region, stage, owner_id, "
              "sensitivity, website, email, description, is_member, archived, version, "
              "created_at, updated_at", _partners(scale, rng, now))
        _copy(cur, "partner_tags", "partner_id, tag", _tags(scale, rng))
        _copy(cur, "partner_collaborators", "partner_id, user_id", _collaborators(scale, rng))
        for statement, params in _sql_statements(scale, now):
            cur.execute(statement, params)
        _reset_sequences(cur)
        seconds = round(time.perf_counter() - started, 1)
        cur.execute(
            "INSERT INTO site_settings (key, value) VALUES (%s, %s)",
            (MARKER_KEY, psycopg.types.json.Jsonb({
                "version": GENERATOR_VERSION, "scale": scale_name, "load_seconds": seconds,
                "generated_at": now.isoformat()})),
        )
        conn.commit()
    with psycopg.connect(database_url(scale_name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 1)


def ensure(scale_name: str, force: bool = False, log=print) -> dict:
    """The cached database for `scale_name`, generated when missing; returns its marker."""
    marker = None if force else _is_ready(scale_name)
    if marker:
        migrate(database_url(scale_name))  # schema may have moved on since it was cached
        log(f"[generate] scale {scale_name}: reusing {database_name(scale_name)} "
            f"(generator v{GENERATOR_VERSION}, loaded in {marker['load_seconds']} s)")
        return {**marker, "cached": True}
    log(f"[generate] scale {scale_name}: building {database_name(scale_name)} …")
    _recreate_database(scale_name)
    migrate(database_url(scale_name))
    seconds = load(scale_name)
    log(f"[generate] scale {scale_name}: loaded in {seconds} s (COPY + INSERT … SELECT, "
        "indexes built, VACUUM ANALYZE)")
    marker = _is_ready(scale_name) or {}
    return {**marker, "load_seconds_total": seconds, "cached": False}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scales", nargs="*", default=["S"], choices=sorted(SCALES))
    parser.add_argument("--force", action="store_true", help="regenerate even when cached")
    args = parser.parse_args(argv)
    for scale in args.scales:
        ensure(scale, force=args.force)


if __name__ == "__main__":
    main()
