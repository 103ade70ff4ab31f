"""Content correctness: exact items per section on the hand-built network."""

from __future__ import annotations

from datetime import timedelta

from crm.services import digests
from tests.digests import dataset as ds
from tests.support import factories as f


def _compile(user):
    return digests.compile_digest(user, ds.START, ds.END, ds.NOW)


def test_staff_digest_lists_exactly_their_partners_news(app, db):
    net = ds.build()
    d = _compile(net.alice)
    assert [(i.partner_name, i.kind, i.who, i.outcome) for i in d.interactions] == [
        ("SafeNet Tech", "call", "Bob Staff", "Sent MoU draft"),
        ("Bangkok Child Safety Network", "meeting", "Alice Staff", "Agreed joint workshop"),
    ]
    assert d.interactions_total == 2
    # a restricted partner is not named, even to its owner (rule 11): a count and a link
    assert [(s.partner_id, s.partner_name, s.count, s.label) for s in d.sensitive] == [
        (net.p["cs"].id, "Bangkok Child Safety Network", 1,
         "1 restricted interaction with Bangkok Child Safety Network"),
        (net.p["le"].id, "a restricted partner", 2, "2 interactions with a restricted partner")]
    assert [f.title for f in d.overdue] == ["Send workshop agenda"]
    # titles of follow-ups on restricted partners or from restricted interactions stay home
    assert [(f.title, f.partner_name, f.label) for f in d.due_soon] == [
        ("Review MoU comments", "SafeNet Tech", "Review MoU comments"),
        (None, "a restricted partner", "A follow-up with a restricted partner"),
        (None, "Bangkok Child Safety Network",
         "A restricted follow-up with Bangkok Child Safety Network")]
    assert [p.name for p in d.turned_cooling] == ["Quiet Travel Co"]
    assert [p.name for p in d.turned_lapsed] == ["Old Faith Group"]
    assert [p.name for p in d.new_partners] == ["New Media House"]
    assert [(c.partner_name, c.from_stage, c.to_stage) for c in d.stage_changes] == [
        ("SafeNet Tech", "prospect", "dialogue")]
    assert d.team is None and d.network is None
    assert not digests.is_empty(d)


def test_a_confidential_partner_a_collaborator_cannot_see_is_absent(app, db):
    net = ds.build()
    d = _compile(net.alice)
    names = {i.partner_name for i in d.interactions} | {s.partner_name for s in d.sensitive}
    assert "Hidden Confidential Partner" not in names
    bob = _compile(net.bob)  # the owner sees it, as a count only, and not by name
    assert [(s.partner_id, s.partner_name, s.count) for s in bob.sensitive] == [
        (net.p["conf"].id, "a restricted partner", 1)]
    assert [(i.partner_name, i.outcome) for i in bob.interactions] == [
        ("Paris Ministry", "EU outcome"), ("SafeNet Tech", "Sent MoU draft")]
    assert [(f.title, f.assignee) for f in bob.due_soon] == [("Review MoU comments", "Alice Staff")]
    assert [f.title for f in bob.overdue] == ["Ministry letter"]


def test_manager_digest_covers_their_region_only(app, db):
    net = ds.build()
    d = _compile(net.mona)
    assert not d.has_personal
    t = d.team
    assert t.region == "Asia"
    assert [(r.key, r.current, r.previous) for r in t.by_sector] == [
        ("law_enforcement", 2, 0), ("civil_society", 1, 1), ("technology", 1, 0)]
    assert [(r.key, r.current, r.previous) for r in t.by_country] == [("TH", 3, 1), ("VN", 1, 0)]
    assert t.overdue_by_person == [("Alice Staff", 1)]  # due-soon ones are not overdue
    # New Media House, added two days ago and not contacted yet, is new, not lapsed
    assert [p.name for p in t.lapsed] == ["Old Faith Group"]
    assert t.lapsed_total == 1
    assert t.coverage_gaps == [
        ("KH", ["law_enforcement", "technology", "travel_tourism"]),
        ("TH", ["technology"]),
        ("VN", ["law_enforcement", "technology", "travel_tourism"]),
    ]
    assert d.network is None


def test_manager_without_region_sees_the_whole_network(app, db):
    net = ds.build()
    net.mona.region_scope = None
    t = _compile(net.mona).team
    assert ("FR", 1, 0) in [(r.key, r.current, r.previous) for r in t.by_country]
    assert dict(t.overdue_by_person) == {"Alice Staff": 1, "Bob Staff": 1}


def test_admin_digest_has_network_totals(app, db):
    net = ds.build()
    d = _compile(net.ada)
    n = d.network
    assert n.by_stage == [("dialogue", 1), ("active", 7)]
    assert dict(n.by_sector) == {"civil_society": 2, "law_enforcement": 1, "technology": 1,
                                 "travel_tourism": 1, "faith_based": 1, "media": 1,
                                 "government": 1}
    assert n.partners_total == 8
    assert (n.interactions_current, n.interactions_previous) == (7, 1)
    assert n.failures == [("reminder_due", 1)]
    assert d.team is None
    assert not digests.is_empty(d)


def test_viewer_digest_is_empty_and_a_quiet_week_is_empty(app, db):
    net = ds.build()
    assert digests.is_empty(_compile(net.vic))
    later = ds.END + timedelta(days=400)  # long after: nothing happened, nothing due
    for fu_user in (net.alice,):
        d = digests.compile_digest(fu_user, later - timedelta(days=7), later, later)
        assert d.overdue  # still-open overdue follow-ups keep a digest worth sending
    quiet = digests.compile_digest(net.mona, later - timedelta(days=7), later, later)
    quiet.team.overdue_by_person = []
    quiet.team.lapsed = []
    assert digests.is_empty(quiet)  # standing facts (coverage gaps) alone do not count


def test_one_line_outcome():
    assert digests.one_line("\n  first  \nsecond") == "first"
    assert digests.one_line(None) == ""
    assert digests.one_line("x" * 200, 10) == "x" * 9 + "…"


# --- derived values count only what the recipient may see -----------------------------

HIDDEN_AT = ds.START + timedelta(days=3, hours=5, minutes=13)  # Thu 26 Nov 2026 13:13


def hidden_meetings(net):
    """Two standard partners whose latest interaction is Bob's (the owner's) confidential
    meeting this week; what anyone else may see of them is old."""
    harbour = f.make_partner(net.bob, name="Quiet Harbour Trust", country="TH",
                             collaborators=[net.alice], created_at=ds.LONG_AGO)
    f.set_last_interaction(harbour, ds.START - timedelta(days=58))  # seen: engaged → cooling
    reef = f.make_partner(net.bob, name="Silent Reef Org", country="KH",
                          created_at=ds.LONG_AGO)
    f.set_last_interaction(reef, ds.START - timedelta(days=200))  # seen: long lapsed
    for partner in (harbour, reef):
        f.make_interaction(partner, net.bob, occurred_at=HIDDEN_AT, sensitivity="confidential",
                           summary="HIDDEN-MEETING")
    return harbour, reef


def test_a_hidden_confidential_meeting_moves_no_health_or_lapsed_entry(app, db):
    net = ds.build()
    harbour, reef = hidden_meetings(net)
    # the collaborator cannot see the meeting: for her the partner went quiet this week
    alice = _compile(net.alice)
    assert [p.name for p in alice.turned_cooling] == ["Quiet Harbour Trust", "Quiet Travel Co"]
    # the owner saw it: nothing cooled off for him
    bob = _compile(net.bob)
    assert not bob.turned_cooling and not bob.turned_lapsed
    # the manager's lapsed list, last-contact note and total are hers, not the owner's
    team = _compile(net.mona).team
    assert [(p.name, p.note) for p in team.lapsed] == [
        ("Silent Reef Org", f"last contact {ds.START - timedelta(days=200):%d %b %Y}"),
        ("Old Faith Group", f"last contact {ds.START - timedelta(days=118):%d %b %Y}")]
    assert team.lapsed_total == 2
    # and her counts leave the meetings out (TH as before, no KH at all)
    assert [(r.key, r.current, r.previous) for r in team.by_country] == [("TH", 3, 1),
                                                                        ("VN", 1, 0)]
    # a viewer's digest has no partner section at all
    vic = _compile(net.vic)
    assert not (vic.turned_cooling or vic.turned_lapsed or vic.team)
    assert harbour.last_interaction_at == reef.last_interaction_at == HIDDEN_AT  # the trap
