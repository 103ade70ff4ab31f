"""Rule 11: no email names a restricted or confidential record, whoever receives it.

Admins and owners may open all of these records on screen, but mail is forwarded, synced
to phones and kept on servers we do not control. Every secret string below is unique, so
finding it anywhere in a message (raw bytes, decoded parts, headers) is a leak; the
emails must still say what kind of item it is and carry a link that opens it after
sign-in. Real PostgreSQL, the real send path and a real SMTP server.
"""

from __future__ import annotations

import quopri
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from crm.jobs import run_reminder_sweep as run_sweep
from crm.models import Delivery, StageChange
from crm.services import digests, outside
from tasks.delivery import deliver
from tests.support import factories as f
from tests.support.http import login
from tests.support.smtp import SmtpSink

START = datetime(2026, 11, 23, 8, tzinfo=UTC)  # a Monday: the weekly digest period
NOW = START + timedelta(days=7)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)

#: every name and text of a restricted or confidential record in the world below
CANARIES = (
    "CANARY-R-PARTNER", "CANARY-R-DESCRIPTION", "CANARY-R-CONTACT", "CANARY-R-SUMMARY",
    "CANARY-R-OUTCOME", "CANARY-R-FOLLOW-UP", "CANARY-R2-PARTNER",
    "CANARY-C-PARTNER", "CANARY-C-SUMMARY", "CANARY-C-FOLLOW-UP", "CANARY-C2-PARTNER",
    "CANARY-CONF-MEETING-AT-OPEN", "CANARY-CONF-OUTCOME-AT-OPEN", "CANARY-OWN-LEVEL-FU",
    "CANARY-FU-FROM-CONF-MEETING", "CANARY-ESCALATED-FU", "CANARY-HELPER-FU",
)


def _everything(raw: bytes, message) -> str:
    """Raw bytes, quoted-printable decoded, every decoded part and every header."""
    parts = [raw.decode("utf-8", "replace"), quopri.decodestring(raw).decode("utf-8", "replace")]
    parts += [p.get_content() for p in message.walk() if not p.is_multipart()]
    parts += [f"{k}: {v}" for k, v in message.items()]
    return "\n".join(parts)


def _assert_no_canary(smtp: SmtpSink) -> None:
    assert smtp.messages
    for raw, message in zip(smtp.raw, smtp.messages, strict=True):
        text = _everything(raw, message)
        for canary in CANARIES:
            assert canary not in text, (canary, message["To"])


def _bodies(smtp: SmtpSink, address: str) -> tuple[str, str]:
    """The plain-text part, and the HTML part as text (tags out, entities decoded) with
    its links' addresses kept, so both can be read the same way."""
    [message] = [m for m in smtp.messages if address in m["To"]]
    html = message.get_body(preferencelist=("html",)).get_content()
    hrefs = " ".join(re.findall(r'href="([^"]+)"', html))
    return (message.get_body(preferencelist=("plain",)).get_content(),
            unescape(re.sub(r"<[^>]+>", "", html)) + hrefs)


def _link_opens(app, user, path: str, expected: str) -> None:
    """The email's link, followed by its recipient after signing in, shows the record.

    (The test asks for the `client` fixture, which makes `app.test_client()` start each
    request with a fresh `g`, as a browser's would.)
    """
    browser = app.test_client()
    assert browser.get(path).status_code in (302, 401)  # signed out: nothing
    login(browser, user)
    page = browser.get(path)
    assert page.status_code == 200, path
    assert expected.encode() in page.data


@pytest.fixture
def world(db):
    admin = f.make_user("admin", name="Ada Admin", email="ada@example.org")
    owner = f.make_user("staff", name="Omar Owner", email="omar@example.org")
    manager = f.make_user("manager", name="Mia Manager", email="mia@example.org",
                          region_scope="Asia")
    helper = f.make_user("staff", name="Hal Helper", email="hal@example.org")
    for user in (admin, owner, manager, helper):
        user.digest_frequency = "weekly"
    p = {
        # restricted, created this period (a new partner), with a stage change
        "r": f.make_partner(owner, name="CANARY-R-PARTNER Police Unit", sensitivity="restricted",
                            sector="law_enforcement", country="TH", created_at=START + timedelta(1),
                            description="CANARY-R-DESCRIPTION"),
        # restricted, never contacted (added long ago): on the manager's lapsed list
        "r2": f.make_partner(owner, name="CANARY-R2-PARTNER", sensitivity="restricted",
                             country="TH", created_at=LONG_AGO),
        # confidential, the admin's own
        "c": f.make_partner(admin, name="CANARY-C-PARTNER Ministry", sensitivity="confidential",
                            sector="government", country="FR", created_at=LONG_AGO),
        # confidential, lapsed this period for its owner
        "c2": f.make_partner(owner, name="CANARY-C2-PARTNER", sensitivity="confidential",
                             country="KH", created_at=LONG_AGO),
        "open": f.make_partner(owner, name="Open Standard Org", country="TH",
                               created_at=LONG_AGO),
    }
    f.set_last_interaction(p["c2"], START - timedelta(days=118), "confidential")
    f.make_contact(p["r"], name="CANARY-R-CONTACT")
    at = START + timedelta(days=2)
    mk = f.make_interaction
    mk(p["r"], owner, occurred_at=at, summary="CANARY-R-SUMMARY", outcome="CANARY-R-OUTCOME")
    mk(p["c"], admin, occurred_at=at, summary="CANARY-C-SUMMARY")
    conf_meeting = mk(p["open"], owner, occurred_at=at, sensitivity="confidential",
                      summary="CANARY-CONF-MEETING-AT-OPEN",
                      outcome="CANARY-CONF-OUTCOME-AT-OPEN")
    mk(p["open"], owner, occurred_at=at, summary="Open meeting", outcome="Open outcome said")
    db.session.add(StageChange(partner_id=p["r"].id, from_stage="prospect",
                                 to_stage="dialogue", changed_by_id=owner.id,
                                 changed_at=START + timedelta(days=3)))
    due = NOW + timedelta(days=2)
    fu = {
        "r": f.make_follow_up(p["r"], owner, title="CANARY-R-FOLLOW-UP", due_at=due),
        "c": f.make_follow_up(p["c"], admin, title="CANARY-C-FOLLOW-UP", due_at=due),
        "own": f.make_follow_up(p["open"], owner, title="CANARY-OWN-LEVEL-FU", due_at=due,
                                sensitivity="restricted"),
        "from_conf": f.make_follow_up(p["open"], owner, title="CANARY-FU-FROM-CONF-MEETING",
                                      due_at=due, interaction=conf_meeting),
        "open": f.make_follow_up(p["open"], owner, title="Open follow-up title", due_at=due),
        # assigned to someone else, on the owner's restricted partner: escalated to the owner
        "escalated": f.make_follow_up(p["r"], helper, title="CANARY-ESCALATED-FU",
                                      due_at=due - timedelta(days=7)),
        # assigned to a staff member outside the partner's circle
        "helper": f.make_follow_up(p["r2"], helper, title="CANARY-HELPER-FU", due_at=due),
    }
    db.session.commit()
    return {"admin": admin, "owner": owner, "manager": manager, "helper": helper, "p": p,
            "fu": fu}


def test_the_rule_is_one_function_with_the_same_words_for_both_levels():
    for level in ("restricted", "confidential", "something-new"):  # unknown: fail closed
        assert outside.is_secret(level)
        assert outside.partner_name("Unit 7", level) == "a restricted partner"
        assert outside.follow_up_title("Call", "standard", level) is None
        assert outside.follow_up_title("Call", level, "standard") is None
        assert outside.follow_up_label("Call", level, "Unit 7", level) == \
            "A follow-up with a restricted partner"
        assert outside.interactions_label(3, "Unit 7", level) == \
            "3 interactions with a restricted partner"
    assert not outside.is_secret("standard", None)
    assert outside.partner_name("Open Org", "standard") == "Open Org"
    assert outside.follow_up_label("Call", "standard", "Open Org", "standard") == "Call"
    assert outside.follow_up_label("Call", "confidential", "Open Org", "standard") == \
        "A restricted follow-up with Open Org"
    assert outside.interactions_label(1, "Open Org", "standard") == \
        "1 restricted interaction with Open Org"


def test_digests_to_admin_owner_and_manager_name_no_restricted_record(app, db, client, world,
                                                                      smtp):
    ids = digests.sweep(NOW)
    db.session.commit()
    for delivery_id in ids:
        deliver([delivery_id], app.config)
    _assert_no_canary(smtp)
    p, fu = world["p"], world["fu"]

    # the owner: every kind of item, named by kind, each with its link
    for part in _bodies(smtp, "omar@"):
        assert "1 interaction with a restricted partner" in part
        assert "1 restricted interaction with Open Standard Org" in part
        assert "A follow-up with a restricted partner" in part
        assert part.count("A restricted follow-up with Open Standard Org") == 2
        assert "Open follow-up title" in part and "Open outcome said" in part  # standard
        assert "a restricted partner turned" in part  # c2 lapsed, not named
        assert "a restricted partner: Prospect" in part  # the stage change
        for key in ("r", "c2"):
            assert f"/partners/{p[key].id}" in part
        for key in ("r", "own", "from_conf"):
            assert f"/partners/{fu[key].partner_id}#follow-up-{fu[key].id}" in part
        assert "Law enforcement" not in part  # sector + country would identify it
    lines = [ln.strip() for ln in _bodies(smtp, "omar@")[0].splitlines()]
    new = lines.index("- a restricted partner")  # the new partner, its link on the next line
    assert lines[new + 1] == f"{app.config['CRM_BASE_URL']}/partners/{p['r'].id}"

    # the admin: their own confidential partner and follow-up, by kind only
    for part in _bodies(smtp, "ada@"):
        assert "1 interaction with a restricted partner" in part
        assert "A follow-up with a restricted partner" in part
        assert f"/partners/{p['c'].id}#follow-up-{fu['c'].id}" in part

    # the manager: a restricted partner on the lapsed list, by kind only
    for part in _bodies(smtp, "mia@"):
        assert "a restricted partner" in part and "never contacted" in part
        assert f"/partners/{p['r2'].id}" in part

    _link_opens(app, world["owner"], f"/partners/{p['r'].id}", "CANARY-R-PARTNER")
    _link_opens(app, world["admin"], f"/partners/{p['c'].id}", "CANARY-C-FOLLOW-UP")


def test_reminders_to_admin_and_owner_name_no_restricted_record(app, db, client, world, smtp):
    # 08:00 UTC on the due day: due reminders to the assignees, the escalation to the owner
    fired = run_sweep(app, (NOW + timedelta(days=2)).replace(hour=8))
    assert fired["inserted"] >= 6
    rows = db.session.query(Delivery).order_by(Delivery.id).all()
    # (the escalated one's overdue reminder, which no sweep sent, goes out late: issue 14)
    assert {r.kind for r in rows} == {"reminder_due", "reminder_overdue", "reminder_escalation"}
    by_batch: dict[str, list[int]] = {}
    for row in rows:
        by_batch.setdefault(row.batch_key, []).append(row.id)
    for batch in by_batch.values():
        deliver(batch, app.config)
    _assert_no_canary(smtp)
    p, fu = world["p"], world["fu"]

    for part in _bodies(smtp, "omar@"):
        assert part.count("A follow-up with a restricted partner") == 2  # due + escalated
        assert part.count("A restricted follow-up with Open Standard Org") == 2
        assert "Open follow-up title" in part and "Open Standard Org" in part
        assert "Hal Helper" in part  # who the escalated one is assigned to
        for key in ("r", "own", "from_conf", "escalated"):
            assert f"/partners/{fu[key].partner_id}#follow-up-{fu[key].id}" in part
    for part in _bodies(smtp, "ada@"):
        assert "A follow-up with a restricted partner" in part
        assert f"/partners/{p['c'].id}#follow-up-{fu['c'].id}" in part
    for part in _bodies(smtp, "hal@"):  # the assignee who is not the owner: the same words
        assert "A follow-up with a restricted partner" in part

    _link_opens(app, world["owner"], f"/partners/{p['r'].id}", "CANARY-ESCALATED-FU")
    _link_opens(app, world["admin"], f"/partners/{p['c'].id}", "CANARY-C-FOLLOW-UP")
