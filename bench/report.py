"""bench/results/latest.md: the tables and whether each target was met."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from bench.scenarios import BASELINE, PAGES

#: the issue's targets, as ratios (the machine is shared and noisy)
MIN_BASELINE_RATIO = 0.5
MAX_P95_MS = 100.0
MAX_SCALE_RATIO = 1.5
MIN_CELERY_RATIO = 0.5


def short(result: dict) -> str:
    if "rps" not in result:
        return f"FAILED {result.get('failed', '')[-200:]}"
    errors = f", {result['errors']} errors" if result.get("errors") else ""
    return (f"{result['rps']} req/s, p50 {result['p50_ms']} / p95 {result['p95_ms']} / "
            f"p99 {result['p99_ms']} ms, {result['sql_per_request']} SQL/req{errors}")


def _ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("met" if flag else "**missed**")


def _scale_table(results: dict[str, dict]) -> list[str]:
    base = results.get(BASELINE, {})
    lines = [
        "| scenario | req/s | p50 ms | p95 ms | p99 ms | SQL/req | errors | baseline req/s "
        "| baseline p95 ms | ratio to baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in PAGES:
        r = results.get(key)
        if r is None:
            continue
        if "rps" not in r:
            lines.append(f"| {label} | not measured: {_cell(r.get('failed', ''))} "
                         "| | | | | | | | |")
            continue
        paired = r.get("baseline") or base
        ratio = _ratio(r, paired)
        lines.append(
            f"| {label} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
            f"| {r['sql_per_request']} | {r['errors']} | {paired.get('rps', '')} "
            f"| {paired.get('p95_ms', '')} | {ratio:.2f}× |")
    if base.get("rps"):
        lines.append(f"| *baseline (mean of the paired runs)* | {base['rps']} "
                     f"| {base['p50_ms']} | {base['p95_ms']} | {base['p99_ms']} "
                     f"| {base['sql_per_request']} | {base['errors']} | | | 1.00× |")
    return lines


def _ratio(page: dict, baseline: dict) -> float:
    """Page throughput over the baseline measured just before it."""
    if "rps" not in page or not baseline.get("rps"):
        return float("nan")
    return page["rps"] / baseline["rps"]


def _cell(text: str) -> str:
    last = [line for line in str(text).splitlines() if line.strip()][-1:] or [""]
    return last[0].replace("|", "/")[:120]


def targets(pages: dict[str, dict[str, dict]]) -> list[tuple[str, str, bool | None]]:
    """(page, target, met?) for every page scenario."""
    rows = []
    m = pages.get("M") or {}
    s = pages.get("S") or {}
    for key, label in PAGES:
        rm, rs = m.get(key, {}), s.get(key, {})
        ratio = _ratio(rm, rm.get("baseline") or m.get(BASELINE, {}))
        ratio = None if ratio != ratio else ratio  # NaN: not measured
        rows.append((label, f"≥ {MIN_BASELINE_RATIO}× baseline req/s at M"
                     + (f" ({ratio:.2f}×)" if ratio is not None else ""),
                     None if ratio is None else ratio >= MIN_BASELINE_RATIO))
        rows.append((label, f"p95 < {MAX_P95_MS:.0f} ms at M"
                     + (f" ({rm['p95_ms']} ms)" if "p95_ms" in rm else ""),
                     None if "p95_ms" not in rm else rm["p95_ms"] < MAX_P95_MS))
        if "rps" in rm and "rps" in rs and rm["rps"] and rs["rps"]:
            spread = max(rs["rps"], rm["rps"]) / min(rs["rps"], rm["rps"])
            rows.append((label, f"S and M within {MAX_SCALE_RATIO}× (req/s: {spread:.2f}×)",
                         spread <= MAX_SCALE_RATIO))
        else:
            rows.append((label, f"S and M within {MAX_SCALE_RATIO}×", None))
    return rows


def _celery_lines(celery: dict) -> list[str]:
    lines = [f"## Celery throughput (private Redis, {celery.get('concurrency', 2)} worker "
             "processes, one recipient per email)", "",
             "| job | items | seconds | items/s |", "|---|---:|---:|---:|"]
    for key, label in (("noop", "no-op task (`bench.noop`)"),
                       ("reminders", "reminder emails: sweep → Redis → worker → SMTP sink")):
        r = celery.get(key) or {}
        if "rate" in r:
            lines.append(f"| {label} | {r['items']} | {r['seconds']} | {r['rate']} |")
        else:
            lines.append(f"| {label} | not measured: {_cell(r.get('failed', 'n/a'))} | | |")
    noop, rem = celery.get("noop") or {}, celery.get("reminders") or {}
    if noop.get("rate") and rem.get("rate"):
        ratio = rem["rate"] / noop["rate"]
        lines += ["", f"Reminder delivery runs at **{ratio:.2f}×** the no-op task rate "
                      f"(target ≥ {MIN_CELERY_RATIO}×: {_ok(ratio >= MIN_CELERY_RATIO)})."]
    if rem.get("sweep_seconds") is not None:
        lines.append(f"- the sweep (inserting the ledger rows, enqueuing one task per email) "
                     f"took {rem['sweep_seconds']} s; after it, emails went out at "
                     f"{rem['send_rate']}/s")
    for note in celery.get("notes", []):
        lines.append(f"- {note}")
    return lines


def render(*, pages: dict, celery: dict | None, markers: dict, args, elapsed: float) -> str:
    lines = [
        "# Benchmark results", "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, shared with other work (figures are noisy; "
        "compare ratios)",
        f"- server: gunicorn {args.workers} workers × {args.threads} threads (gthread), "
        "production config, PostgreSQL and a private Redis on loopback",
        f"- load: {args.users} concurrent signed-in users (closed loop, no think time), "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured per scenario, each right after "
        "its own baseline run, "
        "client in a separate process",
        f"- whole run: {elapsed / 60:.1f} min",
    ]
    for scale, marker in markers.items():
        state = "cached" if marker.get("cached") else "generated now"
        lines.append(f"- data {scale}: generator v{marker.get('version')}, loaded in "
                     f"{marker.get('load_seconds')} s ({state})")
    for scale, results in pages.items():
        lines += ["", f"## Scale {scale}", ""] + _scale_table(results)
    lines += ["", "## Targets", "", "| page | target | result |", "|---|---|---|"]
    lines += [f"| {page} | {target} | {_ok(met)} |" for page, target, met in targets(pages)]
    if celery:
        lines += [""] + _celery_lines(celery)
    return "\n".join(lines) + "\n"
