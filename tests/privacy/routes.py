"""How the crawl fills every GET route of `app.url_map`.

A route is crawled when each of its arguments can be filled: by the argument's name
(`ARGUMENTS`: `partner_id` gets every partner id of the world …) or by the endpoint
(`ENDPOINT_ARGUMENTS`, for ambiguous names such as `id` or `token`). A route with no
arguments is crawled as it is and with `?q=CNRY`, so a new page or search endpoint is
covered the day it is added. `QUERIES` adds the query strings known endpoints read
(search prefixes, filters, chart and report variants). A route nobody taught the crawler
to fill makes `plan` report a problem naming it, and the test fails until it is taught
(or listed in `SKIP` with the reason it can never carry record data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from .world import KIND_LETTER, PEOPLE, World

#: routes that can never carry record data, with the reason
SKIP: dict[str, str] = {
    "static": "CSS, JS and images from disk: no record data reaches them",
}
REPORTS = ("engagement", "silence", "followups", "coverage")
SORTS = ("name", "last_interaction", "-last_interaction", "owner", "-owner", "sector", "country")
HEALTH = ("new", "engaged", "cooling", "lapsed")
#: endpoints answering htmx requests differently (crawled with `HX-Request: true` too)
HTMX = frozenset({"admin.import_status", "partners.timeline_page",
                  "interactions.partner_fields"})
#: endpoints that search by `q`: asked with every kind's canary prefix (`CNRYc` …) and, for
#: each kind the endpoint turns out to search (`probe_searches`), every record's prefix
#: (`CNRYp003` …); never a whole token, so an echoed query is not mistaken for a leak
SEARCHES = frozenset({"partners.index", "partners.autocomplete", "partners.tags",
                      "partners.owners", "interactions.people_search",
                      "interactions.other_people", "api.list_partners"})
BOGUS_TOKEN = "not-a-valid-token"


@dataclass
class Context:
    """What the fillers draw from: the world, and link tokens minted for it."""

    world: World
    #: follow-up database id -> a valid reminder action token (for its assignee)
    action_tokens: dict[int, str] = field(default_factory=dict)
    #: names of .eml files in the development outbox at crawl time
    outbox: list[str] = field(default_factory=list)
    #: search endpoint -> kind letters its results showed when an admin asked for each kind
    search_kinds: dict[str, set[str]] = field(default_factory=dict)


Filler = Callable[[Context], Iterable[Any]]


def _ids(kind: str) -> Filler:
    return lambda ctx: [r.db_id for r in ctx.world.of(kind)]


def _users(ctx: Context) -> list[int]:
    return [ctx.world.user_ids[p.key] for p in PEOPLE]


def _some_users(*keys: str) -> Filler:
    """Filters by person: the people the filter can find records for, and one it cannot."""
    return lambda ctx: [ctx.world.user_ids[k] for k in (*keys, "staff")]


ARGUMENTS: dict[str, Filler] = {
    "partner_id": _ids("partner"),
    # every contact's id: the contact page (contacts.show, issue 13 helper A) and the
    # admins' personal-data routes are crawled for each contact of the world
    "contact_id": _ids("contact"),
    "interaction_id": _ids("interaction"),
    "follow_up_id": _ids("follow_up"),
    "user_id": _users,
    "job_id": lambda ctx: [ctx.world.import_job_id],
    # every agreement of the world (issue 15, helper D): its page and edit form
    "agreement_id": _ids("agreement"),
}

ENDPOINT_ARGUMENTS: dict[str, dict[str, Filler]] = {
    "interactions.edit": {"id": _ids("interaction")},
    "followups.reassign": {"id": _ids("follow_up")},
    "followups.email_action": {
        "token": lambda ctx: [*ctx.action_tokens.values(), BOGUS_TOKEN]},
    # account links carry no record data; a bogus token shows the page's refusal
    "auth.accept_invitation": {"token": lambda ctx: [BOGUS_TOKEN]},
    "auth.reset_password": {"token": lambda ctx: [BOGUS_TOKEN]},
    "settings.digest_unsubscribe": {"token": lambda ctx: [BOGUS_TOKEN]},
    "reports.download": {"name": lambda ctx: list(REPORTS)},
    "dev.message": {"name": lambda ctx: ctx.outbox or ["20000101T000000-00000000.eml"]},
}


def kind_terms() -> list[str]:
    return ["CNRY", *(f"CNRY{letter}" for letter in KIND_LETTER.values())]


def _search_terms(ctx: Context, endpoint: str) -> list[str]:
    kinds = ctx.search_kinds.get(endpoint, set(KIND_LETTER.values()))
    return [*kind_terms(), *(r.prefix for r in ctx.world.records.values()
                             if KIND_LETTER[r.kind] in kinds)]


def probe_searches(app: Flask, ctx: Context, get: Callable[[str, bool], str]) -> None:
    """Which kinds of record each search endpoint finds, asked by an all-seeing user
    (`get(url, api) -> response text`): only those kinds are then searched record by
    record, which keeps the crawl fast without losing a record behind a result cap."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in SEARCHES or "GET" not in (rule.methods or ()):
            continue
        kinds: set[str] = set()
        for letter in KIND_LETTER.values():
            url = adapter.build(rule.endpoint, {"q": f"CNRY{letter}"}, method="GET")
            hits = ctx.world.found_in(get(url, rule.rule.startswith("/api/v1/")))
            if any(ctx.world.canaries[h].record.kind != "interaction"
                   or ctx.world.canaries[h].field != "dt" for h in hits):
                kinds |= {KIND_LETTER[ctx.world.canaries[h].record.kind] for h in hits}
        ctx.search_kinds[rule.endpoint] = kinds


def _each(key: str, values: Filler) -> Callable[[Context], list[dict]]:
    return lambda ctx: [{key: v} for v in values(ctx)]


def _partner_each(ctx: Context) -> list[dict]:
    return [{"partner_id": i} for i in _ids("partner")(ctx)]


QUERIES: dict[str, Callable[[Context], list[dict]]] = {
    "partners.index": lambda ctx: [
        *({"sort": s} for s in SORTS), *({"health": h} for h in HEALTH),
        {"region": "Europe"}, {"region": "Asia"}, {"archived": "1"},
        *({"owner_id": i} for i in _some_users("owner", "owner_asia")(ctx))],
    "api.list_partners": lambda ctx: [
        {"per_page": 200}, {"per_page": 200, "sort": "-last_interaction"},
        *({"owner_id": i} for i in _some_users("owner", "owner_asia")(ctx))],
    "api.list_interactions": lambda ctx: [
        {"per_page": 200}, *({"partner_id": i, "per_page": 200} for i in _ids("partner")(ctx))],
    "api.list_follow_ups": lambda ctx: [
        {"per_page": 200}, {"status": "open", "per_page": 200},
        *({"assignee_id": i, "per_page": 200}
          for i in _some_users("assignee", "demoted")(ctx))],
    "api.list_contacts": lambda ctx: [{"per_page": 200}],
    # issue 15, helper D: every agreement at once, and each partner's
    "api.list_agreements": lambda ctx: [
        {"per_page": 200}, *({"partner_id": i, "per_page": 200} for i in _ids("partner")(ctx))],
    "interactions.new": _partner_each,
    "interactions.partner_fields": _partner_each,
    "followups.new": _partner_each,
    "followups.index": lambda ctx: [{"scope": "team"}],
    "settings.digest_preview": _each("user_id", _users),
    "reports.index": lambda ctx: [
        {"report": name, "period": "last_365", **extra} for name in REPORTS
        for extra in ({}, {"region": "Europe"})],
    "reports.download": lambda ctx: [{"period": "last_365"}],
    "exports.interactions": lambda ctx: [{"since": "2000-01-01"}],
    # the contact page's second page of interactions (past the last one: the page's frame)
    "contacts.show": lambda ctx: [{"page": 2}],
    # the contacts offered for erasure (issue 13 helper C): a page past the last one too
    "admin.erasure_candidates": lambda ctx: [{"page": 2}],
    # agreement reports (issue 15 helper E): every view, over a window holding every agreement
    "reports.agreements": lambda ctx: [
        {"view": view, "start": "2000-01-01", "end": "2100-12-31"}
        for view in ("expiring", "compliance", "code")],
    "reports.agreements_csv": lambda ctx: [
        {"view": view, "start": "2000-01-01", "end": "2100-12-31"}
        for view in ("expiring", "compliance", "code")],
}


@dataclass(frozen=True)
class Target:
    endpoint: str
    rule: str
    url: str
    api: bool
    htmx: bool = False
    #: a link carrying a token (email actions): read under the email rule as well
    link_follow_up: int | None = None


@dataclass
class Plan:
    targets: list[Target]
    rules: list[str]  #: the GET rules crawled
    skipped: dict[str, str]  #: rule -> reason
    problems: list[str]  #: routes the crawler cannot fill, stale table entries


def plan(app: Flask, ctx: Context) -> Plan:
    """Every URL to fetch, for every GET rule of the app."""
    adapter = app.url_map.bind("localhost")
    targets: list[Target] = []
    rules, problems = [], []
    skipped: dict[str, str] = {}
    endpoints = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if "GET" not in (rule.methods or ()):
            continue
        endpoints.add(rule.endpoint)
        if rule.endpoint in SKIP:
            skipped[rule.rule] = SKIP[rule.endpoint]
            continue
        needed = sorted(set(rule.arguments) - set(rule.defaults or {}))
        own = ENDPOINT_ARGUMENTS.get(rule.endpoint, {})
        missing = [a for a in needed if a not in own and a not in ARGUMENTS]
        if missing:
            problems.append(
                f"{rule.rule} ({rule.endpoint}): the crawler cannot fill {', '.join(missing)}; "
                "teach tests/privacy/routes.py (ARGUMENTS or ENDPOINT_ARGUMENTS) or SKIP it "
                "with the reason it can carry no record data")
            continue
        rules.append(rule.rule)
        combos: list[dict] = [{}]
        for arg in needed:
            values = list((own.get(arg) or ARGUMENTS[arg])(ctx))
            combos = [{**c, arg: v} for c in combos for v in values]
        queries: list[dict] = [{}]
        if not needed:
            queries.append({"q": "CNRY"})
        queries += QUERIES.get(rule.endpoint, lambda ctx: [])(ctx)
        if rule.endpoint in SEARCHES:
            queries += [{"q": term} for term in _search_terms(ctx, rule.endpoint)]
        token_fu = {t: fu for fu, t in ctx.action_tokens.items()}
        seen = set()
        for combo in combos:
            for query in queries:
                url = adapter.build(rule.endpoint, {**combo, **query}, method="GET")
                if url in seen:
                    continue
                seen.add(url)
                api = rule.rule.startswith("/api/v1/")
                link = token_fu.get(combo.get("token")) if rule.endpoint == \
                    "followups.email_action" else None
                targets.append(Target(rule.endpoint, rule.rule, url, api,
                                      link_follow_up=link))
                if rule.endpoint in HTMX:
                    targets.append(Target(rule.endpoint, rule.rule, url, api, htmx=True))
    for table, name in ((SKIP, "SKIP"), (ENDPOINT_ARGUMENTS, "ENDPOINT_ARGUMENTS"),
                        (QUERIES, "QUERIES"), (dict.fromkeys(SEARCHES), "SEARCHES"),
                        (dict.fromkeys(HTMX), "HTMX")):
        for endpoint in sorted(set(table) - endpoints):
            problems.append(f"{name} names {endpoint!r}, which is no GET route any more: "
                            "update tests/privacy/routes.py")
    return Plan(targets, rules, skipped, problems)
