"""Agreements made directly with the model (the agreements service is tested elsewhere)."""

from __future__ import annotations

from datetime import date

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
