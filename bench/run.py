"""`make bench`: pages and API under load at scales S and M, then Celery throughput.

For each scale: the cached data set (bench.generate), gunicorn with 2 workers on
loopback (production config, private Redis), and for each scenario a separate
load-generator process (bench.load) with 10 concurrent signed-in users. The
baseline (/bench/baseline: one SELECT 1 through sign-in, session and template) is
measured before and after the pages in the same run. Then Celery: a no-op task and
10,000 reminder emails end to end on the same private Redis. Writes
bench/results/latest.md and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import celery_bench, generate, report, services
from bench.scenarios import BASELINE, PAGES, Context, specs

RESULTS = Path(__file__).resolve().parent / "results"


def _log(message: str) -> None:
    print(message, flush=True)


def prepare(scale: str) -> Context:
    """An API token and the partners the bench user may write to (idempotent)."""
    from crm.services.accounts.tokens import PREFIX, hash_token

    plain = PREFIX + "bench" + secrets.token_urlsafe(24)
    with psycopg.connect(generate.database_url(scale)) as conn:
        conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
            "VALUES (1, 'bench', %s, %s, now())", (hash_token(plain), plain[:10]))
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM partners WHERE owner_id = 1 AND id <> %s AND NOT archived "
            "AND sensitivity = 'standard' ORDER BY id LIMIT 20",
            (generate.TIMELINE_PARTNER_ID,))]
    return Context(bearer=plain, writable_partner_ids=ids,
                   today=datetime.now(UTC).strftime("%Y-%m-%d"))


def load(url: str, spec: dict, users: int, duration: float, warmup: float) -> dict:
    """Run one scenario in its own load-generator process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", "--url", url, "--users", str(users),
         "--duration", str(duration), "--warmup", str(warmup), "--spec", json.dumps(spec)],
        capture_output=True, text=True, cwd=services.ROOT, timeout=duration + warmup + 120)
    if done.returncode:
        return {"scenario": spec["name"], "failed": (done.stderr or done.stdout)[-600:]}
    return json.loads(done.stdout)


def _mean_baseline(runs: list[dict]) -> dict:
    runs = [r for r in runs if "rps" in r]
    if not runs:
        return {"scenario": BASELINE, "failed": "baseline not measured"}
    merged: dict = {"scenario": BASELINE, "runs": len(runs)}
    for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "sql_per_request"):
        merged[key] = round(sum(r[key] or 0 for r in runs) / len(runs), 1)
    merged["errors"] = sum(r.get("errors", 0) for r in runs)
    return merged


def bench_scale(scale: str, redis_url: str, args) -> dict:
    """Every page scenario at `scale`, each right after its own baseline run.

    Pairing matters on a shared machine: the ratio compares two measurements taken
    seconds apart, under the same background load.
    """
    context = prepare(scale)
    scenario_specs = specs(context)
    selected = [key for key, _ in PAGES if not args.only or key in args.only]
    results: dict[str, dict] = {}
    baselines: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-instance-") as instance:
        env = services.app_env(generate.database_url(scale), redis_url, instance)
        with services.gunicorn(env, workers=args.workers, threads=args.threads) as url:
            _log(f"[bench] scale {scale}: gunicorn {args.workers} workers × {args.threads} "
                 f"threads at {url}")
            for key in selected:
                base = load(url, scenario_specs[BASELINE], args.users, args.duration,
                            args.warmup)
                page = load(url, scenario_specs[key], args.users, args.duration, args.warmup)
                page["baseline"] = base
                results[key] = page
                baselines.append(base)
                _log(f"[bench]   {key}: {report.short(page)}")
                _log(f"[bench]   {'':{len(key)}}  baseline: {report.short(base)}")
    results[BASELINE] = _mean_baseline(baselines)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Partner CRM benchmarks")
    parser.add_argument("--scales", nargs="+", default=["S", "M"],
                        choices=sorted(generate.SCALES))
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float,
                        default=float(os.environ.get("BENCH_DURATION", 5)))
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", nargs="*", help="page scenarios to run (default: all)")
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--noop-tasks", type=int, default=3_000)
    parser.add_argument("--celery-budget", type=float,
                        default=float(os.environ.get("BENCH_CELERY_BUDGET", 300)),
                        help="seconds the reminder run may take before its rate is taken")
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--force-generate", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "latest.md"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    markers = {scale: generate.ensure(scale, force=args.force_generate, log=_log)
               for scale in args.scales}
    pages: dict[str, dict] = {}
    celery: dict | None = None
    with services.redis_server() as redis_url:
        for scale in args.scales:
            pages[scale] = bench_scale(scale, redis_url, args)
        if not args.skip_celery:
            celery = celery_bench.run(redis_url, emails=args.emails, log=_log,
                                      budget=args.celery_budget, noop_tasks=args.noop_tasks)
    text = report.render(pages=pages, celery=celery, markers=markers, args=args,
                         elapsed=time.perf_counter() - started)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    (output.with_suffix(".json")).write_text(json.dumps(
        {"pages": pages, "celery": celery, "markers": markers}, indent=2, default=str))
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
