"""Every route × every method × every role, generated from `app.url_map` (ASVS V8.2.1).

The expectation is written out per endpoint in `ACCESS` (not derived from the decorators):
who may use it. Each rule of the url map is requested with each of its methods by an
anonymous visitor and by a viewer, a staff member, a manager and an admin, over one small
world of standard records that every role can see (record-level visibility is the job of the
per-area matrices and the leak-canary crawl). A refused request must be refused the right way
(sign-in for an anonymous visitor, 403 for a signed-in role, 401 for the token API) and, when
it is a POST/PUT/PATCH/DELETE, must leave every table as it was — the audit event recording
the refusal aside.

A new route without an entry in `ACCESS` fails `test_every_route_has_an_expectation` with the
line to add; a URL argument nobody taught (`ARGUMENTS`) fails with the name to teach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.support import snapshot
from tests.support.http import csrf_token

#: who may use an endpoint
PUBLIC = "public"  # anyone, signed in or not (sign-in pages, token links, health, static)
SIGNED_IN = "signed_in"  # any signed-in role, viewers included
WRITER = "writer"  # signed in and not a viewer
MANAGER = "manager"  # managers and admins
ADMIN = "admin"  # admins only
API = "api"  # bearer token only: a session cookie never authenticates it (401)
LEVELS = (PUBLIC, SIGNED_IN, WRITER, MANAGER, ADMIN, API)

#: endpoint -> level, or {method: level} when the methods differ. Add every new route here.
ACCESS: dict[str, str | dict[str, str]] = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    # signing in and out; token links prove themselves by the token they carry
    "auth.login": PUBLIC,
    "auth.two_factor": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.accept_invitation": PUBLIC,
    "followups.email_action": PUBLIC,
    "settings.digest_unsubscribe": PUBLIC,
    # reading
    "dashboard.index": SIGNED_IN,
    "dashboard.interactions_by_month": SIGNED_IN,
    "dashboard.partners_by_stage": SIGNED_IN,
    "dashboard.countries": MANAGER,  # the coverage overview (map and matrix)
    "dashboard.coverage": MANAGER,
    "partners.index": SIGNED_IN,
    "partners.show": SIGNED_IN,
    "partners.timeline_page": SIGNED_IN,
    "partners.autocomplete": SIGNED_IN,
    "partners.owners": SIGNED_IN,
    "partners.tags": SIGNED_IN,
    "followups.index": SIGNED_IN,
    "followups.counts": SIGNED_IN,
    "followups.upcoming_reminders": SIGNED_IN,
    "reports.index": SIGNED_IN,
    "reports.download": SIGNED_IN,
    "exports.partners": SIGNED_IN,
    "exports.contacts": SIGNED_IN,
    "exports.interactions": SIGNED_IN,
    "api_docs.docs_page": PUBLIC,  # the API's description, no data
    "api_docs.openapi_json": PUBLIC,
    # writing
    "partners.new": WRITER,
    "partners.edit": WRITER,
    "partners.archive": WRITER,
    "partners.unarchive": WRITER,
    "contacts.new": WRITER,
    "contacts.edit": WRITER,
    "interactions.new": WRITER,
    "interactions.edit": WRITER,
    "interactions.partner_fields": WRITER,
    # the log form's people pickers; a viewer gets an empty list (no staff directory)
    "interactions.people_search": SIGNED_IN,
    "interactions.other_people": SIGNED_IN,
    "followups.new": WRITER,
    "followups.complete": WRITER,
    "followups.snooze": WRITER,
    "followups.cancel": WRITER,
    "followups.reopen": WRITER,
    "followups.reassign": WRITER,
    # one's own account
    "settings.index": SIGNED_IN,
    "settings.update_profile": SIGNED_IN,
    "settings.change_password": SIGNED_IN,
    "settings.confirm_password": SIGNED_IN,
    "settings.digest": SIGNED_IN,
    "settings.digest_save": SIGNED_IN,
    "settings.digest_preview": SIGNED_IN,
    "settings.tokens": SIGNED_IN,
    "settings.create_token": SIGNED_IN,
    "settings.revoke_token": SIGNED_IN,
    "settings.two_factor": SIGNED_IN,
    "settings.two_factor_confirm": SIGNED_IN,
    "settings.two_factor_disable": SIGNED_IN,
    "settings.two_factor_recovery_codes": SIGNED_IN,
    # administration
    "admin.index": MANAGER,
    "admin.import_partners": MANAGER,
    "admin.import_job": MANAGER,
    "admin.import_results": MANAGER,
    "admin.import_status": MANAGER,
    "admin.audit": ADMIN,
    "admin.deliveries": ADMIN,
    "admin.deliveries_retry": ADMIN,
    "admin.users": ADMIN,
    "admin.users_new": ADMIN,
    "admin.users_edit": ADMIN,
    "admin.users_resend": ADMIN,
    "admin.users_two_factor_policy": ADMIN,
    "dev.outbox": ADMIN,
    "dev.message": ADMIN,
    # the JSON API (its roles and records: tests/api/)
    "api.me": API,
    "api.list_partners": API,
    "api.create_partner": API,
    "api.get_partner": API,
    "api.update_partner": API,
    "api.archive_partner": API,
    "api.list_contacts": API,
    "api.create_contact": API,
    "api.get_contact": API,
    "api.update_contact": API,
    "api.list_interactions": API,
    "api.create_interaction": API,
    "api.get_interaction": API,
    "api.update_interaction": API,
    "api.list_follow_ups": API,
    "api.create_follow_up": API,
    "api.complete_follow_up": API,
    "api.snooze_follow_up": API,
    # personal data: the contact page (issue 13, helper A)
    "contacts.show": SIGNED_IN,
    # personal data: export and erasure (issue 13, helper B)
    "contacts.personal_data": ADMIN,
    "contacts.erase": ADMIN,
    "contacts.redact_mention": ADMIN,
    "admin.user_personal_data": ADMIN,
    "api.contact_personal_data": API,
    "api.erase_contact": API,
    # personal data: retention and the contacts offered for erasure (issue 13, helper C)
    "admin.retention": ADMIN,
    "admin.erasure_candidates": ADMIN,
    # agreements and The Code (issue 15, helper D)
    "agreements.show": SIGNED_IN,
    "agreements.new": WRITER,
    "agreements.edit": WRITER,
    "agreements.record_report": WRITER,
    "agreements.renew": WRITER,
    "agreements.terminate": WRITER,
    "agreements.update_criterion": WRITER,
    "api.list_agreements": API,
    "api.create_agreement": API,
    "api.get_agreement": API,
    "api.update_agreement": API,
    "api.record_agreement_report": API,
    "api.update_agreement_criterion": API,
    # agreement reports and The Code members view (issue 15, helper E)
    "reports.agreements": SIGNED_IN,
    "reports.agreements_csv": SIGNED_IN,
    "agreements.code_members": SIGNED_IN,
    "agreements.code_members_countries": SIGNED_IN,
    "exports.agreements": SIGNED_IN,
    "admin.import_agreements": MANAGER,
}

ROLES = ("anonymous", "viewer", "staff", "manager", "admin")
#: which roles a level lets in
ALLOWED = {
    PUBLIC: set(ROLES),
    SIGNED_IN: {"viewer", "staff", "manager", "admin"},
    WRITER: {"staff", "manager", "admin"},
    MANAGER: {"manager", "admin"},
    ADMIN: {"admin"},
    API: set(),
}
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
METHODS_IGNORED = frozenset({"HEAD", "OPTIONS"})


@dataclass
class World:
    users: dict[str, object]
    partner_id: int
    contact_id: int
    interaction_id: int
    follow_up_id: int
    delivery_id: int
    job_id: int
    token_ids: dict[str, int]
    agreement_id: int = 0


def _build_world(db, make) -> World:
    from crm.models import Delivery, ImportJob
    from crm.services.accounts import tokens

    users = {role: make.make_user(role, name=f"Matrix {role}")
             for role in ("viewer", "staff", "manager", "admin")}
    partner = make.make_partner(users["staff"], name="Matrix Partner", country="TH")
    contact = make.make_contact(partner)
    interaction = make.make_interaction(partner, users["staff"])
    follow_up = make.make_follow_up(partner, users["staff"], interaction=interaction)
    delivery = Delivery(kind="reminder_due", recipient_id=users["staff"].id, status="failed",
                        dedupe_key="matrix:1", attempts=5, subject="Matrix")
    job = ImportJob(created_by_id=users["manager"].id, filename="partners.csv",
                    content="name,country\nImported Org,FR\n", status="done", total_rows=1)
    db.session.add_all([delivery, job])
    token_ids = {}
    for role, user in users.items():
        row, _ = tokens.create_token(user, f"matrix {role}")
        db.session.flush()
        token_ids[role] = row.id
    db.session.commit()
    # agreements (issue 15, helper D): a standard Code membership every role can see
    from crm.services import agreements

    agreement = agreements.create(users["staff"], partner, {
        "kind": "the_code", "title": "Matrix Code", "status": "active",
        "signed_on": "2025-01-01"})
    db.session.commit()
    return World(users=users, partner_id=partner.id, contact_id=contact.id,
                 interaction_id=interaction.id, follow_up_id=follow_up.id,
                 delivery_id=delivery.id, job_id=job.id, token_ids=token_ids,
                 agreement_id=agreement.id)


Filler = Callable[[World, str], object]

#: URL argument name -> value (world, role) for every route using it
ARGUMENTS: dict[str, Filler] = {
    "partner_id": lambda w, role: w.partner_id,
    "contact_id": lambda w, role: w.contact_id,
    "interaction_id": lambda w, role: w.interaction_id,
    "follow_up_id": lambda w, role: w.follow_up_id,
    "user_id": lambda w, role: w.users["staff"].id,
    "job_id": lambda w, role: w.job_id,
    "delivery_id": lambda w, role: w.delivery_id,
    "token_id": lambda w, role: w.token_ids.get(role, w.token_ids["staff"]),
    "token": lambda w, role: "not-a-valid-token",
    "filename": lambda w, role: "js/app.js",
    "agreement_id": lambda w, role: w.agreement_id,  # issue 15, helper D
}
#: endpoint -> {argument: filler}, for names that mean different things on different routes
ENDPOINT_ARGUMENTS: dict[str, dict[str, Filler]] = {
    "interactions.edit": {"id": lambda w, role: w.interaction_id},
    **{f"followups.{name}": {"id": lambda w, role: w.follow_up_id}
       for name in ("complete", "snooze", "cancel", "reopen", "reassign")},
    "reports.download": {"name": lambda w, role: "engagement"},
    "dev.message": {"name": lambda w, role: "missing.eml"},
    # issue 15, helper D: The Code's criterion 1
    "agreements.update_criterion": {"number": lambda w, role: 1},
    "api.update_agreement_criterion": {"number": lambda w, role: 1},
}


#: endpoints whose sample URL names nothing that exists (a bogus token, a missing outbox file):
#: a role let in may get 404 there
MAY_BE_MISSING = frozenset({"followups.email_action", "dev.message"})

#: real form bodies for some writes, so that a role let in succeeds (a 2xx/3xx below 400 is
#: required) and a refused role would have changed something had the refusal failed
BODIES: dict[str, Callable[[World], dict]] = {
    "partners.new": lambda w: {"name": "Matrix New Partner", "sector": "civil_society",
                               "country": "FR", "stage": "active",
                               "owner_id": str(w.users["staff"].id), "sensitivity": "standard"},
    "contacts.new": lambda w: {"name": "Matrix Contact", "sensitivity": "standard",
                               "email": "matrix.contact@example.org"},
    "interactions.new": lambda w: {"partner_id": str(w.partner_id), "kind": "call",
                                   "occurred_at": "2026-01-02T10:00", "summary": "Matrix call",
                                   "sensitivity": ""},
    "followups.new": lambda w: {"partner_id": str(w.partner_id), "title": "Matrix task",
                                "due": "2026-03-01", "assignee_id": str(w.users["staff"].id)},
    "followups.snooze": lambda w: {"days": "1"},
    "settings.update_profile": lambda w: {"name": "Matrix Renamed", "timezone": "UTC"},
    # issue 15, helper D
    "agreements.record_report": lambda w: {"received_on": "2025-06-01"},
    "agreements.update_criterion": lambda w: {"criterion1-status": "met"},
}


def _level(endpoint: str, method: str) -> str:
    level = ACCESS[endpoint]
    return level[method] if isinstance(level, dict) else level


def _requests(app):
    """(endpoint, method, rule) for every rule and method of the url map; writes last, and
    signing out last of all (it ends the session the other requests use)."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - METHODS_IGNORED):
            found.append((rule.endpoint, method, rule))
    return sorted(found, key=lambda r: (r[0] == "auth.logout", r[1] in MUTATING, r[0], r[1]))


def _arguments(rule) -> set[str]:
    """The URL arguments a request must fill (not those the rule's defaults supply)."""
    return set(rule.arguments) - set(rule.defaults or {})


def _missing(app) -> list[str]:
    problems = []
    for endpoint, method, rule in _requests(app):
        level = ACCESS.get(endpoint)
        if level is None:
            problems.append(
                f"{rule.rule} ({endpoint}) has no expected access: add "
                f'"{endpoint}": <level>, to ACCESS in tests/security/test_route_matrix.py '
                f"(levels: {', '.join(LEVELS)}; a dict {{method: level}} when GET and POST "
                "differ)")
        elif isinstance(level, dict) and method not in level:
            problems.append(f"{method} {rule.rule} ({endpoint}): ACCESS names no level for "
                            f"{method}")
        elif isinstance(level, str) and level not in LEVELS:
            problems.append(f"{endpoint}: unknown level {level!r}")
        for argument in _arguments(rule):
            if argument not in ENDPOINT_ARGUMENTS.get(endpoint, {}) and \
                    argument not in ARGUMENTS:
                problems.append(f"{rule.rule} ({endpoint}): teach ARGUMENTS or "
                                f"ENDPOINT_ARGUMENTS how to fill <{argument}>")
    return problems


def test_every_route_has_an_expectation(app):
    problems = _missing(app)
    stale = sorted(set(ACCESS) - {rule.endpoint for rule in app.url_map.iter_rules()})
    problems += [f"ACCESS names {endpoint}, which is not a route (remove it)"
                 for endpoint in stale]
    assert not problems, "\n".join(problems)


def test_the_matrix_covers_the_routes_the_hand_written_lists_missed(app):
    endpoints = {endpoint for endpoint, _, _ in _requests(app)}
    assert {"interactions.people_search", "interactions.other_people",
            "followups.email_action", "followups.upcoming_reminders", "partners.owners",
            "partners.tags", "auth.logout", "admin.users_edit"} <= endpoints
    assert len(endpoints) >= 90


def _url(world: World, endpoint: str, rule, role: str) -> str:
    fillers = {**ARGUMENTS, **ENDPOINT_ARGUMENTS.get(endpoint, {})}
    values = {name: fillers[name](world, role) for name in _arguments(rule)}
    return rule.build(values, append_unknown=False)[1]


def _outcome(response) -> str:
    """What a response says about access: signin, forbidden, unauthenticated, error or ok."""
    status = response.status_code
    if status >= 500:
        return "error"
    if status == 401:
        return "unauthenticated"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "missing"
    if status in (301, 302, 303, 307, 308) and \
            urlsplit(response.headers.get("Location", "")).path == "/login":
        return "signin"
    return "ok"


def _expected(level: str, role: str, endpoint: str) -> set[str]:
    if level == API:
        return {"unauthenticated"}
    if role in ALLOWED[level]:
        allowed = {"ok", "missing"} if endpoint in MAY_BE_MISSING else {"ok"}
        # signing out (and a second-factor step with nothing pending) may go to the sign-in
        return allowed | {"signin"} if level == PUBLIC else allowed
    if role == "anonymous":
        return {"signin"}
    return {"forbidden"}


@pytest.mark.parametrize("role", ROLES)
def test_every_route_method_and_role(app, db, client, make, login_as, role):
    assert not _missing(app), "see test_every_route_has_an_expectation"
    world = _build_world(db, make)
    if role != "anonymous":
        login_as(world.users[role])
    token = csrf_token(client, "/" if role != "anonymous" else "/login")
    failures = []
    refused_writes = 0
    for endpoint, method, rule in _requests(app):
        level = _level(endpoint, method)
        url = _url(world, endpoint, rule, role)
        expected = _expected(level, role, endpoint)
        refused = "ok" not in expected
        before = snapshot.take(db) if refused and method in MUTATING else None
        data = None
        if method in MUTATING and level != API:
            data = {"csrf_token": token, **BODIES.get(endpoint, lambda w: {})(world)}
        response = client.open(url, method=method, data=data)
        got = _outcome(response)
        if got == "ok" and endpoint in BODIES and method in MUTATING and \
                response.status_code >= 400:
            got = f"the sample body was refused ({response.get_data(as_text=True)[:200]!r})"
        response.close()  # a streamed CSV holds its request context until closed
        if got not in expected:
            failures.append(f"{role} {method} {url} ({endpoint}, {level}): "
                            f"{response.status_code} → {got}, expected {sorted(expected)}")
        if before is not None:
            refused_writes += 1
            changed = snapshot.unchanged_but_refusals(db, before, snapshot.take(db))
            if changed:
                failures.append(f"{role} {method} {url} was refused but changed {changed}")
    assert not failures, "\n".join(failures)
    # every role is refused some write (the API refuses session cookies to all)
    assert refused_writes > 0
