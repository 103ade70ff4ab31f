"""The digest's agreement sections (issue 15): "Agreements expiring in the next 60 days" and
"Reports due or overdue", in ONE statement whatever the number of agreements.

Whose: the agreements of the partners the reader owns or collaborates on, and for a
manager also those of their region (the whole network without a scope), always through
crm.services.access.visible_agreements. A restricted or confidential agreement (or
partner) is counted, never named: its title and partner name are selected as NULL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, or_, select

from crm.extensions import db
from crm.lib import timeutil
from crm.models import Partner, User
from crm.models.agreement import LIVE_STATUSES, Agreement

from .. import access, outside
from .data import AgreementItem, AgreementSection, DigestData

EXPIRING_DAYS = 60
#: a report due within this many days is "due" (the first report reminder's distance)
REPORT_DUE_DAYS = 30
#: listed items per section are capped (the totals stay exact)
MAX_AGREEMENTS = 50


def compile_agreements(user: User, data: DigestData, now: datetime, scope) -> None:
    """Fill `data.agreements` for `user` (not for viewers: they own nothing and lead nobody).

    `scope` is the SQL condition on `Partner` naming the reader's partners.
    """
    today = timeutil.local_date(now, user.timezone)
    expiring = and_(Agreement.expires_on >= today,
                    Agreement.expires_on <= today + timedelta(days=EXPIRING_DAYS))
    report_due = Agreement.next_report_due_on <= today + timedelta(days=REPORT_DUE_DAYS)
    secret = outside.secret_clause(Agreement.sensitivity, Partner.sensitivity)
    title = outside.sql_text(Agreement.title, Agreement.sensitivity, Partner.sensitivity)

    def total(*conditions):  # exact over every matching row, whatever the LIMIT
        return func.sum(case((and_(*conditions), 1), else_=0)).over()

    stmt = access.visible_agreements(user, select(
        Agreement.id, title, Agreement.kind, Agreement.expires_on, Agreement.next_report_due_on,
        Partner.id, outside.sql_text(Partner.name, Partner.sensitivity), secret,
        total(expiring, not_(secret)), total(expiring, secret),
        total(report_due, not_(secret)), total(report_due, secret),
    ).select_from(Agreement)).where(
        Agreement.status.in_(LIVE_STATUSES), Partner.archived.is_(False), scope,
        or_(expiring, report_due),
    ).order_by(secret, Agreement.expires_on.asc().nulls_last(), Agreement.id).limit(
        2 * MAX_AGREEMENTS)
    section = AgreementSection(today=today)
    horizon = today + timedelta(days=EXPIRING_DAYS)
    report_horizon = today + timedelta(days=REPORT_DUE_DAYS)
    for (aid, name, kind, expires, report, pid, pname, hidden, *totals) in db.session.execute(
            stmt):
        (section.expiring_total, section.expiring_restricted, section.reports_total,
         section.reports_restricted) = (int(n or 0) for n in totals)
        if hidden:
            continue
        if expires is not None and today <= expires <= horizon:
            section.expiring.append(AgreementItem(aid, name, kind, pid, pname, expires))
        if report is not None and report <= report_horizon:
            section.reports.append(AgreementItem(aid, name, kind, pid, pname, report))
    for items in (section.expiring, section.reports):
        items.sort(key=lambda item: (item.on, item.id))
        del items[MAX_AGREEMENTS:]
    data.agreements = section
