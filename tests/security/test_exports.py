"""Formula neutralisation in every CSV download (CSV injection; ASVS V1.2.10).

Every GET route of `app.url_map` whose path ends in `.csv` is downloaded (each report, the
four exports, an import's results), over records whose every exported text field starts
with a spreadsheet trigger (`=`, `+`, `-`, `@`, tab, carriage return). Each file is parsed
with the csv module: every payload must be there (the data really is exported) and no cell
may start with a trigger unless it is a number.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta

from crm.lib import timeutil
from crm.models import Agreement, ImportJob

#: what a spreadsheet would evaluate at the start of a cell
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PREFIXES = ("=cmd|' /C calc'!A0 ", "+SUM(1,2) ", "-2+3 ", "@SUM(1) ", "\t=1+1 ", "\r=1+1 ")
#: endpoints that must be among the discovered downloads (a lost one fails, never skips)
KNOWN_CSV = {"exports.partners", "exports.contacts", "exports.interactions",
             "exports.agreements", "reports.download", "reports.agreements_csv",
             "admin.import_results"}
#: downloads that carry no free text at all (still checked for formula cells), and why
NO_FREE_TEXT = {"/reports/coverage.csv": "counts by country, region and sector only"}
#: URL arguments of CSV routes: every value to download
REPORT_NAMES = ("engagement", "silence", "followups", "coverage")

_marker = itertools.count(1)


def _payload(prefix: str, field: str) -> str:
    """A formula with a unique marker, so the cell it lands in can be found."""
    return f"{prefix}{field.upper()}{next(_marker):03d}"


def _world(db, make):
    """Records whose every exported text field carries a payload, one record per trigger;
    returns the admin and {payload: where it was put}."""
    payloads: dict[str, str] = {}

    def put(prefix, field):
        value = _payload(prefix, field)
        payloads[value] = field
        return value

    admin = make.make_user("admin")
    now = timeutil.now_utc()
    for prefix in PREFIXES:
        owner = make.make_user("staff", name=put(prefix, "owner name"))
        partner = make.make_partner(
            owner, name=put(prefix, "partner name"), description=put(prefix, "description"),
            website=put(prefix, "website"), email=put(prefix, "partner email"),
            tags=[put(prefix, "tag")[:40]])
        make.make_contact(partner, name=put(prefix, "contact name"), title=put(prefix, "title"),
                          email=put(prefix, "contact email"), phone=put(prefix, "phone"),
                          notes=put(prefix, "notes"))
        make.make_interaction(partner, owner, summary=put(prefix, "summary"),
                              outcome=put(prefix, "outcome"),
                              occurred_at=now - timedelta(days=2))
        make.make_follow_up(partner, owner, due_at=now - timedelta(days=3))  # not exported
        db.session.add(Agreement(  # in the agreements export and the "expiring" report
            partner_id=partner.id, kind="mou", title=put(prefix, "agreement title"),
            status="active", signed_on=now.date() - timedelta(days=300),
            expires_on=now.date() + timedelta(days=30), reporting_every_months=12,
            next_report_due_on=now.date() + timedelta(days=60),
            document_ref=put(prefix, "document ref"), notes=put(prefix, "agreement notes"),
            sensitivity=partner.sensitivity))
        quiet = make.make_partner(owner, name=put(prefix, "lapsed partner name"))
        make.make_interaction(quiet, owner, summary=put(prefix, "old summary"),
                              occurred_at=now - timedelta(days=400))
    job = ImportJob(created_by_id=admin.id, filename="partners.csv", status="done",
                    content="name,country\nx,FR\n", total_rows=len(PREFIXES),
                    results=[{"row": i + 2, "name": put(prefix, "import name"),
                              "outcome": "skipped", "reason": put(prefix, "import reason"),
                              "detail": put(prefix, "import detail")}
                             for i, prefix in enumerate(PREFIXES)])
    db.session.add(job)
    db.session.commit()
    tags = {p for p, field in payloads.items() if field == "tag"}
    for tag in tags:  # stored cut to 40 characters
        payloads[tag[:40]] = payloads.pop(tag)
    return admin, job.id, payloads


def _downloads(app, job_id: int) -> dict[str, str]:
    """{url: endpoint} for every CSV route, each argument filled with every value."""
    fill = {"name": REPORT_NAMES, "job_id": (job_id,)}
    urls = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.endswith(".csv") or "GET" not in (rule.methods or set()):
            continue
        names = sorted(set(rule.arguments) - set(rule.defaults or {}))
        unknown = [n for n in names if n not in fill]
        assert not unknown, f"{rule.rule}: teach tests/security/test_exports.py to fill {unknown}"
        for values in itertools.product(*(fill[n] for n in names)):
            urls[rule.build(dict(zip(names, values, strict=True)), append_unknown=False)[1]] = \
                rule.endpoint
    return urls


def _rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "no UTF-8 BOM"
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_every_csv_download_neutralises_every_payload(app, db, client, make, login_as):
    admin, job_id, payloads = _world(db, make)
    downloads = _downloads(app, job_id)
    assert downloads, "no CSV route found in app.url_map"
    assert set(downloads.values()) >= KNOWN_CSV, KNOWN_CSV - set(downloads.values())
    login_as(admin)
    failures = []
    reached: set[str] = set()
    for url, endpoint in sorted(downloads.items()):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.mimetype == "text/csv", (url, response.mimetype)
        rows = _rows(response.data)
        assert len(rows) > 1, f"{url} exported no rows"
        found_here = set()
        for row in rows[1:]:
            for cell in row:
                if cell.startswith(TRIGGERS) and not _is_number(cell):
                    failures.append(f"{url}: cell {cell!r} starts a formula")
                for payload in payloads:
                    if payload in cell:
                        found_here.add(payload)
                        if cell != "'" + payload and cell.startswith(payload):
                            failures.append(f"{url}: {cell!r} is not {payload!r} neutralised")
        if not found_here and url not in NO_FREE_TEXT:
            failures.append(f"{url} ({endpoint}) carried none of the payloads")
        reached |= found_here
    assert not failures, "\n".join(failures)
    # every field of every kind reached some download, with every trigger
    missing = sorted({payloads[p] for p in set(payloads) - reached})
    assert not missing, f"fields whose payloads no CSV exported: {missing}"
