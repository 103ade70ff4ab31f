"""/dev/outbox/<name>: the HTML part is shown in a sandboxed `srcdoc` frame, and the page
keeps refusing to be framed itself."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from tests.support.http import login

NAME = "20250101T090000000000-0123abcd.eml"
#: an HTML part that tries to close the srcdoc attribute and run a script in the page
HOSTILE = ('<p>Hello &amp; welcome</p>"\'><script>window.pwned=1</script>'
           '<img src=x onerror="window.pwned=2"><a href="https://crm.example.org/x">Open</a>')


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.images = 0

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.frames.append(dict(attrs))
        elif tag == "script":
            self.scripts.append(dict(attrs))
        elif tag == "img":
            self.images += 1


def _write(folder, html: str | None, name: str = NAME) -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "Check", "crm@example.org", "a@example.org"
    msg.set_content("Plain words")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    (folder / name).write_bytes(msg.as_bytes())


@pytest.fixture
def admin_client(app, db, make, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(tmp_path))
    admin = make.make_user("admin")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    return client


def test_html_part_is_a_sandboxed_srcdoc_and_the_page_still_refuses_framing(admin_client,
                                                                            tmp_path):
    _write(tmp_path, HOSTILE)
    response = admin_client.get(f"/dev/outbox/{NAME}")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"].upper() == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]

    page = _Page()
    page.feed(response.get_data(as_text=True))
    assert len(page.frames) == 1
    frame = page.frames[0]
    assert "src" not in frame  # nothing for X-Frame-Options to refuse
    tokens = set((frame["sandbox"] or "").split())
    assert not tokens & {"allow-scripts", "allow-same-origin", "allow-forms",
                         "allow-top-navigation"}
    # the parser unescapes the attribute: the whole part stayed inside srcdoc, unchanged
    assert frame["srcdoc"].rstrip("\n").endswith(HOSTILE)
    # … and none of it escaped into the page around the frame
    assert all(script.get("src") for script in page.scripts)
    assert page.images == 0
    assert "<script>window.pwned" not in response.get_data(as_text=True)


def test_links_in_the_frame_open_a_new_tab(admin_client, tmp_path):
    _write(tmp_path, '<a href="https://crm.example.org/x">Open</a>')
    page = _Page()
    page.feed(admin_client.get(f"/dev/outbox/{NAME}").get_data(as_text=True))
    frame = page.frames[0]
    assert frame["srcdoc"].startswith('<base target="_blank">')
    assert {"allow-popups", "allow-popups-to-escape-sandbox"} <= set(frame["sandbox"].split())


def test_a_message_without_html_says_so(admin_client, tmp_path):
    _write(tmp_path, None)
    body = admin_client.get(f"/dev/outbox/{NAME}").get_data(as_text=True)
    assert "no HTML part" in body and "<iframe" not in body and "Plain words" in body


def test_the_raw_html_route_is_gone(admin_client, tmp_path):
    _write(tmp_path, HOSTILE)
    assert admin_client.get(f"/dev/outbox/{NAME}/html").status_code == 404
