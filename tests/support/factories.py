"""Small factories: plain functions with sensible defaults (they flush, tests commit)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from crm.extensions import db
from crm.lib import countries, passwords, timeutil
from crm.lib.text import name_key
from crm.models import Contact, FollowUp, Interaction, Partner, PartnerTag, User
from crm.services import access

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)
#: hashing with argon2 is slow on purpose; tests share one hash
_HASH: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    if password not in _HASH:
        _HASH[password] = passwords.hash_password(password)
    return _HASH[password]


def make_user(role: str = "staff", **kw) -> User:
    n = next(_seq)
    user = User(
        email=kw.pop("email", f"user{n}@example.org"),
        name=kw.pop("name", f"User {n}"),
        role=role,
        timezone=kw.pop("timezone", "UTC"),
        password_hash=password_hash(kw.pop("password", PASSWORD)),
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_partner(owner: User | None = None, **kw) -> Partner:
    n = next(_seq)
    name = kw.pop("name", f"Partner {n}")
    country = kw.pop("country", "TH")
    tags = kw.pop("tags", [])
    collaborators = kw.pop("collaborators", [])
    if "last_interaction_at" in kw:  # a standard meeting, unless the test says otherwise
        kw.setdefault("last_standard_interaction_at", kw["last_interaction_at"])
    partner = Partner(
        name=name, name_key=name_key(name), country=country,
        region=kw.pop("region", countries.region_of(country)),
        sector=kw.pop("sector", "civil_society"), stage=kw.pop("stage", "active"),
        sensitivity=kw.pop("sensitivity", "standard"),
        owner_id=owner.id if owner else kw.pop("owner_id", None), **kw,
    )
    partner.tags = [PartnerTag(tag=t) for t in tags]
    partner.collaborators = list(collaborators)
    db.session.add(partner)
    db.session.flush()
    return partner


def make_contact(partner: Partner, **kw) -> Contact:
    n = next(_seq)
    contact = Contact(partner_id=partner.id, name=kw.pop("name", f"Contact {n}"),
                      email=kw.pop("email", f"contact{n}@example.net"),
                      sensitivity=kw.pop("sensitivity", partner.sensitivity), **kw)
    db.session.add(contact)
    db.session.flush()
    return contact


def make_interaction(partner: Partner, logged_by: User | None = None, **kw) -> Interaction:
    occurred = kw.pop("occurred_at", timeutil.now_utc() - timedelta(days=1))
    interaction = Interaction(
        partner_id=partner.id, kind=kw.pop("kind", "meeting"), occurred_at=occurred,
        summary=kw.pop("summary", "Discussed next steps"), outcome=kw.pop("outcome", None),
        logged_by_id=logged_by.id if logged_by else None,
        sensitivity=kw.pop("sensitivity", partner.sensitivity), **kw,
    )
    db.session.add(interaction)
    for name in ("last_interaction_at", f"last_{interaction.sensitivity}_interaction_at"):
        current = getattr(partner, name)
        if current is None or occurred > current:
            setattr(partner, name, occurred)
    db.session.flush()
    return interaction


def make_follow_up(partner: Partner, assignee: User | None, **kw) -> FollowUp:
    interaction = kw.pop("interaction", None)
    if interaction is not None:
        kw["interaction_id"] = interaction.id
    elif kw.get("interaction_id"):
        interaction = db.session.get(Interaction, kw["interaction_id"])
    kw["sensitivity"] = access.strictest(
        partner.sensitivity, interaction.sensitivity if interaction else None,
        kw.get("sensitivity"))
    follow_up = FollowUp(
        title=kw.pop("title", "Send the draft"), partner_id=partner.id,
        assignee_id=assignee.id if assignee else None,
        due_at=kw.pop("due_at", timeutil.now_utc() + timedelta(days=1)),
        status=kw.pop("status", "open"), **kw,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def set_last_interaction(partner: Partner, when, sensitivity: str = "standard") -> None:
    """Pretend the partner's latest interaction was at `when` (one of `sensitivity`, and
    none of the other levels)."""
    partner.last_interaction_at = when
    for level in ("standard", "restricted", "confidential"):
        setattr(partner, f"last_{level}_interaction_at", when if level == sensitivity else None)
