"""A realistic demo network for `make run` and screenshots (deterministic: seeded RNG)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from crm.extensions import db
from crm.lib import countries, timeutil
from crm.lib.text import name_key
from crm.models import Contact, FollowUp, Interaction, Partner, PartnerTag, StageChange, User
from crm.models.enums import INTERACTION_KINDS
from crm.services.accounts import users

from .access import default_interaction_sensitivity

DEMO_PASSWORD = "partner-crm-demo"
DEMO_USERS = (
    ("admin@example.org", "Amara Okafor", "admin", "Europe/Paris", None),
    ("manager@example.org", "Lucía Fernández", "manager", "America/Bogota", "Americas"),
    ("asia.manager@example.org", "Somchai Prasert", "manager", "Asia/Bangkok", "Asia"),
    ("staff@example.org", "Jonas Weber", "staff", "Europe/Berlin", None),
    ("staff2@example.org", "Grace Wanjiru", "staff", "Africa/Nairobi", None),
    ("viewer@example.org", "Board Observer", "viewer", "Europe/London", None),
)

PARTNERS = (
    ("Royal Thai Police – Anti-Trafficking Division", "law_enforcement", "TH", "active"),
    ("Philippine National Police Women and Children Protection Center", "law_enforcement", "PH",
     "agreement"),
    ("Policía Nacional de Colombia – DIJIN", "law_enforcement", "CO", "dialogue"),
    ("Kenya Police Service – Child Protection Unit", "law_enforcement", "KE", "active"),
    ("Bundeskriminalamt – SO 12", "law_enforcement", "DE", "active"),
    ("Polícia Federal – Crimes Cibernéticos", "law_enforcement", "BR", "prospect"),
    ("SafeNet Technologies", "technology", "US", "active"),
    ("Nordic Hosting Alliance", "technology", "SE", "dialogue"),
    ("Kigali Digital Trust", "technology", "RW", "prospect"),
    ("CloudShield India", "technology", "IN", "agreement"),
    ("Pacific Resorts Group", "travel_tourism", "FJ", "active"),
    ("Andes Travel Association", "travel_tourism", "PE", "dialogue"),
    ("Asociación Mexicana de Hoteles", "travel_tourism", "MX", "active"),
    ("Mekong Tour Operators Network", "travel_tourism", "KH", "dormant"),
    ("Ministry of Social Development – Thailand", "government", "TH", "active"),
    ("Ministère de la Famille – Sénégal", "government", "SN", "dialogue"),
    ("Department of Social Welfare – Nepal", "government", "NP", "agreement"),
    ("UNICEF Regional Office for South Asia", "intergovernmental", "NP", "active"),
    ("UNODC Southeast Asia and the Pacific", "intergovernmental", "TH", "active"),
    ("Council of Europe – Lanzarote Committee", "intergovernmental", "FR", "agreement"),
    ("ECPAT Philippines", "civil_society", "PH", "active"),
    ("ECPAT Guatemala", "civil_society", "GT", "active"),
    ("ECPAT Deutschland", "civil_society", "DE", "active"),
    ("ECPAT Kenya (ANPPCAN)", "civil_society", "KE", "active"),
    ("Fundación Renacer", "civil_society", "CO", "active"),
    ("Défense des Enfants – Sénégal", "civil_society", "SN", "dormant"),
    ("Interfaith Council for Child Dignity", "faith_based", "GB", "dialogue"),
    ("Buddhist Monks Child Protection Network", "faith_based", "KH", "prospect"),
    ("Arigatou International", "faith_based", "JP", "active"),
    ("University of Cape Town – Children's Institute", "academia", "ZA", "active"),
    ("Mahidol University – Institute for Population", "academia", "TH", "dialogue"),
    ("Universidad de los Andes – Derecho", "academia", "CO", "prospect"),
    ("Nation Media Group", "media", "KE", "dialogue"),
    ("Investigative Reporters Asia", "media", "IN", "prospect"),
    ("Oak Foundation", "funder", "CH", "active"),
    ("Fondation pour l'Enfance", "funder", "FR", "agreement"),
    ("Global Fund to End Violence", "funder", "US", "active"),
    ("Visa Europe Payments Integrity", "private_sector", "GB", "dialogue"),
    ("Andean Mining Social Responsibility Office", "private_sector", "PE", "closed"),
    ("Safe Travels Airline Alliance", "private_sector", "AE", "prospect"),
    ("Australian Federal Police – ACCCE", "law_enforcement", "AU", "active"),
    ("Ghana Police Service – DOVVSU", "law_enforcement", "GH", "dialogue"),
)
FIRST = ("Ana", "Ben", "Chen", "Dina", "Emeka", "Fatima", "Gustavo", "Hana", "Ivan", "Joy",
         "Kofi", "Leila", "Mateo", "Nia", "Omar", "Priya", "Quentin", "Rosa", "Sami", "Tara")
LAST = ("Santos", "Okoye", "Nguyen", "Haddad", "Müller", "Kumar", "García", "Mensah",
        "Rossi", "Tanaka", "Silva", "Abebe", "Dubois", "Khan", "Lopez", "Mwangi")
SUMMARIES = (
    "Discussed joint training for investigators on online sexual exploitation cases.",
    "Reviewed the draft memorandum of understanding and data-sharing safeguards.",
    "Planned a side event at the regional child-protection forum.",
    "Presented the latest research findings on travel and tourism risks.",
    "Agreed to co-host a workshop for hotel staff on recognising exploitation.",
    "Follow-up on the hotline referral pathway and reporting statistics.",
    "Introduced the network's member organisations in the region.",
    "Exchanged on the national action plan consultation timeline.",
)
OUTCOMES = (
    "Agreed next steps; draft to be shared within two weeks.",
    "Partner will nominate a focal point.",
    "Positive; awaiting internal approval on their side.",
    "Training dates proposed for next quarter.",
    "No commitment yet; revisit after the budget cycle.",
)
TAGS = ("osec", "hotline", "training", "research", "mou", "tourism-code", "advocacy")


def seed_demo(rng_seed: int = 2026) -> dict[str, int]:
    """Load the demo network unless users already exist. Returns counts of what was made."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return {}
    rng = random.Random(rng_seed)
    now = timeutil.now_utc()
    people = [
        users.create_user(email, name, role, DEMO_PASSWORD, timezone=tz, region_scope=region)
        for email, name, role, tz, region in DEMO_USERS
    ]
    writers = [u for u in people if u.role in ("staff", "manager")]
    partners: list[Partner] = []
    for index, (name, sector, country, stage) in enumerate(PARTNERS):
        owner = writers[index % len(writers)]
        sensitivity = "restricted" if sector == "law_enforcement" else "standard"
        if index in (4, 19):
            sensitivity = "confidential"
        partner = Partner(
            name=name, name_key=name_key(name), sector=sector, country=country,
            region=countries.region_of(country), stage=stage, owner_id=owner.id,
            sensitivity=sensitivity, is_member=name.startswith("ECPAT"),
            website=f"https://www.example.org/{index}",
            description=f"{name} works on child protection in {countries.country_name(country)}.",
            created_at=now - timedelta(days=400 - index),
        )
        partner.tags = [PartnerTag(tag=t) for t in rng.sample(TAGS, rng.randint(0, 3))]
        collaborator = writers[(index + 1) % len(writers)]
        partner.collaborators = [collaborator] if index % 3 == 0 else []
        partners.append(partner)
        db.session.add(partner)
    db.session.flush()
    contacts: dict[int, list[Contact]] = {}
    for partner in partners:
        contacts[partner.id] = []
        for n in range(rng.randint(1, 3)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            contact = Contact(
                partner_id=partner.id, name=f"{first} {last}",
                title=rng.choice(("Director", "Programme Officer", "Inspector", "Head of Unit")),
                email=f"{first}.{last}.{partner.id}.{n}@example.net".lower(),
                phone=f"+1 555 01{partner.id:02d}{n}", language=rng.choice(("en", "fr", "es")),
                sensitivity=partner.sensitivity,
            )
            contacts[partner.id].append(contact)
            db.session.add(contact)
        db.session.add(StageChange(partner_id=partner.id, from_stage=None, to_stage=partner.stage,
                                   changed_by_id=partner.owner_id, changed_at=partner.created_at))
    db.session.flush()
    interactions = 0
    for index, partner in enumerate(partners):
        # dormant partners stop talking to us long ago; others spread over the year
        count = 2 if partner.stage in ("dormant", "closed") else rng.randint(4, 12)
        newest_gap = 200 if partner.stage in ("dormant", "closed") else rng.choice((2, 10, 40, 75))
        latest = None
        for _ in range(count):
            occurred = now - timedelta(days=rng.randint(newest_gap, 365), hours=rng.randint(0, 9))
            interaction = Interaction(
                partner_id=partner.id, kind=rng.choice(INTERACTION_KINDS[:6]),
                occurred_at=occurred, summary=rng.choice(SUMMARIES), outcome=rng.choice(OUTCOMES),
                logged_by_id=partner.owner_id,
                sensitivity=default_interaction_sensitivity(partner),
            )
            interaction.contacts = contacts[partner.id][:1]
            db.session.add(interaction)
            interactions += 1
            latest = max(latest, occurred) if latest else occurred
        partner.last_interaction_at = latest
        # every demo interaction has the partner's default level
        setattr(partner, f"last_{default_interaction_sensitivity(partner)}_interaction_at", latest)
        if index % 2 == 0:
            due = now + timedelta(days=rng.randint(-12, 20))
            db.session.add(FollowUp(
                title=rng.choice(("Send MoU draft", "Share training agenda", "Confirm focal point",
                                  "Send research summary", "Book follow-up meeting")),
                partner_id=partner.id, assignee_id=partner.owner_id,
                created_by_id=partner.owner_id, due_at=due, status="open",
                sensitivity=default_interaction_sensitivity(partner),
            ))
    db.session.flush()
    interactions += _personal_data(rng, partners, contacts, now)
    _agreements(rng, partners, contacts, now)
    db.session.flush()
    return {"users": len(people), "partners": len(partners), "interactions": interactions}


def _personal_data(rng: random.Random, partners: list[Partner],
                   contacts: dict[int, list[Contact]], now) -> int:
    """What the personal-data pages show: lawful bases, a few do-not-contact requests, a
    summary that names a contact (to redact when they ask to be erased) and interactions old
    enough for the retention preview. Returns the number of interactions added."""
    for index, partner in enumerate(partners):
        for n, contact in enumerate(contacts[partner.id]):
            if (index + n) % 4 == 0:
                contact.lawful_basis = "consent"
                contact.lawful_basis_note = "Agreed by email to be kept informed of our work."
                contact.lawful_basis_on = (now - timedelta(days=30 + index * 7)).date()
            else:
                contact.lawful_basis = "legitimate_interests"
            contact.do_not_contact = index % 9 == 4 and n == 0
    added = 0
    recent = now - timedelta(days=20)
    for partner in partners[:6]:
        person = contacts[partner.id][0]
        db.session.add(Interaction(
            partner_id=partner.id, kind="meeting", occurred_at=recent,
            summary=f"Met {person.name} to plan the regional training.",
            outcome="Agreed dates", logged_by_id=partner.owner_id,
            sensitivity=default_interaction_sensitivity(partner), contacts=[person]))
        level = f"last_{default_interaction_sensitivity(partner)}_interaction_at"
        for column in ("last_interaction_at", level):
            if (getattr(partner, column) or recent) <= recent:
                setattr(partner, column, recent)
        for years in (6, 8, 11):
            db.session.add(Interaction(
                partner_id=partner.id, kind=rng.choice(INTERACTION_KINDS[:6]),
                occurred_at=now - timedelta(days=365 * years + rng.randint(10, 300)),
                summary=rng.choice(SUMMARIES), outcome=rng.choice(OUTCOMES),
                logged_by_id=partner.owner_id,
                sensitivity=default_interaction_sensitivity(partner), contacts=[person]))
        added += 4
    return added


def _agreements(rng: random.Random, partners: list[Partner],
                contacts: dict[int, list[Contact]], now) -> None:
    """Agreements (issue 15), made through crm.services.agreements as each partner's owner:
    MoUs with police units (restricted), The Code with travel companies in four countries
    with criteria at different stages, a data-sharing, a funding and a letter of intent, one
    MoU renewed, one terminated, an MoU expiring within 30 days and a Code report overdue."""
    from . import agreements

    today = now.date()
    by_name = {p.name: p for p in partners}

    def add(name: str, data: dict, signed_days_ago: int | None = None,
            expires_in_days: int | None = None):
        partner = by_name[name]
        owner = db.session.get(User, partner.owner_id)
        fields = dict(data)
        if signed_days_ago is not None:
            fields.setdefault("signed_on", today - timedelta(days=signed_days_ago))
            fields.setdefault("starts_on", fields["signed_on"] + timedelta(days=14))
        if expires_in_days is not None:
            fields["expires_on"] = today + timedelta(days=expires_in_days)
        fields.setdefault("contact_ids", [c.id for c in contacts[partner.id][:1]])
        fields.setdefault("staff_ids", [owner.id])
        return owner, agreements.create(owner, partner, fields)

    mou = "Memorandum of understanding on cooperation against the sexual exploitation of children"
    # police units: restricted by default (law enforcement); one expiring within 30 days
    owner, thai = add("Royal Thai Police – Anti-Trafficking Division",
                      {"kind": "mou", "title": mou, "status": "active",
                       "reporting_every_months": 6}, 1100, -5)
    agreements.record_report(owner, thai, {"received_on": today - timedelta(days=200),
                                           "summary": "Joint operations and referrals, H1."})
    agreements.renew(owner, thai, {"signed_on": today - timedelta(days=20),
                                   "starts_on": today - timedelta(days=5),
                                   "expires_on": today + timedelta(days=3 * 365),
                                   "document_ref": "MoU-RTP-2026.pdf"})
    add("Kenya Police Service – Child Protection Unit",
        {"kind": "mou", "title": mou, "status": "active", "reporting_every_months": 12,
         "document_ref": "https://www.example.org/mou/kenya-cpu"}, 700, 21)
    add("Australian Federal Police – ACCCE",
        {"kind": "mou", "title": "Data-exchange MoU with the ACCCE", "status": "signed"},
        60, 2 * 365)
    add("Philippine National Police Women and Children Protection Center",
        {"kind": "mou", "title": mou, "status": "negotiation", "signed_on": None}, None)
    add("Bundeskriminalamt – SO 12",
        {"kind": "data_sharing", "title": "Hash-list sharing agreement", "status": "active"},
        400, 330)
    # The Code: members in Fiji, Mexico, Peru and Cambodia, criteria at different stages
    stages = {
        "Pacific Resorts Group": ["met"] * 6,
        "Asociación Mexicana de Hoteles": ["met", "met", "met", "in_progress", "in_progress",
                                           "not_started"],
        "Andes Travel Association": ["met", "in_progress"] + ["not_started"] * 4,
        "Mekong Tour Operators Network": ["in_progress"] + ["not_started"] * 5,
    }
    evidence = ("Policy adopted by the board", "E-learning for all front-office staff",
                "Clause in supplier contracts", "Leaflets in every room and on the website",
                "Joint work with the local hotline", "Annual report published")
    for index, (name, statuses) in enumerate(stages.items()):
        signed = (900, 500, 250, 950)[index]
        owner, code = add(name, {"kind": "the_code", "title": "The Code membership",
                                 "status": "active"}, signed, None)
        if name != "Mekong Tour Operators Network":  # Mekong's annual report is overdue
            agreements.record_report(owner, code, {
                "received_on": today - timedelta(days=rng.randint(20, 120)),
                "link": f"https://www.example.org/code-report/{index}",
                "summary": "Annual report on the implementation of the six criteria."})
        for number, status in enumerate(statuses, start=1):
            if status != "not_started":
                agreements.update_criterion(owner, code, number, status,
                                            evidence[number - 1] if status == "met" else None)
    add("Safe Travels Airline Alliance",
        {"kind": "the_code", "title": "Joining The Code", "status": "draft"}, None)
    # other kinds; one terminated
    add("Oak Foundation", {"kind": "funding", "title": "Grant for the regional hotline",
                           "status": "active", "reporting_every_months": 6}, 300, 430)
    add("Ministry of Social Development – Thailand",
        {"kind": "letter_of_intent", "title": "Letter of intent on a national action plan",
         "status": "signed"}, 90, None)
    owner, ended = add("SafeNet Technologies",
                       {"kind": "data_sharing", "title": "Referral data-sharing pilot",
                        "status": "active"}, 500, 200)
    agreements.terminate(owner, ended, "The pilot ended early: the platform was sold.",
                         today - timedelta(days=30))
