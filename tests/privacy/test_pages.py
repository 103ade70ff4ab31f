"""The page crawl: every GET route, as every viewpoint, shows exactly what that viewpoint
may see (docs/domain.md) and nothing else.

For each viewpoint one browser signs in through the real form (and gets an API token of
its own), then fetches every URL of `routes.plan`: pages, htmx fragments, autocompletes
asked with each record's canary prefix, chart JSON, reports and their CSV, exports and
`/api/v1/*`. Every response (headers and body) is searched for every canary. It fails on
a canary the viewpoint may not see (a leak), on a canary it may see but that no response
showed (the crawl saw too little to prove anything), on a 5xx or 429, and on a route the
crawler does not know how to fill.

Run a part: `-k pages` (this file), `-k routes` (the route table only),
`PRIVACY_VIEWPOINTS=viewer,demoted` (some viewpoints).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.support.http import csrf_token, login

from . import routes
from .conftest import selected_viewpoints
from .world import World

pytestmark = [pytest.mark.postgres]

#: at most this many findings are spelled out in an assertion message (all go to the file)
MESSAGE_LINES = 150
REPORT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "privacy"


@dataclass
class Crawl:
    viewpoint: str
    fetched: int = 0
    statuses: Counter = field(default_factory=Counter)
    #: (endpoint, canary) -> [urls]
    leaks: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    seconds: float = 0.0
    timing: Counter = field(default_factory=Counter)
    #: URLs answering something other than 200/401/403/404 (for the report file)
    odd: list[str] = field(default_factory=list)


FIGURES: dict[str, Crawl] = {}


@pytest.fixture(scope="module")
def crawl_plan(crm_app, world: World) -> routes.Plan:
    from crm.extensions import db
    from crm.lib import links
    from crm.mail import outbox_dir
    from crm.services import reminders

    ctx = routes.Context(world)
    with crm_app.app_context():
        secret = crm_app.config["SECRET_KEY"]
        for record in world.of("follow_up"):
            uid = world.user_ids[record.assignee]
            ctx.action_tokens[record.db_id] = links.make(
                secret, reminders.LINK_PURPOSE, {"fu": record.db_id, "uid": uid,
                                                 "action": "done"})
        ctx.outbox = sorted(p.name for p in outbox_dir().glob("*.eml"))[:5]
        db.session.remove()
    client, token = _browser(crm_app, world, "admin")
    routes.probe_searches(crm_app, ctx, lambda url, api: _text(client.get(
        url, headers={"Authorization": f"Bearer {token}"} if api else {})))
    return routes.plan(crm_app, ctx)


@pytest.fixture(scope="module", autouse=True)
def _figures(crawl_plan, world):
    """Print the figures once the module is done (visible with `pytest -s`)."""
    yield
    if not FIGURES:
        return
    lines = ["", "=== privacy crawl: figures ===",
             f"GET routes crawled: {len(crawl_plan.rules)} (skipped: "
             f"{', '.join(f'{r} ({why})' for r, why in crawl_plan.skipped.items()) or 'none'})",
             f"URLs per viewpoint: {len(crawl_plan.targets)}; viewpoints: {len(FIGURES)}; "
             f"routes x viewpoints: {len(crawl_plan.rules) * len(FIGURES)}; "
             f"requests: {sum(c.fetched for c in FIGURES.values())}",
             f"canaries: {len(world.canaries)} strings on {len(world.records)} records, "
             f"checked in every response"]
    for name, c in FIGURES.items():
        lines.append(f"  {name:12} {c.fetched:5} requests {c.seconds:6.1f}s  leaks "
                     f"{len({k[1] for k in c.leaks}):3}  errors {len(c.errors):3}  statuses "
                     f"{dict(sorted(c.statuses.items()))}")
    print("\n".join(lines))


def test_routes_every_get_route_is_crawled(crawl_plan):
    """A GET route the crawler cannot fill fails here, naming it, until it is taught."""
    assert not crawl_plan.problems, "\n".join(crawl_plan.problems)
    assert crawl_plan.rules and len(crawl_plan.targets) > len(crawl_plan.rules)


def _browser(app, world: World, viewpoint: str) -> tuple[FlaskClient, str | None]:
    """A signed-in (or signed-out) browser for `viewpoint`, and its API token."""
    from crm.extensions import db
    from crm.models import User
    from crm.services.accounts import tokens

    client = app.test_client()
    if viewpoint == "anonymous":
        return client, None
    if viewpoint == "signed_out":
        # the owner signs in with "remember me", signs out, and closes the browser: only
        # the cookies the sign-out left behind remain
        with app.app_context():
            user = db.session.get(User, world.user_ids["owner"])
            email = user.email
            db.session.remove()
        token = csrf_token(client, "/login")
        from tests.support.factories import PASSWORD

        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "remember": "y", "csrf_token": token})
        assert response.status_code == 302, response.data[:300]
        remember = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        assert client.get_cookie(remember), "signing in with 'remember me' set no cookie"
        response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
        assert response.status_code in (302, 303), response.status_code
        client.delete_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
        return client, None
    with app.app_context():
        user = db.session.get(User, world.user_ids[viewpoint])
        _, plain = tokens.create_token(user, "privacy crawl")
        db.session.commit()
        email = user.email
        db.session.remove()
    login(client, email)
    return client, plain


def _text(response) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return head + "\n" + response.get_data().decode("utf-8", "replace")


def _crawl(app, world: World, crawl_plan: routes.Plan, viewpoint: str) -> Crawl:
    result = Crawl(viewpoint)
    client, token = _browser(app, world, viewpoint)
    visible = world.visible_canaries(viewpoint if viewpoint in world.people else None)
    secret = {t for t, c in world.canaries.items() if world.effective_level(c.record)
              != "standard"}
    started = time.monotonic()
    for target in crawl_plan.targets:
        headers = {}
        if target.api and token:
            headers["Authorization"] = f"Bearer {token}"
        if target.htmx:
            headers["HX-Request"] = "true"
        t0 = time.monotonic()
        response = client.get(target.url, headers=headers)
        result.timing[target.endpoint] += time.monotonic() - t0
        result.fetched += 1
        result.statuses[response.status_code] += 1
        if response.status_code not in (200, 401, 403, 404):
            result.odd.append(f"{response.status_code} {target.url} "
                              f"{response.headers.get('Location', '')}")
        if response.status_code >= 500 or response.status_code == 429:
            result.errors.append(f"HTTP {response.status_code} on {target.url}")
        found = world.found_in(_text(response))
        allowed = visible
        forbidden = found - allowed
        if target.link_follow_up is not None:
            # a link from an email is read by whoever holds it: the email rule applies
            link = _link_canaries(world, target.link_follow_up)
            forbidden = (found - allowed - link) | (found & secret)
        for canary in forbidden:
            result.leaks[(target.endpoint, canary)].append(target.url)
        result.seen |= found - forbidden
    result.seconds = time.monotonic() - started
    return result


def _link_canaries(world: World, follow_up_id: int) -> set[str]:
    """Standard canaries of the link's follow-up and its partner."""
    fu = next(r for r in world.of("follow_up") if r.db_id == follow_up_id)
    own = {("follow_up", fu.n), ("partner", fu.partner)}
    return {t for t, c in world.canaries.items()
            if (c.record.kind, c.record.n) in own
            and world.effective_level(c.record) == "standard"}


def _missing(world: World, viewpoint: str, seen: set[str]) -> list[str]:
    """(record, field)s the viewpoint may see that no response showed (dates: any format)."""
    who = viewpoint if viewpoint in world.people else None
    wanted: dict[tuple, list[str]] = defaultdict(list)
    for text, c in world.canaries.items():
        if world.may_see(who, c.record):
            wanted[(c.record.kind, c.record.n, c.field)].append(text)
    return sorted(texts[0] for texts in wanted.values() if not set(texts) & seen)


def _report(world: World, crawl_plan: routes.Plan, c: Crawl, missing: list[str]) -> str:
    lines = [f"viewpoint {c.viewpoint}: {len({k[1] for k in c.leaks})} canaries leaked on "
             f"{len({k[0] for k in c.leaks})} routes, {len(missing)} visible canaries never "
             f"shown, {len(c.errors)} errors ({c.fetched} requests)"]
    lines += [f"UNTAUGHT ROUTE: {p}" for p in crawl_plan.problems]
    by_canary: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for (endpoint, canary), urls in sorted(c.leaks.items()):
        by_canary[canary].append((endpoint, urls))
    for canary, hits in sorted(by_canary.items()):
        lines.append(f"LEAK {c.viewpoint} sees {world.describe(canary)}")
        for endpoint, urls in hits:
            more = f" (+{len(urls) - 1} more URLs)" if len(urls) > 1 else ""
            lines.append(f"     on {endpoint}: {urls[0]}{more}")
    lines += [f"NEVER SHOWN to {c.viewpoint}: {world.describe(t)}" for t in missing]
    lines += [f"ERROR {e}" for e in c.errors]
    return "\n".join(lines)


@pytest.mark.parametrize("viewpoint", selected_viewpoints())
def test_pages_show_each_viewpoint_only_what_it_may_see(crm_app, world, crawl_plan, viewpoint):
    from crm.extensions import limiter

    limit = crm_app.config["API_RATE_LIMIT"]
    crm_app.config["API_RATE_LIMIT"] = "100000 per minute"  # the crawl is one fast client
    try:
        with crm_app.app_context():
            limiter.reset()
        result = _crawl(crm_app, world, crawl_plan, viewpoint)
    finally:
        crm_app.config["API_RATE_LIMIT"] = limit
    FIGURES[viewpoint] = result
    missing = _missing(world, viewpoint, result.seen)
    report = _report(world, crawl_plan, result, missing)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{viewpoint}.txt"
    slowest = ", ".join(f"{e} {t:.1f}s" for e, t in result.timing.most_common(8))
    path.write_text(report + f"\n\nslowest endpoints: {slowest}\nother answers:\n  "
                    + "\n  ".join(result.odd) + "\n")
    print(f"\n{viewpoint}: {result.fetched} requests in {result.seconds:.1f}s, "
          f"{len(world.visible_canaries(viewpoint if viewpoint in world.people else None))}"
          f"/{len(world.canaries)} canaries visible; report in {path}")
    failed = result.leaks or missing or result.errors or crawl_plan.problems
    if failed:
        lines = report.splitlines()
        shown = "\n".join(lines[:MESSAGE_LINES])
        if len(lines) > MESSAGE_LINES:
            shown += f"\n… {len(lines) - MESSAGE_LINES} more lines in {path}"
        pytest.fail(shown, pytrace=False)


def test_pages_crawl_can_fail(crm_app, world, crawl_plan, monkeypatch):
    """The crawl's two checks bite: a viewer told to expect nothing leaks the standard
    partners, and a viewer told to expect everything misses the confidential ones."""
    firsts: dict[str, routes.Target] = {}
    for target in crawl_plan.targets:
        if target.endpoint in ("partners.index", "api.list_partners") and "q=" not in target.url:
            firsts.setdefault(target.endpoint, target)
    tiny = routes.Plan(list(firsts.values()), [t.rule for t in firsts.values()], {}, [])
    assert len(tiny.targets) == 2
    standard_names = {t for t, c in world.canaries.items() if c.record.kind == "partner"
                      and c.field == "nm" and c.record.level == "standard"}
    confidential_names = {t for t, c in world.canaries.items() if c.record.kind == "partner"
                          and c.field == "nm" and c.record.level == "confidential"}
    monkeypatch.setattr(world, "visible_canaries", lambda who: set())
    result = _crawl(crm_app, world, tiny, "viewer")
    leaked = {canary for _, canary in result.leaks}
    assert standard_names <= leaked, (standard_names, leaked)
    assert {e for e, _ in result.leaks} == {"partners.index", "api.list_partners"}
    monkeypatch.setattr(world, "may_see", lambda who, record: True)
    assert confidential_names <= set(_missing(world, "viewer", result.seen))
