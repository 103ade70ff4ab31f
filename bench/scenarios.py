"""What `make bench` measures: one spec per scenario, handed to bench.load as JSON."""

from __future__ import annotations

from dataclasses import dataclass

from bench.generate import BENCH_EMAIL, BENCH_PASSWORD, TIMELINE_PARTNER_ID

#: the baseline every page is compared with: one SELECT 1 through the same stack
BASELINE = "baseline"
#: (key, label) in the order of the table
PAGES = (
    ("partner_list", "Partner list: 2 filters + name search"),
    ("partner_page", "Partner page, timeline of 1,000 interactions"),
    ("log_interaction", "Log interaction (POST + CSRF + redirect)"),
    ("dashboard", "Dashboard"),
    ("api_list", "API list /api/v1/partners (filtered)"),
    ("api_create", "API create POST /api/v1/partners"),
)
#: the partner list query: two filters and a name search
LIST_QUERY = "q=child&sector=civil_society&region=Asia"


@dataclass(frozen=True)
class Context:
    """What the scenarios need from the prepared database."""

    bearer: str
    #: partners the bench user may write to (log-interaction targets; never the timeline one)
    writable_partner_ids: list[int]
    today: str


def _signed_in(name: str, kind: str, **spec) -> dict:
    return {"name": name, "kind": kind, "email": BENCH_EMAIL, "password": BENCH_PASSWORD,
            **spec}


def specs(ctx: Context) -> dict[str, dict]:
    """Every scenario by key (BASELINE plus PAGES)."""
    return {
        BASELINE: _signed_in(BASELINE, "get", path="/bench/baseline"),
        "partner_list": _signed_in("partner_list", "get", path=f"/partners/?{LIST_QUERY}"),
        "partner_page": _signed_in("partner_page", "get",
                                   path=f"/partners/{TIMELINE_PARTNER_ID}"),
        "log_interaction": _signed_in(
            "log_interaction", "log_interaction", path="/interactions/new",
            partner_ids=ctx.writable_partner_ids,
            form={"kind": "call", "occurred_at": f"{ctx.today}T09:30",
                  "summary": "Benchmark call about the referral pathway",
                  "outcome": "Agreed to meet again", "sensitivity": "standard"}),
        "dashboard": _signed_in("dashboard", "get", path="/"),
        "api_list": {"name": "api_list", "kind": "get", "bearer": ctx.bearer,
                     "path": "/api/v1/partners?sector=civil_society&region=Asia&per_page=25"},
        "api_create": {"name": "api_create", "kind": "api_create", "bearer": ctx.bearer,
                       "path": "/api/v1/partners",
                       "json": {"name": "Bench API Partner", "sector": "technology",
                                "country": "KE", "stage": "prospect"}},
    }
