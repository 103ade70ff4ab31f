"""/admin/deliveries reads like the ledger it shows: counts with the rows' own labels, emails
that carried several rows explained, times in the admin's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from crm.models import AuditEvent, Delivery
from crm.services import deliveries
from tests.admin.helpers import statements, visible_text
from tests.support.http import csrf_token, login

T0 = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)  # 09:00 in Paris


class _Statuses(HTMLParser):
    """The summary's count per status and the status of each row, as the page shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.rows: list[str] = []
        self._summary: str | None = None
        self._in_count = False
        self._row_status: str | None = None
        self._in_badge = False
        self.row_labels: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "li" and "data-status" in a:
            self._summary = a["data-status"]
        elif tag == "td" and "data-status" in a:
            self._row_status = a["data-status"]
            self.rows.append(a["data-status"])
        elif tag == "strong" and "count" in (a.get("class") or "") and self._summary:
            self._in_count = True
        elif tag == "span" and "badge" in (a.get("class") or ""):
            self._in_badge = True

    def handle_data(self, data):
        if self._in_count:
            self.counts[self._summary] = int(data)
        elif self._in_badge and self._summary and self._summary not in self.labels:
            self.labels[self._summary] = data.strip()
        elif self._in_badge and self._row_status:
            self.row_labels.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "strong":
            self._in_count = False
        elif tag == "span":
            self._in_badge = False
        elif tag == "li":
            self._summary = None
        elif tag == "td":
            self._row_status = None


def _read(body: str) -> _Statuses:
    parser = _Statuses()
    parser.feed(body)
    return parser


def _ledger(make, *, recipient, specs):
    """Rows from (status, message_id, created) specs; `skipped` is a row closed unsent."""
    ids = deliveries.insert_ignore([
        {"kind": "reminder_due", "dedupe_key": f"page:{i}", "recipient_id": recipient.id}
        for i in range(len(specs))])
    from crm.extensions import db

    rows = [db.session.get(Delivery, i) for i in ids]
    for row, (status, message_id, created) in zip(rows, specs, strict=True):
        row.created_at = created
        row.message_id = message_id
        row.attempts = 0 if status == "queued" else 1
        if status == "skipped":
            deliveries.skip(row, "the follow-up was done before the reminder left")
        elif status == "sent":
            row.status, row.sent_at = "sent", created + timedelta(seconds=42)
        elif status == "failed":
            deliveries.mark_failed([row], "550 5.1.1 mailbox unavailable")
        else:
            row.status = status
    db.session.commit()
    return ids


@pytest.fixture
def admin(app, db, make, client):
    user = make.make_user("admin", timezone="Europe/Paris")
    db.session.commit()
    login(client, user)
    return user


def test_summary_counts_match_the_row_statuses_and_labels(client, db, make, admin):
    staff = make.make_user()
    _ledger(make, recipient=staff, specs=[
        ("sent", "<a@x>", T0), ("sent", "<b@x>", T0), ("skipped", "<c@x>", T0),
        ("skipped", None, T0), ("failed", "<d@x>", T0), ("queued", None, T0),
        ("sending", "<e@x>", T0)])
    page = _read(client.get("/admin/deliveries").get_data(as_text=True))
    assert page.counts == {"queued": 1, "sending": 1, "sent": 2, "skipped": 2, "failed": 1}
    for status, count in page.counts.items():
        assert page.rows.count(status) == count, status
    # the summary and the rows use the same words
    assert page.labels["skipped"] == "not needed"
    assert set(page.row_labels) == set(page.labels.values())


def test_status_filter_uses_the_shown_status(client, db, make, admin):
    staff = make.make_user()
    _ledger(make, recipient=staff, specs=[("sent", "<a@x>", T0), ("skipped", "<b@x>", T0)])
    assert _read(client.get("/admin/deliveries?status=sent").get_data(True)).rows == ["sent"]
    skipped = _read(client.get("/admin/deliveries?status=skipped").get_data(True))
    assert skipped.rows == ["skipped"]
    # the summary still counts every status, the current one marked
    assert skipped.counts["sent"] == 1
    assert client.get("/admin/deliveries?status=bogus").status_code == 200


def test_rows_that_went_out_in_one_email_say_so(client, db, make, admin):
    staff = make.make_user()
    ids = _ledger(make, recipient=staff, specs=[
        ("sent", "<batch@x>", T0), ("sent", "<batch@x>", T0), ("sent", "<batch@x>", T0),
        ("skipped", "<batch@x>", T0), ("sent", "<alone@x>", T0)])
    body = client.get("/admin/deliveries").get_data(as_text=True)
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(
        r'<tr id="delivery-(\d+)">(.*?)</tr>', body, re.S)}
    for row_id in ids[:3]:
        text = " ".join(rows[row_id].split())
        assert "Sent together in one email with 2 other reminders (1 left out as not needed)" \
            in text, text
        others = set(ids[:3]) - {row_id}
        assert {int(i) for i in re.findall(r'href="#delivery-(\d+)"', rows[row_id])} == others
    assert "Left out of this email; 3 other reminders went in it." in " ".join(
        rows[ids[3]].split())
    assert "together" not in rows[ids[4]] and "Left out" not in rows[ids[4]]


def test_a_queued_batch_is_announced_as_batched_not_sent(client, db, make, admin):
    staff = make.make_user()
    ids = _ledger(make, recipient=staff, specs=[("sending", "<b@x>", T0),
                                                 ("sending", "<b@x>", T0)])
    body = " ".join(client.get("/admin/deliveries").get_data(as_text=True).split())
    assert body.count("Batched together in one email with 1 other reminder:") == len(ids)


def test_times_are_in_the_admins_zone_and_the_zone_is_named(client, db, make, admin):
    staff = make.make_user()
    _ledger(make, recipient=staff, specs=[("sent", "<a@x>", T0)])
    body = visible_text(client.get("/admin/deliveries").get_data(as_text=True))
    assert "Created (Europe/Paris)" in body and "Times in Europe/Paris" in body
    assert "15 Jan 2025 09:00" in body and "sent 09:00:42" in body
    assert "08:00" not in body


def test_sent_on_another_local_day_shows_the_date(client, db, make, admin):
    staff = make.make_user()
    ids = _ledger(make, recipient=staff, specs=[("sent", "<a@x>", T0)])
    row = db.session.get(Delivery, ids[0])
    row.sent_at = T0 + timedelta(days=1, hours=2)
    db.session.commit()
    body = visible_text(client.get("/admin/deliveries").get_data(as_text=True))
    assert "sent 16 Jan 2025 11:00:00" in body


def test_page_statements_do_not_grow_with_rows_or_batches(client, db, make, admin,
                                                          count_queries):
    staff = make.make_user()
    counts = []
    for n, prefix in ((4, "s"), (40, "l")):
        ids = deliveries.insert_ignore([
            {"kind": "reminder_due", "dedupe_key": f"{prefix}:{i}", "recipient_id": staff.id}
            for i in range(n)])
        for i in ids:
            row = db.session.get(Delivery, i)
            row.status, row.message_id, row.sent_at = "sent", f"<{prefix}{i % 2}@x>", T0
        db.session.commit()
        counts.append(statements(client, count_queries, "/admin/deliveries"))
    assert counts[0] == counts[1], counts


def test_non_admins_are_refused_and_retry_keeps_csrf_and_audit(app, client, db, make, admin):
    staff = make.make_user()
    ids = _ledger(make, recipient=staff, specs=[("failed", "<f@x>", T0)])
    other = app.test_client()
    login(other, make.make_user("manager"))
    assert other.get("/admin/deliveries").status_code == 403
    assert client.post(f"/admin/deliveries/{ids[0]}/retry").status_code == 400  # no token
    response = client.post(f"/admin/deliveries/{ids[0]}/retry",
                           data={"csrf_token": csrf_token(client, "/admin/deliveries")})
    assert response.status_code == 302
    assert db.session.query(AuditEvent).filter_by(action="delivery.retry").count() == 1
