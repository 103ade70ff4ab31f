"""Partners: the list query (web, exports, API) and create / update / archive.

Every write is validated here, not in the form, so the web, the API and imports obey
the same rules; only the keys listed in `FIELDS` are ever read from `data` (no mass
assignment). On ValidationError the caller rolls back (most checks run before anything
is touched; the "you would lose access" check needs the flushed row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, select
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.lib import countries, safetext, timeutil
from crm.lib.text import like_escape, name_key
from crm.models import Partner, PartnerTag, StageChange, User, partner_collaborators
from crm.models.enums import HEALTH_STATES, SECTORS, STAGES, label
from crm.services import access, audit, engagement, records

from .errors import ValidationError
from .validation import (
    check_sensitivity,
    clean_email,
    clean_text,
    clean_url,
    collect,
    parse_id,
    parse_ids,
)

#: the keys create/update read from `data`; anything else is ignored
FIELDS = ("name", "sector", "country", "stage", "owner_id", "sensitivity", "website", "email",
          "description", "is_member", "tags", "collaborator_ids")
REQUIRED = ("name", "sector", "country")
#: sortable columns; "-" sorts descending; ties are broken by name (then id)
SORT_COLUMNS = ("name", "sector", "country", "stage", "owner", "last_interaction")
SORTS = tuple(s for column in SORT_COLUMNS for s in (column, f"-{column}"))
NAME_MAX = 200
#: words of a name search that are matched (the rest of a very long query is ignored)
SEARCH_WORDS_MAX = 10
DESCRIPTION_MAX = 10_000
TAG_MAX = 50
TAGS_MAX = 20
_TAG_OK = re.compile(r"^[\w][\w .&+/-]*$")


# --- the list query -------------------------------------------------------------------

def clean_filters(filters: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split query-string filters into (valid, errors). Blank values mean "no filter"."""
    valid: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in ("q", "sector", "country", "region", "stage", "owner_id", "tag", "member",
                "health", "archived", "sort"):
        raw = filters.get(key)
        value = (raw or "").strip() if isinstance(raw, str) else ("" if raw is None else str(raw))
        if not value:
            continue
        problem = _filter_problem(key, value)
        if problem:
            errors[key] = problem
        else:
            valid[key] = value.upper() if key == "country" else value
    return valid, errors


def _filter_problem(key: str, value: str) -> str | None:
    checks = {
        "q": lambda v: len(v) <= NAME_MAX,
        "sector": lambda v: v in SECTORS,
        "country": countries.is_country,
        "region": lambda v: v in countries.regions() or v == "Other",
        "stage": lambda v: v in STAGES,
        "owner_id": lambda v: v.isascii() and v.isdigit() and safetext.is_id(int(v)),
        "tag": lambda v: len(v) <= TAG_MAX,
        "member": lambda v: v in ("0", "1"),
        "health": lambda v: v in HEALTH_STATES,
        "archived": lambda v: v in ("0", "1"),
        "sort": lambda v: v in SORTS,
    }
    return None if checks[key](value) else f"unknown {key.replace('_', ' ')} {value!r}"


def partner_query(user: User, filters: Mapping[str, str], *, now: datetime | None = None,
                  thresholds: engagement.Thresholds = engagement.DEFAULT) -> Select:
    """select(Partner) visible to `user`, filtered and sorted as the query string asks.

    Blank values are ignored; an invalid value raises ValidationError({key: message})
    (the API answers 400; the web page uses `clean_filters` to show the message and
    drop the bad filter). Archived partners are excluded unless archived=1 (only them).
    """
    valid, errors = clean_filters(filters)
    if errors:
        raise ValidationError(errors)
    stmt = access.visible_partners(user, select(Partner))
    if "q" in valid:
        stmt = stmt.where(*name_matches(valid["q"]))
    for column in ("sector", "country", "region", "stage"):
        if column in valid:
            stmt = stmt.where(getattr(Partner, column) == valid[column])
    if "owner_id" in valid:
        stmt = stmt.where(Partner.owner_id == int(valid["owner_id"]))
    if "tag" in valid:
        stmt = stmt.where(exists().where(PartnerTag.partner_id == Partner.id,
                                         PartnerTag.tag == normalise_tag(valid["tag"])))
    if "member" in valid:
        stmt = stmt.where(Partner.is_member.is_(valid["member"] == "1"))
    # health and "last interaction" count only what this reader may see
    last_seen = access.last_interaction_seen(user)
    if "health" in valid:
        stmt = stmt.where(engagement.health_clause(valid["health"], now, thresholds,
                                                   last=last_seen))
    stmt = stmt.where(Partner.archived.is_(valid.get("archived") == "1"))
    return stmt.order_by(*_order(valid.get("sort", "name"), last_seen))


def name_matches(q: str) -> list[ColumnElement[bool]]:
    """One condition per word of `q`: each must occur in the name (`name_key`), in any order,
    as a word, a prefix or any part of one, accents and case ignored ("Mexicana Hoteles" and
    "hot méxic" both find "Hoteles Mexicana del Pacífico"). LIKE wildcards in `q` match
    themselves (`like_escape`)."""
    words = list(dict.fromkeys(name_key(q).split()))[:SEARCH_WORDS_MAX]
    return [Partner.name_key.like(f"%{like_escape(w)}%", escape="\\") for w in words]


def tag_suggestions(user: User, q: str, limit: int = 20) -> list[str]:
    """Tags on partners `user` may see that contain `q` (the tag filter's autocomplete):
    names can come from confidential partners, so they are scoped like every list."""
    key = normalise_tag(q)[:64]
    if not key:
        return []
    stmt = access.visible_partners(
        user, select(PartnerTag.tag).join(Partner, Partner.id == PartnerTag.partner_id)
    ).where(PartnerTag.tag.like(f"%{like_escape(key)}%", escape="\\"))
    return list(db.session.scalars(stmt.distinct().order_by(PartnerTag.tag).limit(limit)))


def _order(sort: str, last_seen: Any) -> list:
    """ORDER BY for a sort value: the column, then name and id so pages are stable.

    Sector and country sort by what the page shows (label, country name, accents ignored),
    through a CASE over the known codes; owner by the owner's name, partners without one last.
    """
    column, descending = sort.lstrip("-"), sort.startswith("-")
    if column == "name":
        key = Partner.name_key
    elif column == "last_interaction":
        # never-contacted partners count as the longest silence
        return [last_seen.desc().nulls_last() if descending else last_seen.asc().nulls_first(),
                Partner.name_key.asc(), Partner.id.asc()]
    elif column == "stage":
        key = case({s: i for i, s in enumerate(STAGES)}, value=Partner.stage)
    elif column == "sector":
        ranked = sorted(SECTORS, key=lambda s: name_key(label(s)))
        key = case({s: i for i, s in enumerate(ranked)}, value=Partner.sector)
    elif column == "country":
        key = case(countries.name_rank(), value=Partner.country)
    else:  # owner
        key = select(func.lower(User.name)).where(User.id == Partner.owner_id) \
            .correlate(Partner).scalar_subquery()
        key_order = key.desc().nulls_last() if descending else key.asc().nulls_last()
        return [key_order, Partner.name_key.asc(), Partner.id.asc()]
    first = key.desc() if descending else key.asc()
    secondary = [] if column == "name" else [Partner.name_key.asc()]
    return [first, *secondary, Partner.id.asc()]


# --- validation -------------------------------------------------------------------------

def normalise_tag(tag: str) -> str:
    return " ".join((tag or "").split()).lower()


def _writers(ids: Iterable[int]) -> dict[int, User]:
    """Active users who can write, by id (owners and collaborators must be such users)."""
    ids = set(ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True),
                                                 User.role != "viewer"))
    return {u.id: u for u in rows}


def _validate(data: Mapping[str, Any], partial: bool) -> tuple[dict[str, Any], dict[str, User]]:
    """Checked values for the keys present in `data` (all of REQUIRED unless `partial`)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    present = [k for k in FIELDS if k in data]
    if not partial:
        present = list(dict.fromkeys([*REQUIRED, *present]))
    for key in present:
        value = data.get(key)
        if key == "name":
            out[key] = clean_text(value, NAME_MAX, key, errors, required=True)
        elif key == "sector":
            if value not in SECTORS:
                errors[key] = "Choose a sector from the list."
            out[key] = value
        elif key == "stage":
            if value not in STAGES:
                errors[key] = "Choose a stage from the list."
            out[key] = value
        elif key == "sensitivity":
            collect(errors, check_sensitivity, value, key)
            out[key] = value
        elif key == "country":
            code = str(value or "").strip().upper()
            if not countries.is_country(code):
                errors[key] = "Choose a country from the list." if code else \
                    "This field is required."
            out[key] = code
        elif key == "website":
            out[key] = clean_url(value, errors)
        elif key == "email":
            out[key] = clean_email(value, errors)
        elif key == "description":
            out[key] = clean_text(value, DESCRIPTION_MAX, key, errors)
        elif key == "is_member":
            out[key] = bool(value) and value not in ("0", "false", "False")
        elif key == "tags":
            out[key] = _clean_tags(value, errors)
        elif key == "owner_id":
            out[key] = collect(errors, parse_id, value, key, "Choose an owner from the list.")
        elif key == "collaborator_ids":
            out[key] = collect(errors, parse_ids, value, key,
                               "Choose collaborators from the list.") or []
    wanted = [out.get("owner_id")] + list(out.get("collaborator_ids") or [])
    users = _writers(i for i in wanted if i is not None)
    if out.get("owner_id") is not None and out["owner_id"] not in users:
        errors["owner_id"] = "The owner must be an active user who can edit records."
    if any(i not in users for i in out.get("collaborator_ids") or []):
        errors["collaborator_ids"] = "Collaborators must be active users who can edit records."
    if errors:
        raise ValidationError(errors)
    return out, users


def validation_errors(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, str]:
    """The field messages `create_partner` (or, `partial`, `update_partner`) would raise for
    `data`, without touching anything: a form whose own checks failed still shows every
    problem in one round instead of the service's only after the next submit."""
    try:
        _validate(data, partial)
    except ValidationError as exc:
        return dict(exc.fields)
    return {}


def _clean_tags(value: Any, errors: dict[str, str]) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    tags = sorted({normalise_tag(str(t)) for t in (value or []) if normalise_tag(str(t))})
    if len(tags) > TAGS_MAX:
        errors["tags"] = f"At most {TAGS_MAX} tags."
    elif any(len(t) > TAG_MAX for t in tags):
        errors["tags"] = f"Each tag has at most {TAG_MAX} characters."
    elif any(not _TAG_OK.match(t) for t in tags):
        errors["tags"] = "Tags use letters, digits, spaces and . & + / - only."
    return tags


# --- writes -------------------------------------------------------------------------------

def snapshot(partner: Partner) -> dict[str, Any]:
    """The audited fields of a partner (needs tags and collaborators loaded or new)."""
    return {
        "name": partner.name, "sector": partner.sector, "country": partner.country,
        "region": partner.region, "stage": partner.stage, "owner_id": partner.owner_id,
        "sensitivity": partner.sensitivity, "website": partner.website, "email": partner.email,
        "description": partner.description, "is_member": bool(partner.is_member),
        "tags": sorted(t.tag for t in partner.tags),
        "collaborator_ids": sorted(u.id for u in partner.collaborators),
        "archived": bool(partner.archived),
    }


def _apply(partner: Partner, values: dict[str, Any], users: dict[int, User]) -> None:
    for key in ("name", "sector", "stage", "owner_id", "sensitivity", "website", "email",
                "description", "is_member"):
        if key in values:
            setattr(partner, key, values[key])
    if "name" in values:
        partner.name_key = name_key(values["name"])
    if "country" in values:
        partner.country = values["country"]
        partner.region = countries.region_of(values["country"])
    if "tags" in values:
        current = {t.tag: t for t in partner.tags}
        partner.tags = [current.get(t) or PartnerTag(tag=t) for t in values["tags"]]
    if "collaborator_ids" in values:
        partner.collaborators = [users[i] for i in values["collaborator_ids"]]


def _ensure_still_visible(actor: User, partner: Partner) -> None:
    """Refuse a change that would hide the record from the person making it."""
    db.session.flush()
    if not access.can_see_partner(actor, partner.id):
        raise ValidationError({
            "sensitivity": "With this owner and sensitivity you could no longer see this "
                           "partner; keep yourself as owner or choose a lower sensitivity.",
        })


def create_partner(actor: User, data: dict) -> Partner:
    """Validate and add a partner (owner defaults to the actor); audit; flush."""
    access.ensure_can_write(actor)
    data = dict(data)
    if data.get("owner_id") in (None, ""):
        data["owner_id"] = actor.id
    values, users = _validate(data, partial=False)
    values.setdefault("stage", "prospect")
    values.setdefault("sensitivity", "standard")
    partner = Partner(tags=[], collaborators=[], is_member=False, archived=False, version=1)
    _apply(partner, values, users)
    db.session.add(partner)
    _ensure_still_visible(actor, partner)
    db.session.add(StageChange(partner_id=partner.id, from_stage=None, to_stage=partner.stage,
                               changed_by_id=actor.id, changed_at=timeutil.now_utc()))
    audit.record("partner.create", actor=actor, object_type="partner", object_id=partner.id,
                 changes=audit.diff({}, snapshot(partner)))
    return partner


def _load_collections(partner: Partner) -> None:
    """Tags and collaborators are lazy='raise': load them for the diff if the caller did not."""
    unloaded = db.inspect(partner).unloaded
    if "tags" in unloaded:
        tags = db.session.scalars(select(PartnerTag).where(PartnerTag.partner_id == partner.id))
        set_committed_value(partner, "tags", list(tags))
    if "collaborators" in unloaded:
        ids = select(partner_collaborators.c.user_id).where(
            partner_collaborators.c.partner_id == partner.id)
        set_committed_value(partner, "collaborators",
                            list(db.session.scalars(select(User).where(User.id.in_(ids)))))


def update_partner(actor: User, partner: Partner, data: dict) -> Partner:
    """Change the keys present in `data`; record stage changes; bump version; audit old→new.

    A call that changes nothing leaves `version` alone (so an ETag stays valid).
    """
    access.ensure_can_write(actor)
    values, users = _validate(data, partial=True)
    _load_collections(partner)
    may_widen = access.may_widen_access(actor, partner)

    def refuse_widening(changes: Mapping[str, list]) -> None:
        if not may_widen and _widens_access(changes):
            raise access.Forbidden("Partner", message=access.WIDEN_REFUSED)

    def visibility_and_stage(changes: Mapping[str, list]) -> None:
        if "owner_id" in changes or "sensitivity" in changes \
                or "collaborator_ids" in changes or "region" in changes:
            _ensure_still_visible(actor, partner)
        if "stage" in changes:
            db.session.add(StageChange(partner_id=partner.id, from_stage=changes["stage"][0],
                                       to_stage=partner.stage, changed_by_id=actor.id,
                                       changed_at=timeutil.now_utc()))

    records.update_audited(actor, partner, "partner.update", object_type="partner",
                           snapshot=lambda: snapshot(partner),
                           apply=lambda: _apply(partner, values, users),
                           guard=refuse_widening, effects=visibility_and_stage,
                           sensitivity_event=True)
    return partner


def _widens_access(changes: Mapping[str, list]) -> bool:
    """Owner, collaborators or a lower sensitivity: changes that decide who sees a partner."""
    if "owner_id" in changes or "collaborator_ids" in changes:
        return True
    if "sensitivity" in changes:
        old, new = changes["sensitivity"]
        return not access.at_least(new, old)
    return False


def archive_partner(actor: User, partner: Partner) -> None:
    """Hide from default lists; history stays. Archiving twice changes nothing."""
    _set_archived(actor, partner, True)


def unarchive_partner(actor: User, partner: Partner) -> None:
    _set_archived(actor, partner, False)


def _set_archived(actor: User, partner: Partner, archived: bool) -> None:
    access.ensure_can_write(actor)
    records.update_audited(actor, partner, "partner.archive" if archived else "partner.unarchive",
                           object_type="partner",
                           snapshot=lambda: {"archived": bool(partner.archived)},
                           apply=lambda: setattr(partner, "archived", archived))


def find_duplicates(name: str, country: str, exclude_id: int | None = None, *,
                    user: User | None = None) -> list[Partner]:
    """Partners with the same name (case/accent-insensitive) in the same country.

    Pass `user` to keep only those the user may see (the web warning must not reveal
    a confidential partner's existence).
    """
    key = name_key(name)
    if not key or not country:
        return []
    stmt = select(Partner).where(Partner.name_key == key, Partner.country == country.upper())
    if exclude_id is not None:
        stmt = stmt.where(Partner.id != exclude_id)
    if user is not None:
        stmt = access.visible_partners(user, stmt)
    return list(db.session.scalars(stmt.order_by(Partner.id)))


def owner_choices() -> list[User]:
    """Active users who may own or collaborate on a partner, by name."""
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), User.role != "viewer").order_by(
            func.lower(User.name))))
