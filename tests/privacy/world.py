"""The canary world: who exists, what each record says, and who may see it.

Every text field of every partner, contact, interaction, follow-up and agreement (issue 15:
its title, notes, document reference, a report received and a criterion note) carries a
unique canary token, `CNRY` + kind letter + 3-digit record number + 2-letter field code (e.g.
`CNRYp003nm`, the name of partner 3). The sensitivity lives in the registry below, never in
the token. Interactions also get a unique calendar day each (never a Monday, today or a
follow-up due day), so a leaked derived date ("last interaction") is found as well.

`may_see` is written here from docs/domain.md on purpose, without crm.services.access: a
test that asked the code under test what to expect could not fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

LEVELS = ("standard", "restricted", "confidential")
RANK = {level: i for i, level in enumerate(LEVELS)}
#: (region, country) of the two regions the world spreads over
REGIONS = (("Europe", "FR"), ("Asia", "TH"))

#: the assignee exception (docs/domain.md, issue 12 rule 2): a writer also sees a follow-up
#: assigned to them even at a partner they may not (or no longer) see: being assigned grants
#: the follow-up itself, never its partner's or interaction's fields (docs/domain.md, the
#: assignee exception). True would require the partner to be visible as well.
ASSIGNEE_NEEDS_PARTNER = False

TOKEN = re.compile(r"cnry([pcifa])(\d{3})([a-z]{2})", re.IGNORECASE)
KIND_LETTER = {"partner": "p", "contact": "c", "interaction": "i", "follow_up": "f",
               "agreement": "a"}
FIELD_NAMES = {
    "partner": {"nm": "name", "ds": "description", "ws": "website", "em": "email",
                "tg": "tag"},
    "contact": {"nm": "name", "ti": "role/title", "em": "email", "ph": "phone",
                "no": "notes"},
    "interaction": {"su": "summary", "ou": "outcome", "dt": "date"},
    "follow_up": {"ti": "title"},
    # issue 15: an agreement's own texts, a report received and The Code's criterion 1 note
    "agreement": {"ti": "title", "no": "notes", "dr": "document ref", "rs": "report summary",
                  "cn": "criterion note"},
}
#: how a date is written: ISO (JSON, CSV) and the pages' `local_date` / `local_dt` formats
DATE_FORMATS = ("%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%a %d %b")


def strictest(*levels: str | None) -> str:
    return max((lvl for lvl in levels if lvl), key=RANK.__getitem__, default="standard")


@dataclass(frozen=True)
class Person:
    key: str
    role: str
    region_scope: str | None = None
    #: assigned follow-ups as staff, then turned into a viewer
    demoted: bool = False

    @property
    def final_role(self) -> str:
        return "viewer" if self.demoted else self.role


PEOPLE = (
    Person("admin", "admin"),
    Person("manager_in", "manager", "Europe"),     # covers the Europe partners
    Person("manager_out", "manager", "Americas"),  # covers none of them
    Person("owner", "staff"),                      # owns the Europe partners
    Person("owner_asia", "staff"),                 # owns the Asia partners
    Person("collaborator", "staff"),               # collaborates on the Asia partners
    Person("staff", "staff"),                      # no relation to anything
    Person("viewer", "viewer"),
    Person("assignee", "staff"),                   # assigned follow-ups everywhere
    Person("demoted", "staff", demoted=True),      # assigned follow-ups, then viewer
)
PEOPLE_BY_KEY = {p.key: p for p in PEOPLE}
#: the browsers the crawl looks through; `signed_out` is the owner's browser after signing
#: out with "remember me" (and closing the browser: only the cookies sign-out left behind)
VIEWPOINTS = ("admin", "manager_in", "manager_out", "owner", "collaborator", "staff",
              "viewer", "assignee", "demoted", "signed_out", "anonymous")


@dataclass
class Record:
    kind: str  #: partner, contact, interaction, follow_up
    n: int
    partner: int  #: the partner's record number (itself for a partner)
    level: str  #: the sensitivity stored on the record itself
    interaction: int | None = None  #: a follow-up's source interaction
    assignee: str | None = None
    region: str = ""
    owner: str | None = None
    collaborators: tuple[str, ...] = ()
    occurred_at: datetime | None = None
    db_id: int = 0

    @property
    def prefix(self) -> str:
        return f"CNRY{KIND_LETTER[self.kind]}{self.n:03d}"

    def token(self, code: str) -> str:
        return f"{self.prefix}{code}"

    @property
    def ref(self) -> str:
        return f"{self.kind} #{self.n} ({self.level})"


@dataclass(frozen=True)
class Canary:
    """One searchable string and the record it belongs to."""

    text: str  #: lower-case token, or a date string as pages print it
    record: Record
    field: str


@dataclass
class World:
    people: dict[str, Person] = field(default_factory=lambda: dict(PEOPLE_BY_KEY))
    user_ids: dict[str, int] = field(default_factory=dict)
    records: dict[tuple[str, int], Record] = field(default_factory=dict)
    canaries: dict[str, Canary] = field(default_factory=dict)
    import_job_id: int = 0
    _dates: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Record]:
        return [r for (k, _), r in sorted(self.records.items()) if k == kind]

    def partner(self, record: Record) -> Record:
        return self.records[("partner", record.partner)]

    # --- the rule (docs/domain.md), independent of crm.services.access ------------------

    def level_ok(self, who: str | None, partner: Record, level: str) -> bool:
        person = self.people.get(who or "")
        if person is None:  # signed out
            return False
        role = person.final_role
        if role == "admin" or level == "standard":
            return True
        if role == "viewer":
            return False
        if partner.owner == person.key:
            return True
        if level == "confidential":
            return False
        return (person.key in partner.collaborators
                or (role == "manager" and person.region_scope in (None, partner.region)))

    def effective_level(self, record: Record) -> str:
        """A child is at least as sensitive as its partner (and a follow-up as its source)."""
        partner = self.partner(record)
        source = (self.records[("interaction", record.interaction)]
                  if record.interaction else None)
        return strictest(partner.level, source.level if source else None, record.level)

    def may_see(self, who: str | None, record: Record) -> bool:
        partner = self.partner(record)
        partner_ok = self.level_ok(who, partner, partner.level)
        if record.kind == "partner":
            return partner_ok
        if partner_ok and self.level_ok(who, partner, self.effective_level(record)):
            return True
        person = self.people.get(who or "")
        return (record.kind == "follow_up" and person is not None
                and person.final_role != "viewer" and record.assignee == person.key
                and (partner_ok or not ASSIGNEE_NEEDS_PARTNER))

    def visible_canaries(self, who: str | None) -> set[str]:
        return {text for text, c in self.canaries.items() if self.may_see(who, c.record)}

    # --- finding canaries in text -------------------------------------------------------

    def found_in(self, text: str) -> set[str]:
        """The canaries (keys of `self.canaries`) that occur in `text`."""
        hits = {m.group(0).lower() for m in TOKEN.finditer(text)}
        hits.update(d for d in self.date_texts if d in text)
        return {h for h in hits if h in self.canaries}

    @property
    def date_texts(self) -> list[str]:
        if not self._dates:
            self._dates = [t for t, c in self.canaries.items() if c.field == "dt"]
        return self._dates

    def describe(self, text: str) -> str:
        c = self.canaries[text]
        record, partner = c.record, self.partner(c.record)
        where = "" if record.kind == "partner" else (
            f" at partner #{partner.n} ({partner.region}, {partner.level})")
        source = f", from interaction #{record.interaction}" if record.interaction else ""
        who = f", assigned to {record.assignee}" if record.assignee else ""
        return (f"{c.text!r} = {record.kind} #{record.n} {FIELD_NAMES[record.kind][c.field]} "
                f"[own {record.level}, effective {self.effective_level(record)}]"
                f"{where}{source}{who}")


# --- the world's contents (plain data; the database rows are made in `build`) --------------

def interaction_days(today: date, count: int) -> list[date]:
    """`count` distinct past days, newest first, never today, yesterday or a Monday (digest
    periods and the next-digest date end on Mondays: a date there is not a leak)."""
    days, back = [], 2
    while len(days) < count:
        day = today - timedelta(days=back)
        if day.weekday() != 0:
            days.append(day)
        back += 1
    return days


def plan(now: datetime) -> World:
    """The records and canaries, before anything touches the database."""
    world = World()
    counters = {kind: 0 for kind in KIND_LETTER}

    def new(kind: str, **kw) -> Record:
        counters[kind] += 1
        record = Record(kind=kind, n=counters[kind], **kw)
        world.records[(kind, record.n)] = record
        for code in FIELD_NAMES[kind]:
            if code != "dt":
                text = record.token(code).lower()
                world.canaries[text] = Canary(text, record, code)
        return record

    partners = []
    for region, _country in REGIONS:
        for level in LEVELS:
            owner = "owner" if region == "Europe" else "owner_asia"
            collaborators = ("collaborator",) if region == "Asia" else ()
            record = new("partner", partner=0, level=level, region=region, owner=owner,
                         collaborators=collaborators)
            record.partner = record.n
            partners.append(record)
    # interactions: per partner confidential newer than restricted newer than standard, so
    # the true "last interaction" is always the most hidden one
    days = iter(interaction_days(now.date(), len(partners) * len(LEVELS)))
    by_day: dict[tuple[int, str], date] = {}
    for level in reversed(LEVELS):
        for p in partners:
            by_day[(p.n, level)] = next(days)
    for p in partners:
        for level in LEVELS:
            new("contact", partner=p.n, level=level)
        for level in LEVELS:
            day = by_day[(p.n, level)]
            record = new("interaction", partner=p.n, level=level,
                         occurred_at=datetime.combine(day, time(10, 0), tzinfo=UTC))
            for fmt in DATE_FORMATS:
                text = day.strftime(fmt)
                world.canaries[text] = Canary(text, record, "dt")
    for p in partners:
        interactions = [r for r in world.of("interaction") if r.partner == p.n]
        # the follow-up's own sensitivity at each level (none from an interaction) ...
        for level in LEVELS:
            new("follow_up", partner=p.n, level=level, assignee="assignee")
        # ... and one from each interaction (standard of its own: the floor raises it)
        for source in interactions:
            new("follow_up", partner=p.n, level="standard", interaction=source.n,
                assignee="demoted")
    # agreements (issue 15): at each level from the partner's up (never below it: the
    # service refuses that), so a restricted agreement sits at a standard partner too
    for p in partners:
        for level in LEVELS:
            if RANK[level] >= RANK[p.level]:
                new("agreement", partner=p.n, level=level)
    return world


# --- the database rows -------------------------------------------------------------------

def build(world: World, now: datetime) -> None:
    """Create the users and records of `world` (needs an app context; commits)."""
    from crm.extensions import db
    from crm.models import FollowUp, ImportJob, Interaction
    from tests.support import factories as f

    users = {}
    for person in PEOPLE:
        users[person.key] = f.make_user(
            role=person.role, region_scope=person.region_scope, name=f"Crawl {person.key}",
            email=f"{person.key}@crawl.example.org", digest_always=True)
        world.user_ids[person.key] = users[person.key].id
    countries = dict(REGIONS)
    partners, contacts = {}, {}
    for record in world.of("partner"):
        t = record.token
        partners[record.n] = f.make_partner(
            users[record.owner], name=f"{t('nm')} Agency", country=countries[record.region],
            sensitivity=record.level, description=f"{t('ds')} what they do",
            website=f"https://{t('ws').lower()}.example.org", email=f"{t('em').lower()}@example.org",
            tags=[t("tg").lower()], collaborators=[users[k] for k in record.collaborators])
        record.db_id = partners[record.n].id
    for record in world.of("contact"):
        t = record.token
        contact = f.make_contact(
            partners[record.partner], name=f"{t('nm')} Person", title=t("ti"),
            email=f"{t('em').lower()}@example.net", phone=t("ph"), notes=f"{t('no')} notes",
            sensitivity=record.level)
        contacts.setdefault(record.partner, []).append(contact)
        record.db_id = contact.id
    interactions = {}
    for record in world.of("interaction"):
        t = record.token
        partner = partners[record.partner]
        owner = users[world.partner(record).owner]
        # every contact of the partner was present: a hidden contact must not be named on
        # a visible interaction
        interaction = f.make_interaction(
            partner, owner, occurred_at=record.occurred_at, sensitivity=record.level,
            summary=f"{t('su')} summary", outcome=f"{t('ou')} outcome",
            contacts=list(contacts[record.partner]), staff=[owner])
        interactions[record.n] = interaction
        record.db_id = interaction.id
    today_noon = datetime.combine(now.date(), time(12, 0), tzinfo=UTC)
    for record in world.of("follow_up"):
        # from an interaction: overdue (team overdue lists, escalations); else due in 2 days
        due = today_noon - timedelta(days=1) if record.interaction else \
            today_noon + timedelta(days=2)
        fu = f.make_follow_up(
            partners[record.partner], users[record.assignee], title=f"{record.token('ti')} task",
            sensitivity=record.level, due_at=due,
            interaction=interactions[record.interaction] if record.interaction else None)
        record.db_id = fu.id
    _build_agreements(world, partners, users, now)
    job = ImportJob(created_by_id=users["admin"].id, filename="partners.csv",
                    content="name,country\nImported Org,FR\n", status="done", total_rows=1)
    db.session.add(job)
    db.session.flush()
    world.import_job_id = job.id
    for person in PEOPLE:
        if person.demoted:
            users[person.key].role = "viewer"
    db.session.commit()
    # the stored floor is what the services keep; the expectation above never reads it
    assert db.session.query(FollowUp).count() == len(world.of("follow_up"))
    assert db.session.query(Interaction).count() == len(world.of("interaction"))


def _build_agreements(world: World, partners: dict, users: dict, now: datetime) -> None:
    """Each agreement of `world` through the service, as its partner's owner: The Code,
    active, with a report received and criterion 1's evidence note (all carrying canaries)."""
    from crm.services import agreements

    for record in world.of("agreement"):
        t = record.token
        owner = users[world.partner(record).owner]
        made = agreements.create(owner, partners[record.partner], {
            "kind": "the_code", "title": f"{t('ti')} Code", "status": "active",
            "signed_on": now.date() - timedelta(days=400), "notes": f"{t('no')} notes",
            "document_ref": f"{t('dr')} file", "sensitivity": record.level,
            "expires_on": now.date() + timedelta(days=400)})
        # received yesterday: never an interaction's canary day (`interaction_days`)
        agreements.record_report(owner, made, {"received_on": now.date() - timedelta(days=1),
                                               "summary": f"{t('rs')} report"})
        agreements.update_criterion(owner, made, 1, "met", f"{t('cn')} evidence")
        record.db_id = made.id
