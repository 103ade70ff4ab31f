"""The emails themselves, sent through the real send path to a real SMTP server."""

from __future__ import annotations

import quopri
from datetime import timedelta

from sqlalchemy import select

from crm import mail
from crm.models import Delivery
from crm.services import digests
from tasks.delivery import deliver
from tests.digests import dataset as ds
from tests.digests.test_compile import HIDDEN_AT, hidden_meetings


def _send_all(app, db, now):
    ids = digests.sweep(now)
    db.session.commit()
    for delivery_id in ids:
        deliver([delivery_id], app.config)
    return ids


def _every_text(raw: bytes, message) -> str:
    """The raw bytes plus every decoded part: a secret cannot hide in an encoding."""
    parts = [raw.decode("utf-8", "replace"), quopri.decodestring(raw).decode("utf-8", "replace")]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(part.get_content())
    parts.extend(f"{k}: {v}" for k, v in message.items())
    return "\n".join(parts)


def test_no_restricted_or_confidential_text_leaves_by_email(app, db, smtp):
    net = ds.build()
    _send_all(app, db, ds.NOW)
    to = sorted(m["To"] for m in smtp.messages)
    assert len(to) == 4 and not any("vic@" in t for t in to)  # the viewer's is empty
    for raw, message in zip(smtp.raw, smtp.messages, strict=True):
        everything = _every_text(raw, message)
        for secret in ds.SECRETS:
            assert secret not in everything, (secret, message["To"])
    alice = next(m for m in smtp.messages if "alice@" in m["To"])
    text = alice.get_body(preferencelist=("plain",)).get_content()
    html = alice.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "Hidden Confidential Partner" not in part
        # a restricted partner is not named even to its owner: a count, a kind, a link
        assert "Mekong Police Unit" not in part
        assert "2 interactions with a restricted partner" in part
        assert f"/partners/{net.p['le'].id}" in part
        assert "1 restricted interaction with Bangkok Child Safety Network" in part
        assert "Agreed joint workshop" in part and "Sent MoU draft" in part
        assert "A follow-up with a restricted partner" in part
        assert "A restricted follow-up with Bangkok Child Safety Network" in part


def test_digest_says_why_links_preferences_and_offers_one_click_unsubscribe(app, db, smtp):
    ds.build()
    _send_all(app, db, ds.NOW)
    alice = next(m for m in smtp.messages if "alice@" in m["To"])
    base = app.config["CRM_BASE_URL"]
    header = alice["List-Unsubscribe"]
    assert header.startswith(f"<{base}/settings/digest/unsubscribe/") and header.endswith(">")
    assert alice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alice["Subject"] == "Your weekly partner digest: 23 Nov – 30 Nov 2026"
    url = header[1:-1]
    for subtype in ("plain", "html"):
        body = alice.get_body(preferencelist=(subtype,)).get_content()
        assert "You receive this because your Partner CRM account (alice@example.org)" in body
        assert "a weekly digest on Mondays at 08:00 (UTC)" in body
        assert f"{base}/settings/digest" in body
        assert url in body
    text = alice.get_body(preferencelist=("plain",)).get_content()
    for heading in ("YOUR PARTNERS", "Interactions logged (5)", "Engagement cooling off",
                    "New partners assigned to you", "Stage changes"):
        assert heading in text
    mona = next(m for m in smtp.messages if "mona@" in m["To"])
    mona_text = mona.get_body(preferencelist=("plain",)).get_content()
    assert "YOUR TEAM — Asia" in mona_text and "Coverage gaps" in mona_text
    assert "Cambodia: Law enforcement, Technology, Travel & tourism" in mona_text
    ada = next(m for m in smtp.messages if "ada@" in m["To"])
    assert "Delivery failures: Reminder due 1" in ada.get_body(
        preferencelist=("plain",)).get_content()
    row = db.session.scalar(select(Delivery).where(Delivery.recipient_id == ds_user(db, "alice")))
    assert row.status == "sent" and row.message_id == alice["Message-ID"]


def ds_user(db, name):
    from crm.models import User

    return db.session.scalar(select(User.id).where(User.email == f"{name}@example.org"))


def test_empty_digest_is_closed_without_sending_unless_always(app, db, make, smtp):
    quiet = make.make_user(email="quiet@example.org")
    keen = make.make_user(email="keen@example.org", digest_always=True)
    _send_all(app, db, ds.NOW)
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["keen@example.org"]
    text = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "Nothing new on your partners this period" in text
    assert "even when there is nothing new" in text
    rows = {r.recipient_id: r for r in db.session.scalars(select(Delivery))}
    assert rows[quiet.id].status == "sent" and rows[quiet.id].sent_at is None
    assert rows[quiet.id].last_error == "not sent: empty digest"
    assert rows[keen.id].sent_at is not None
    # the closed row still counts: the next sweep does not try that period again
    assert digests.sweep(ds.NOW + timedelta(minutes=15)) == []


def test_turning_digests_off_after_ledgering_sends_nothing(app, db, smtp):
    net = ds.build()
    ids = digests.sweep(ds.NOW)
    net.alice.digest_frequency = "off"
    db.session.commit()
    for delivery_id in ids:
        deliver([delivery_id], app.config)
    assert not any("alice@" in m["To"] for m in smtp.messages)


def test_build_email_renders_without_a_request(app, db):
    net = ds.build()
    data = digests.compile_digest(net.mona, ds.START, ds.END, ds.NOW)
    email = digests.build_email(net.mona, data, secret_key="k", base_url="https://crm.example")
    message = mail.build(email)
    assert "https://crm.example/partners/" in message.get_body(
        preferencelist=("html",)).get_content()


def _parts(smtp, who: str) -> tuple[str, str]:
    message = next(m for m in smtp.messages if who in m["To"])
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


def test_plain_text_links_stand_on_their_own_lines(app, db, smtp):
    ds.build()
    _send_all(app, db, ds.NOW)
    for message in smtp.messages:
        text = message.get_body(preferencelist=("plain",)).get_content()
        lines = [ln.strip() for ln in text.splitlines() if "://" in ln]
        assert lines and all(ln.startswith("http") and " " not in ln for ln in lines), lines
    mona, _ = _parts(smtp, "mona@")
    assert "- Thailand: Technology" in mona.splitlines()  # one gap per line


def test_a_hidden_meeting_dates_nothing_in_other_peoples_digests(app, db, smtp):
    net = ds.build()
    reef = hidden_meetings(net)[1]
    _send_all(app, db, ds.NOW)
    seen = f"last contact {ds.START - timedelta(days=200):%d %b %Y}"
    for part in _parts(smtp, "mona@"):
        assert "Silent Reef Org" in part and seen in part
        assert f"/partners/{reef.id}" in part
        assert HIDDEN_AT.strftime("%d %b %Y") not in part
    for part in _parts(smtp, "alice@"):
        assert "Quiet Harbour Trust" in part and "13:13" not in part
    assert "Engagement cooling off" not in "".join(_parts(smtp, "bob@"))  # he saw the meeting
    for raw in smtp.raw:
        assert b"HIDDEN-MEETING" not in raw


def test_the_send_path_uses_the_configured_health_thresholds(app, db, make, smtp,
                                                             monkeypatch):
    """HEALTH_* reach the digest through MailSettings (read once per send run): a partner
    last met 62 days before the period ended turned "cooling" under the default 60 days,
    and is still active, so the digest is empty and not sent, under a 100-day setting."""
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # a Monday: weekly periods just ended
    end = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    owners = [make.make_user(), make.make_user()]
    for owner in owners:
        make.make_partner(owner=owner, sector="technology", name=f"Cooling of {owner.name}",
                          created_at=end - timedelta(days=400),
                          last_interaction_at=end - timedelta(days=62))
    db.session.commit()
    rows = {row.recipient_id: row.id for row in db.session.scalars(
        select(Delivery).where(Delivery.id.in_(digests.sweep(now))))}
    db.session.commit()
    assert set(rows) == {owner.id for owner in owners}

    monkeypatch.setitem(app.config, "HEALTH_DEFAULT_THRESHOLDS", (100, 200))
    strict = deliver([rows[owners[0].id]], app.config)
    assert strict.skipped == [rows[owners[0].id]] and not smtp.messages
    assert "empty digest" in db.session.get(Delivery, rows[owners[0].id]).last_error

    monkeypatch.setitem(app.config, "HEALTH_DEFAULT_THRESHOLDS", (60, 120))
    assert deliver([rows[owners[1].id]], app.config).sent == [rows[owners[1].id]]
    assert len(smtp.messages) == 1
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert f"Cooling of {owners[1].name}" in text
