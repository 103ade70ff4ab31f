"""Engagement health: a partner added without an interaction is new, not neglected; the
badge says why; the health words are not the stages' words."""

from __future__ import annotations

from datetime import timedelta

from crm.lib import timeutil
from crm.models import Partner
from crm.models.enums import HEALTH_STATES, STAGES
from crm.services import access, dashboard, engagement, partners, reports


def test_health_words_are_not_stage_words():
    assert not set(HEALTH_STATES) & set(STAGES)


def test_a_partner_created_minutes_ago_is_new_everywhere(db, make):
    user = make.make_user()
    partner = partners.create_partner(user, {"name": "Fresh Org", "sector": "media",
                                             "country": "MX"})
    db.session.flush()
    loaded = db.session.scalars(access.visible_partners(user).where(
        Partner.id == partner.id)).one()
    assert engagement.health_of(loaded) == "new"
    assert [p.name for p in db.session.scalars(
        partners.partner_query(user, {"health": "new"}))] == ["Fresh Org"]
    assert list(db.session.scalars(partners.partner_query(user, {"health": "lapsed"}))) == []
    # not among the partners "needing attention" nor in the silence report
    assert dashboard.my_health(user) == {"new": 1, "engaged": 0, "cooling": 0, "lapsed": 0}
    assert dashboard.my_needing_attention(user) == []
    assert reports.silent_partners(user, reports.Filters()) == []


def test_explanations_name_the_days_and_the_sector_cadence(db, make):
    now = timeutil.now_utc()
    reader = make.make_user("admin")

    def health(**kw):
        partner = make.make_partner(**kw)
        return engagement.assess(db.session.scalars(access.visible_partners(reader).where(
            Partner.id == partner.id).execution_options(populate_existing=True)).one(),
            now)

    police = health(sector="law_enforcement", created_at=now - timedelta(days=400),
                    last_interaction_at=now - timedelta(days=120, hours=1))
    assert police.state == "cooling"
    assert police.explanation == ("No interaction for 120 days; this sector expects one every "
                                  "90 days (lapsed after 180 days).")
    fresh = health(sector="media", created_at=now - timedelta(days=3, hours=1))
    assert fresh.state == "new"
    assert fresh.explanation == ("Added 3 days ago, no interaction yet; this sector expects one "
                                 "every 60 days (lapsed after 120 days).")
    old = health(sector="media", created_at=now - timedelta(days=130))
    assert old.state == "lapsed"
    assert old.explanation.startswith("No interaction since it was added 130 days ago;")
    recent = health(sector="media", created_at=now - timedelta(days=130),
                    last_interaction_at=now - timedelta(days=1, hours=2))
    assert recent.state == "engaged"
    assert recent.explanation.startswith("Last interaction 1 day ago;")


def test_badges_carry_the_explanation(client, db, make, login_as):
    user = make.make_user()
    partner = make.make_partner(user, name="Quiet Police", sector="law_enforcement",
                                created_at=timeutil.now_utc() - timedelta(days=400),
                                last_interaction_at=timeutil.now_utc() - timedelta(days=120))
    db.session.commit()
    login_as(user)
    listing = client.get("/partners/").get_data(as_text=True)
    assert 'data-health="cooling"' in listing
    assert 'title="No interaction for 120 days; this sector expects one every 90 days' in listing
    page = client.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "Engagement cooling: No interaction for 120 days" in page
    body = client.get("/partners/?health=new").get_data(as_text=True)
    assert "Quiet Police" not in body
    # the health filter offers the four levels
    for state in HEALTH_STATES:
        assert f'<option value="{state}"' in listing


def test_the_api_filter_takes_the_new_words_and_refuses_the_old(client, db, make):
    from crm.services.accounts import tokens

    user = make.make_user()
    make.make_partner(user, name="Fresh Org")
    _row, token = tokens.create_token(user, "test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    new = client.get("/api/v1/partners?health=new", headers=headers)
    assert new.status_code == 200 and [p["name"] for p in new.get_json()["items"]] == ["Fresh Org"]
    old = client.get("/api/v1/partners?health=dormant", headers=headers)
    assert old.status_code == 422 and "health" in old.get_json()["error"]["fields"]
    for sort in ("owner", "-sector", "country"):
        assert client.get(f"/api/v1/partners?sort={sort}", headers=headers).status_code == 200
