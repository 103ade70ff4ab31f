"""A small hand-built network whose digest contents are known item by item.

The period is the week Mon 23 Nov 2026 08:00 → Mon 30 Nov 2026 08:00 UTC, compiled at
its end (NOW). Every secret string below must never appear in any email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crm.extensions import db
from crm.models import Delivery, StageChange
from tests.support import factories as f

START = datetime(2026, 11, 23, 8, tzinfo=UTC)
END = NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
#: restricted and confidential partners are not named in any email, whoever gets it (rule 11)
SECRET_NAMES = ("Mekong Police Unit", "Hidden Confidential Partner")
SECRETS = ("SECRET-LE-ALPHA", "SECRET-LE-BETA", "CONFIDENTIAL-XYZ", "CONF-OUTCOME-XYZ",
           "HIDDEN-PARTNER-NOTE", "SECRET-FOLLOW-UP-TITLE", "CONF-SOURCE-TITLE",
           *SECRET_NAMES)


@dataclass
class Net:
    alice: object
    bob: object
    mona: object
    ada: object
    vic: object
    p: dict


def _in(days: float) -> datetime:
    return START + timedelta(days=days)


def build() -> Net:
    alice = f.make_user("staff", name="Alice Staff", email="alice@example.org")
    bob = f.make_user("staff", name="Bob Staff", email="bob@example.org")
    mona = f.make_user("manager", name="Mona Manager", email="mona@example.org",
                       region_scope="Asia")
    ada = f.make_user("admin", name="Ada Admin", email="ada@example.org")
    vic = f.make_user("viewer", name="Vic Viewer", email="vic@example.org")

    def partner(name, owner, **kw):
        kw.setdefault("created_at", LONG_AGO)
        return f.make_partner(owner, name=name, **kw)

    p = {
        "le": partner("Mekong Police Unit", alice, sector="law_enforcement", country="TH",
                      sensitivity="restricted"),
        "cs": partner("Bangkok Child Safety Network", alice, country="TH"),
        "tech": partner("SafeNet Tech", bob, sector="technology", country="VN",
                        collaborators=[alice], stage="dialogue"),
        "travel": partner("Quiet Travel Co", alice, sector="travel_tourism", country="TH"),
        "faith": partner("Old Faith Group", alice, sector="faith_based", country="KH"),
        "new": partner("New Media House", alice, sector="media", country="TH",
                       created_at=_in(2)),
        "conf": partner("Hidden Confidential Partner", bob, country="TH",
                        sensitivity="confidential", collaborators=[alice],
                        description="HIDDEN-PARTNER-NOTE"),
        "eu": partner("Paris Ministry", bob, sector="government", country="FR"),
    }
    mk = f.make_interaction
    mk(p["le"], alice, occurred_at=_in(1), summary="SECRET-LE-ALPHA raid planning",
       outcome="SECRET-LE-ALPHA next", sensitivity="restricted")
    mk(p["le"], alice, occurred_at=_in(2), summary="SECRET-LE-BETA", sensitivity="restricted")
    mk(p["cs"], alice, kind="meeting", occurred_at=_in(3), summary="Workshop planning",
       outcome="Agreed joint workshop\nsecond line not shown")
    conf_call = mk(p["cs"], alice, kind="call", occurred_at=_in(4), summary="CONFIDENTIAL-XYZ",
                   outcome="CONF-OUTCOME-XYZ", sensitivity="confidential")
    mk(p["cs"], alice, kind="email", occurred_at=START - timedelta(days=3),
       summary="Previous-period email", outcome="PREVIOUS-PERIOD-OUTCOME")
    mk(p["tech"], bob, kind="call", occurred_at=_in(5), summary="MoU call",
       outcome="Sent MoU draft")
    mk(p["conf"], bob, kind="visit", occurred_at=_in(2), summary="CONFIDENTIAL-XYZ visit",
       sensitivity="confidential")
    mk(p["eu"], bob, kind="meeting", occurred_at=_in(6), summary="Ministry meeting",
       outcome="EU outcome")
    # engagement health: cooling 60 d / lapsed 120 d for these sectors
    f.set_last_interaction(p["travel"], START - timedelta(days=58))   # engaged → cooling
    f.set_last_interaction(p["faith"], START - timedelta(days=118))   # cooling → lapsed
    db.session.add(StageChange(partner_id=p["tech"].id, from_stage="prospect",
                               to_stage="dialogue", changed_by_id=bob.id, changed_at=_in(1)))
    db.session.add(StageChange(partner_id=p["tech"].id, from_stage=None, to_stage="prospect",
                               changed_by_id=bob.id, changed_at=LONG_AGO))
    fu = f.make_follow_up
    fu(p["cs"], alice, title="Send workshop agenda", due_at=NOW - timedelta(days=2))
    fu(p["tech"], alice, title="Review MoU comments", due_at=NOW + timedelta(days=3))
    fu(p["cs"], bob, title="Too far ahead", due_at=NOW + timedelta(days=10))
    fu(p["eu"], bob, title="Ministry letter", due_at=NOW - timedelta(days=1))
    fu(p["cs"], alice, title="Already done", due_at=NOW - timedelta(days=3), status="done")
    fu(p["le"], alice, title="SECRET-FOLLOW-UP-TITLE", due_at=NOW + timedelta(days=4))
    fu(p["cs"], alice, title="CONF-SOURCE-TITLE", due_at=NOW + timedelta(days=5),
       interaction_id=conf_call.id)
    db.session.add(Delivery(kind="reminder_due", dedupe_key="x:failed", status="failed",
                            recipient_id=bob.id, updated_at=_in(3), created_at=_in(3)))
    db.session.add(Delivery(kind="reminder_due", dedupe_key="x:old-failed", status="failed",
                            recipient_id=bob.id, updated_at=LONG_AGO, created_at=LONG_AGO))
    db.session.flush()
    return Net(alice, bob, mona, ada, vic, p)
