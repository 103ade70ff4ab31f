"""Agreements made directly with the model (the agreements service is tested elsewhere)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from crm.extensions import db
from crm.models.agreement import Agreement


def make_agreement(partner, **kw) -> Agreement:
    agreement = Agreement(
        partner_id=partner.id, kind=kw.pop("kind", "mou"), title=kw.pop("title", "MoU"),
        status=kw.pop("status", "active"), signed_on=kw.pop("signed_on", date(2020, 1, 1)),
        sensitivity=kw.pop("sensitivity", partner.sensitivity),
        renewal_notice_days=kw.pop("renewal_notice_days", 90), **kw)
    db.session.add(agreement)
    db.session.flush()
    return agreement


def insert_agreements(db, partner_id: int, count: int, *, kind: str = "mou",
                      expires: str = "CURRENT_DATE", expires_spread: int = 40,
                      report: str = "CURRENT_DATE", report_spread: int = 30,
                      restricted_every: int = 0) -> None:
    """`count` active agreements at one partner in one INSERT (for statement counts):
    expiring `expires` + (n % spread) days, next report due `report` + (n % spread) days,
    every `restricted_every`-th one restricted."""
    db.session.execute(text(
        "INSERT INTO agreements (partner_id, kind, title, status, expires_on, "
        "renewal_notice_days, next_report_due_on, sensitivity, version, created_at, updated_at) "
        f"SELECT :p, :kind, 'A' || n, 'active', {expires} + (n % :es), 90, "
        f"{report} + (n % :rs), CASE WHEN :every > 0 AND n % :every = 0 THEN 'restricted' "
        "ELSE 'standard' END, 1, now(), now() FROM generate_series(1, :count) AS n"),
        {"p": partner_id, "kind": kind, "es": expires_spread, "rs": report_spread,
         "every": restricted_every, "count": count})
    db.session.commit()
