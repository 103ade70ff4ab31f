"""Hostile values in every field of every web form, as every role: never a 500, never a
half-saved record.

The forms are discovered, not listed: every GET route of `app.url_map` (outside the API)
is opened as each signed-in role, and every `<form method="post">` whose action is a POST
route of the url map (and every GET form: the list filters, search) is kept with its fields (inputs, selects, textareas) and their default
values. Each form is then submitted once per hostile value in all its fields at once, and
once per field with only that field hostile (the others keep their defaults, so the
refusal cannot come from a field checked earlier). Hostile: NUL bytes, a lone surrogate
(raw UTF-8 bytes: a browser may send them), control characters, the Schemathesis URL
"]\\x1a", ids beyond 64 bits, dates at year 1 and 9999, offsets of ±14 h, local times inside
a DST gap, HTML, CSV formulas and SQL. A 10 MB value is sent once per form (as the admin).

After each answer the database is compared with its snapshot: an answer that is neither a
redirect nor a 201 (a refusal, or a form shown again with its errors) must have changed
nothing but the audit event of a refusal or of a failed security check (a wrong password);
a success may add or change the rows of the record it saved, which the next comparison
starts from. With every hostile value in every field at once, nothing may be saved halfway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text

from tests.support import snapshot
from tests.support.html import parse
from tests.support.http import csrf_token

from .test_route_matrix import _arguments, _build_world, _url

ROLES = ("admin", "manager", "staff", "viewer")
SURROGATE = "\ud800".encode("utf-8", "surrogatepass")
HOSTILE: list[str | bytes] = [
    "name\x00with nul", b"lone " + SURROGATE + b" surrogate", "]\x1a",
    "\x1b[31m\x07\x08\x0c\x7f", "18446744073709551617", "-9223372036854775809",
    "0001-01-01", "9999-12-31", "9999-12-31T23:59",
    "2026-01-01T00:00+14:00", "2026-01-01T00:00-14:00",
    "2026-03-29T02:30", "2026-03-08T02:30",  # inside the spring-forward gap (EU, US)
    "<script>alert(1)</script>", "=1+1", "' OR 1=1 --", "x" * 20_000,
]
HUGE = "x" * (10 * 1024 * 1024)
#: never submitted: they end the session the crawl runs in
SKIPPED = frozenset({"auth.logout"})


@dataclass
class Form:
    action: str
    endpoint: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> list[str]:
        return list(dict.fromkeys(n for n, _v in self.fields if n != "csrf_token"))


def _forms_on(body: str, adapter, post_endpoints: set[str], page: str) -> list[Form]:
    found = []
    for node in parse(body).iter():
        if node.tag != "form":
            continue
        method = node.attrs.get("method", "get").upper()
        action = urlsplit(node.attrs.get("action") or page)
        try:
            endpoint, _args = adapter.match(action.path, method=method)
        except Exception:  # noqa: BLE001 - an action outside the app (none today)
            continue
        if (method == "POST" and endpoint not in post_endpoints) or endpoint in SKIPPED or \
                method not in ("GET", "POST"):
            continue
        form = Form(action=action.path + (f"?{action.query}" if action.query else ""),
                    endpoint=endpoint, method=method)
        for child in node.iter():
            name = child.attrs.get("name")
            if not name or child.attrs.get("disabled") is not None:
                continue
            if child.tag == "input":
                kind = child.attrs.get("type", "text")
                if kind in ("checkbox", "radio") and "checked" not in child.attrs:
                    continue
                if kind in ("submit", "button", "file", "image"):
                    continue
                form.fields.append((name, child.attrs.get("value", "")))
            elif child.tag == "textarea":
                form.fields.append((name, child.text()))
            elif child.tag == "select":
                options = [o for o in child.iter() if o.tag == "option"]
                chosen = [o for o in options if "selected" in o.attrs] or options[:1]
                for option in chosen:
                    form.fields.append((name, option.attrs.get("value", option.text())))
        found.append(form)
    return found


def _discover(app, client, world, role) -> list[Form]:
    """Every POST form reachable from a GET page of the web app, one per (action, fields)."""
    adapter = app.url_map.bind("localhost")
    post_endpoints = {r.endpoint for r in app.url_map.iter_rules()
                      if "POST" in (r.methods or ()) and not r.endpoint.startswith("api")}
    forms: dict[tuple, Form] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint.split(".")[0] in (
                "api", "api_docs", "static", "exports", "dev", "health"):
            continue
        if rule.endpoint in ("auth.logout", "reports.download") or \
                rule.endpoint.startswith("followups.email") or "token" in _arguments(rule):
            continue
        page = _url(world, rule.endpoint, rule, role)
        response = client.get(page)
        if response.status_code == 200 and response.mimetype == "text/html":
            for form in _forms_on(response.get_data(as_text=True), adapter, post_endpoints,
                                  page):
                forms.setdefault((form.method, form.action, tuple(form.names())), form)
        response.close()
    return list(forms.values())


class Fingerprint:
    """Per table: a row count and an order-free digest of every row (the sum of each row's
    64-bit hash: no sort), in one query (PostgreSQL), so the
    crawl can compare the whole database after each of its ~2,000 submissions; the audit
    events added since the last look are read by id. Elsewhere: full snapshots."""

    def __init__(self, db) -> None:
        self.db = db
        self.postgres = db.engine.dialect.name == "postgresql"
        tables = [t.name for t in db.metadata.sorted_tables]
        self.query = text(" UNION ALL ".join(
            f"SELECT '{name}', count(*), sum(hashtextextended(t::text, 0)::numeric) "
            f"FROM \"{name}\" t" for name in tables))

    def take(self):
        if not self.postgres:
            return snapshot.take(self.db)
        with self.db.engine.connect() as conn:
            rows = {name: (count, digest) for name, count, digest in conn.execute(self.query)}
            last = conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_events")).scalar()
        return rows, last

    def unexplained(self, before, after) -> list[str]:
        """Tables a refused submission changed, beyond the audit events of a refusal or of a
        failed security check (a wrong password is recorded: auth.*)."""
        if not self.postgres:
            diff = snapshot.changes(before, after)
            audit = diff.get("audit_events")
            if audit and not audit["removed"]:
                at = [c.name for c in self.db.metadata.tables["audit_events"].columns] \
                    .index("action")
                if all(str(r[at]).startswith(("auth.", "authz.")) for r in audit["added"]):
                    del diff["audit_events"]
            return sorted(diff)
        (old, old_last), (new, new_last) = before, after
        changed = sorted(name for name in new if new[name] != old.get(name))
        if "audit_events" in changed and new["audit_events"][0] - old["audit_events"][0] \
                == new_last - old_last:
            with self.db.engine.connect() as conn:
                actions = conn.execute(text("SELECT action FROM audit_events WHERE id > :last"),
                                       {"last": old_last}).scalars().all()
            if all(a.startswith(("auth.", "authz.")) for a in actions):
                changed.remove("audit_events")
        return changed


def _body(fields: list[tuple[str, str | bytes]]) -> bytes:
    return urlencode([(n, v if isinstance(v, bytes) else v.encode("utf-8"))
                      for n, v in fields]).encode("ascii")


def _submissions(form: Form, huge: bool):
    """(label, fields) to send: every value in every field, then each field on its own."""
    names = form.names()
    defaults = [(n, v) for n, v in form.fields if n != "csrf_token"]
    for value in HOSTILE:
        yield f"all fields = {value[:30]!r}", [(n, value) for n in names]
    if huge and names:
        yield f"{names[0]} = 10 MB", [(n, v) for n, v in defaults if n != names[0]] + \
            [(names[0], HUGE)]
    for i, name in enumerate(names):
        value = HOSTILE[(i * 7 + len(form.action)) % len(HOSTILE)]
        yield f"{name} = {value[:30]!r}", [(n, v) for n, v in defaults if n != name] + \
            [(name, value)]


@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_in_every_form_field(app, db, client, make, login_as, role):
    world = _build_world(db, make)
    login_as(world.users[role])
    started = time.monotonic()
    forms = _discover(app, client, world, role)
    endpoints = {f.endpoint for f in forms}
    if role != "viewer":
        assert {"partners.new", "contacts.new", "interactions.new", "followups.new",
                "settings.update_profile"} <= endpoints, sorted(endpoints)
    token_page = "/settings/"
    token = csrf_token(client, token_page)
    failures = []
    sent = 0
    fingerprint = Fingerprint(db)
    before = fingerprint.take()
    for form in forms:
        for label, fields in _submissions(form, huge=role == "admin"):
            body = _body([("csrf_token", token), *fields])
            if form.method == "GET":
                if len(body) > 100_000:
                    continue  # a URL that long is refused by every server before the app
                separator = "&" if "?" in form.action else "?"
                response = client.get(form.action + separator + body.decode("ascii"))
            else:
                response = client.post(form.action, data=body,
                                       content_type="application/x-www-form-urlencoded")
            sent += 1
            status = response.status_code
            response.close()
            after = fingerprint.take()
            where = f"{role} {form.method} {form.action} ({form.endpoint}) with {label}"
            if status >= 500:
                failures.append(f"{where}: {status}")
            elif not (300 <= status < 400 or status == 201):
                changed = fingerprint.unexplained(before, after)
                if changed:
                    failures.append(f"{where}: answered {status} but changed {changed}")
            before = after
            if status in (301, 302, 303) and \
                    urlsplit(response.headers.get("Location", "")).path == "/login":
                login_as(world.users[role])  # a form that signs out (none today) ends here
                token = csrf_token(client, token_page)
    print(f"form crawl as {role}: {len(forms)} forms, {sent} submissions, "
          f"{time.monotonic() - started:.1f}s")
    assert not failures, "\n".join(failures[:40])
    assert sent > (0 if role == "viewer" else 100)


def test_a_nul_byte_in_a_form_is_a_400_page_naming_the_field(app, db, client, make, login_as):
    world = _build_world(db, make)
    login_as(world.users["staff"])
    before = snapshot.take(db)
    body = _body([("csrf_token", csrf_token(client, "/partners/new")), ("name", "Bad\x00Org"),
                  ("sector", "media"), ("country", "FR")])
    response = client.post("/partners/new", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "“name”" in response.get_data(as_text=True)
    assert not snapshot.unchanged_but_refusals(db, before, snapshot.take(db))


@pytest.mark.parametrize("path", ["/partners/18446744073709551617",
                                  "/partners/2147483648/edit",
                                  "/admin/users/99999999999999999999"])
def test_ids_beyond_an_id_column_in_a_url_are_404_pages(app, db, client, make, login_as, path):
    world = _build_world(db, make)
    login_as(world.users["admin"])
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_a_ten_megabyte_form_is_a_413_page_not_500(app, db, client, make, login_as):
    world = _build_world(db, make)
    login_as(world.users["staff"])
    before = snapshot.take(db)
    body = _body([("csrf_token", csrf_token(client, "/partners/new")), ("name", HUGE),
                  ("sector", "media"), ("country", "FR")])
    response = client.post("/partners/new", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert not snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
