"""Digest compilation at scale: digests/second, SQL statements per digest, peak memory.

    .venv/bin/python -m bench.digest_bench --scale S|M

Uses the cached data set of bench.generate (M: 1,000 users, 10,000 partners, 1,000,000
interactions; S: 100 / 1,000 / 100,000) on PostgreSQL, read-only. For every active user
it compiles the digest of the period that ended at the data set's "now" in the user's
zone (pass A: compile only; pass B: compile + render the MIME email for a sample of users;
pass C: pass B again under tracemalloc, for peak memory).
The floor is ONE hand-written SQL aggregate computing the same per-user counts
(interactions listed, restricted/confidential counted, open follow-ups due within 7
days) for all users at once — and, as a second reference, the same aggregate run once per
user. The bench checks the aggregate's numbers equal the digests'.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta

PASS_B_SAMPLE = 100
FLOOR_SQL = """
WITH u(uid, role, ps, pe) AS (
  SELECT * FROM unnest(%(uids)s::int[], %(roles)s::text[], %(starts)s::timestamptz[],
                       %(ends)s::timestamptz[])
),
mine AS (  -- partners each user owns or collaborates on and may see
  SELECT u.uid, p.id AS pid, p.sensitivity
  FROM u JOIN partners p ON p.owner_id = u.uid AND NOT p.archived
  UNION
  SELECT u.uid, p.id, p.sensitivity
  FROM u JOIN partner_collaborators c ON c.user_id = u.uid
         JOIN partners p ON p.id = c.partner_id AND NOT p.archived
  WHERE p.sensitivity <> 'confidential' OR u.role = 'admin'
),
ints AS (
  SELECT m.uid,
         count(*) FILTER (WHERE m.sensitivity = 'standard' AND i.sensitivity = 'standard')
           AS listed,
         count(*) FILTER (WHERE m.sensitivity <> 'standard' OR i.sensitivity <> 'standard')
           AS counted
  FROM mine m JOIN u ON u.uid = m.uid
  JOIN interactions i ON i.partner_id = m.pid AND i.occurred_at >= u.ps AND i.occurred_at < u.pe
  GROUP BY m.uid
),
fus AS (  -- open follow-ups due within 7 days: assigned to the user or on their partners
  SELECT x.uid, count(DISTINCT x.fid) AS open_soon FROM (
    SELECT u.uid, f.id AS fid
    FROM u JOIN follow_ups f ON f.assignee_id = u.uid AND f.status = 'open'
                             AND f.due_at < %(soon)s
    JOIN partners p ON p.id = f.partner_id AND NOT p.archived
    UNION ALL
    SELECT m.uid, f.id
    FROM mine m JOIN follow_ups f ON f.partner_id = m.pid AND f.status = 'open'
                                  AND f.due_at < %(soon)s
  ) AS x GROUP BY x.uid
)
SELECT u.uid, coalesce(ints.listed, 0), coalesce(ints.counted, 0), coalesce(fus.open_soon, 0)
FROM u LEFT JOIN ints ON ints.uid = u.uid LEFT JOIN fus ON fus.uid = u.uid
"""


def _app(scale: str):
    from bench import generate

    generate.ensure(scale)
    os.environ["DATABASE_URL"] = generate.database_url(scale)
    os.environ.setdefault("CRM_INSTANCE_PATH", tempfile.mkdtemp(prefix="crm-digest-bench-"))
    from crm import create_app

    return create_app("test"), generate


INDEX = "ix_interactions_occurred_partner_sensitivity"


def _ensure_index(db, text) -> None:
    """A data set cached before migration 0004 was filled in lacks its index: add it."""
    if db.session.scalar(text("SELECT 1 FROM pg_indexes WHERE indexname = :n"), {"n": INDEX}):
        return
    print(f"[digests] cached database predates {INDEX} (migration 0004): creating it",
          flush=True)
    db.session.execute(text(f"CREATE INDEX {INDEX} ON interactions "
                            "(occurred_at, partner_id, sensitivity)"))
    db.session.commit()
    db.session.execute(text("ANALYZE interactions"))
    db.session.commit()


def run(scale: str) -> dict:
    app, generate = _app(scale)
    from sqlalchemy import event, select, text

    from crm import mail
    from crm.extensions import db
    from crm.models import SiteSetting, User
    from crm.services import digests, engagement

    results: dict = {"scale": scale}
    with app.app_context():
        _ensure_index(db, text)
        marker = db.session.get(SiteSetting, generate.MARKER_KEY).value
        now = datetime.fromisoformat(marker["generated_at"])
        counts = db.session.execute(text(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM partners), "
            "(SELECT count(*) FROM interactions)")).one()
        results.update(users=counts[0], partners=counts[1], interactions=counts[2])
        users = db.session.scalars(select(User).where(User.active.is_(True))
                                   .order_by(User.id)).all()
        # the generator makes everyone weekly (weekday and zone vary per user)
        periods = {u.id: digests.period_for(u, now) for u in users}
        thresholds = engagement.Thresholds.from_config(app.config)
        statements = [0]

        def count(*_args):
            statements[0] += 1

        for user in users[:: max(1, len(users) // 20)]:  # warm-up: plans, statement cache
            digests.compile_digest(user, periods[user.id].start, periods[user.id].end, now,
                                   thresholds)
        event.listen(db.engine, "before_cursor_execute", count)
        # pass A: compile only
        cpu_started = time.process_time()
        started = time.perf_counter()
        compiled = {}
        for user in users:
            p = periods[user.id]
            data = digests.compile_digest(user, p.start, p.end, now, thresholds)
            compiled[user.id] = (data.interactions_total,
                                 sum(s.count for s in data.sensitive),
                                 len(data.due_soon) + len(data.overdue))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        event.remove(db.engine, "before_cursor_execute", count)
        results.update(compile_seconds=round(elapsed, 2), compile_cpu_seconds=round(cpu, 2),
                       load=round(os.getloadavg()[0], 1),
                       digests_per_second=round(len(users) / elapsed, 1),
                       statements_per_digest=round(statements[0] / len(users), 2))
        # pass B: compile + render the full MIME message for a sample (every k-th user plus
        # every manager and admin); pass C repeats it under tracemalloc (slow) for memory
        step = max(1, len(users) // PASS_B_SAMPLE)
        sample = [u for i, u in enumerate(users) if i % step == 0 or u.role in
                  ("admin", "manager")]
        per_digest_peak = [0]

        def compile_and_render() -> int:
            nonempty = 0
            with app.test_request_context():
                for user in sample:
                    if tracemalloc.is_tracing():
                        per_digest_peak[0] = max(per_digest_peak[0],
                                                 tracemalloc.get_traced_memory()[1])
                        tracemalloc.reset_peak()
                    p = periods[user.id]
                    data = digests.compile_digest(user, p.start, p.end, now, thresholds)
                    nonempty += not digests.is_empty(data)
                    email = digests.build_email(user, data, secret_key="bench",
                                                base_url="http://bench")
                    mail.build(email).as_bytes()
            return nonempty

        started = time.perf_counter()
        nonempty = compile_and_render()
        render_elapsed = time.perf_counter() - started
        # pass C: the same under tracemalloc, for the peak of Python allocations only
        tracemalloc.start()
        compile_and_render()
        _, peak = tracemalloc.get_traced_memory()
        per_digest_peak[0] = max(per_digest_peak[0], peak)
        tracemalloc.stop()
        results.update(render_seconds=round(render_elapsed, 2), sample=len(sample),
                       rendered_per_second=round(len(sample) / render_elapsed, 1),
                       tracemalloc_peak_mib=round(per_digest_peak[0] / 2**20, 2),
                       nonempty=nonempty,
                       max_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                         / 1024, 1))
        # the floor: one hand-written aggregate for every user at once (best of 3)
        params = {"uids": [u.id for u in users], "roles": [u.role for u in users],
                  "starts": [periods[u.id].start for u in users],
                  "ends": [periods[u.id].end for u in users],
                  "soon": now + timedelta(days=digests.UPCOMING_DAYS)}
        raw = db.engine.raw_connection()
        try:
            best = None
            for _ in range(3):
                cur = raw.cursor()
                started = time.perf_counter()
                cur.execute(FLOOR_SQL, params)
                rows = cur.fetchall()
                took = time.perf_counter() - started
                best = took if best is None else min(best, took)
            # the same aggregate once per user: a digest's minimum cost, one round trip
            cur = raw.cursor()
            started = time.perf_counter()
            for i, user in enumerate(users):
                cur.execute(FLOOR_SQL, {**params, "uids": [user.id], "roles": [user.role],
                                        "starts": [params["starts"][i]],
                                        "ends": [params["ends"][i]]})
                cur.fetchall()
            per_user = time.perf_counter() - started
            cur.close()
        finally:
            raw.close()
        mismatches = [
            uid for uid, listed, counted, soon in rows
            if compiled[uid] != (listed, counted, min(soon, digests.MAX_FOLLOW_UPS))
        ]
        results.update(floor_seconds=round(best, 3),
                       floor_ratio=round(elapsed / best, 1),
                       floor_per_user_seconds=round(per_user, 2),
                       floor_per_user_ratio=round(elapsed / per_user, 1),
                       floor_mismatches=len(mismatches),
                       listed_total=sum(c[0] for c in compiled.values()),
                       counted_total=sum(c[1] for c in compiled.values()))
        db.session.rollback()  # the bench changed nothing it keeps
    return results


def report(r: dict) -> str:
    return "\n".join([
        f"### Digests, scale {r['scale']}: {r['users']:,} users, {r['partners']:,} partners, "
        f"{r['interactions']:,} interactions",
        "",
        "| measure | value |",
        "|---|---|",
        f"| compile (all sections, visibility-scoped) | {r['compile_seconds']} s → "
        f"**{r['digests_per_second']} digests/s** |",
        f"| of which this process's CPU (SQLAlchemy + Python) | {r['compile_cpu_seconds']} s |",
        f"| SQL statements per digest (average over roles) | {r['statements_per_digest']} |",
        f"| compile + render the MIME email, {r['sample']} users | "
        f"{r['render_seconds']} s → {r['rendered_per_second']} digests/s |",
        f"| peak traced Python memory of one digest, compile + render (tracemalloc) | "
        f"{r['tracemalloc_peak_mib']} MiB |",
        f"| process max RSS | {r['max_rss_mib']} MiB |",
        f"| floor: ONE hand-written aggregate, same per-user counts, all users | "
        f"{r['floor_seconds']} s (compile is {r['floor_ratio']}× the floor) |",
        f"| the same aggregate run once per user ({r['users']} round trips) | "
        f"{r['floor_per_user_seconds']} s (compile is {r['floor_per_user_ratio']}× that) |",
        f"| floor numbers ≠ digest numbers | {r['floor_mismatches']} users |",
        f"| digests with something in them (pass B sample) | {r['nonempty']} of "
        f"{r['sample']} |",
        f"| interactions listed / counted-only across all digests | {r['listed_total']} / "
        f"{r['counted_total']} |",
        f"| machine load average during the run (2 cores, shared) | {r['load']} |",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("S", "M"),
                        help="S (100k interactions) or M (1M); default: both, one process each "
                             "so their memory figures are separate")
    args = parser.parse_args(argv)
    if args.scale:
        print(report(run(args.scale)), flush=True)
        return
    for scale in ("S", "M"):
        subprocess.run([sys.executable, "-m", "bench.digest_bench", "--scale", scale],
                       check=True)


if __name__ == "__main__":
    main()
