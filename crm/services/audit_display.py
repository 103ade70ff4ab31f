"""How the audit trail reads on /admin/audit: names instead of ids, labelled field changes,
links to the records.

A record is named only when the reader may see it (through `crm.services.access`, the one
visibility rule; an admin sees every record, but the rule is not repeated here); otherwise it
stays "Partner #45". Names are loaded in one statement for the whole page, never per row.
What is stored is not changed: this module only formats it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, cast, literal, null, select, union_all

from crm.extensions import db
from crm.lib import countries, timeutil
from crm.models import AuditEvent, Contact, FollowUp, Interaction, Partner, User
from crm.models._types import UTCDateTime
from crm.models.enums import label

from . import access, audit

#: longest value shown in full; longer ones are cut (the whole text is kept for a tooltip)
SHORT = 80
#: object types whose records have a name to look up, and what a reader calls them
RECORD_KINDS = {"partner": "Partner", "contact": "Contact", "interaction": "Interaction",
                "follow_up": "Follow-up", "user": "User"}
#: object types without a lookup
OTHER_KINDS = {"api_token": "API token", "delivery": "Email delivery",
               "import_job": "Import", "import_results": "Import results",
               "site_setting": "Site setting", "partners": "Partners export",
               "contacts": "Contacts export", "interactions": "Interactions export"}
FIELD_LABELS = {
    "owner_id": "Owner", "assignee_id": "Assignee", "logged_by_id": "Logged by",
    "collaborator_ids": "Collaborators", "staff_ids": "Staff present",
    "contact_ids": "Contacts present", "interaction_id": "From interaction",
    "partner_id": "Partner", "is_member": "Member organisation", "due_at": "Due",
    "occurred_at": "When", "snoozed_until": "Snoozed until", "completed_at": "Completed",
    "region_scope": "Region scope", "timezone": "Time zone", "last_error": "Last error",
    "ids": "Deliveries", "totp_enabled": "Two-factor sign-in",
}
#: fields whose values are ids of another kind of record
_REFERENCES = {"owner_id": "user", "assignee_id": "user", "logged_by_id": "user",
               "collaborator_ids": "user", "staff_ids": "user", "contact_ids": "contact",
               "interaction_id": "interaction", "partner_id": "partner"}
#: fields whose values are enumeration codes
_CODES = frozenset({"sector", "stage", "sensitivity", "kind", "status", "role", "outcome",
                    "frequency", "health"})
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Link:
    """Where a name leads: an endpoint and its arguments (the template builds the URL)."""

    endpoint: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """The record an event is about, as the reader may know it."""

    kind: str
    #: the record's name, or None when the reader may not see it (or it is gone)
    name: str | None = None
    #: "#45" when there is an id
    ref: str = ""
    link: Link | None = None

    @property
    def text(self) -> str:
        return self.name or " ".join(p for p in (self.kind, self.ref) if p)


@dataclass(frozen=True)
class Value:
    #: None: empty
    text: str | None
    #: the whole text when `text` was shortened
    full: str | None = None


@dataclass(frozen=True)
class Change:
    label: str
    old: Value
    new: Value


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    target: Target | None
    changes: list[Change]
    details: list[tuple[str, Value]]

    @property
    def creation(self) -> bool:
        """A record's first values: shown without "empty →"."""
        return self.event.action.endswith(".create")


@dataclass
class _Names:
    """id → (name, link) per kind, loaded once per page."""

    found: dict[str, dict[int, tuple[str, Link | None]]] = field(
        default_factory=lambda: defaultdict(dict))

    def name(self, kind: str, record_id: Any) -> str | None:
        hit = self.found[kind].get(_int(record_id))
        return hit[0] if hit else None

    def link(self, kind: str, record_id: Any) -> Link | None:
        hit = self.found[kind].get(_int(record_id))
        return hit[1] if hit else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _ids_in(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple) else [value]
    return [i for i in (_int(v) for v in values) if i is not None]


def _wanted(events: Iterable[AuditEvent]) -> dict[str, set[int]]:
    """Every record id the page mentions, by kind: targets, referenced fields, details."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_type in RECORD_KINDS and _int(event.object_id) is not None:
            wanted[event.object_type].add(_int(event.object_id))
        for key, pair in (event.changes or {}).items():
            if key in _REFERENCES and isinstance(pair, list | tuple):
                for side in pair:
                    wanted[_REFERENCES[key]].update(_ids_in(side))
        for key, value in (event.details or {}).items():
            if key in _REFERENCES:
                wanted[_REFERENCES[key]].update(_ids_in(value))
    return wanted


def _load(viewer: User, wanted: Mapping[str, set[int]]) -> _Names:
    """The names of every record the page mentions in ONE statement (a UNION ALL with a
    branch per kind), each branch scoped by `access`: no name for what the reader may not
    see."""
    names = _Names()
    as_int, as_text = cast(null(), Integer), cast(null(), String)
    as_time = cast(null(), UTCDateTime)
    # columns: kind, id, name, partner id, partner name, when
    branches = {
        "partner": lambda: access.visible_partners(viewer, select(
            literal("partner"), Partner.id, Partner.name, Partner.id, as_text, as_time)),
        "contact": lambda: access.visible_contacts(viewer, select(
            literal("contact"), Contact.id, Contact.name, Contact.partner_id, Partner.name,
            as_time)),
        "interaction": lambda: access.visible_interactions(viewer, select(
            literal("interaction"), Interaction.id, Interaction.kind, Interaction.partner_id,
            Partner.name, Interaction.occurred_at)),
        "follow_up": lambda: access.visible_follow_ups(viewer, select(
            literal("follow_up"), FollowUp.id, FollowUp.title, FollowUp.partner_id,
            Partner.name, as_time)),
        # people's names are known to every signed-in user (the people picker)
        "user": lambda: select(literal("user"), User.id, User.name, as_int, as_text, as_time),
    }
    ids_of = {"partner": Partner.id, "contact": Contact.id, "interaction": Interaction.id,
              "follow_up": FollowUp.id, "user": User.id}
    parts = [branches[kind]().where(ids_of[kind].in_(sorted(wanted[kind])))
             for kind in branches if wanted.get(kind)]
    if not parts:
        return names
    tz = viewer.timezone
    for kind, rid, name, pid, partner, at in db.session.execute(union_all(*parts)):
        if kind == "partner":
            found = (name, Link("partners.show", {"partner_id": rid}))
        elif kind == "contact":
            found = (f"{name} ({partner})", Link("contacts.show", {"contact_id": rid}))
        elif kind == "interaction":
            when = timeutil.to_local(at, tz).strftime("%d %b %Y")
            found = (f"{label(name)} with {partner}, {when}",
                     Link("partners.show", {"partner_id": pid, "_anchor": f"interaction-{rid}"}))
        elif kind == "follow_up":
            found = (f"{name} ({partner})",
                     Link("partners.show", {"partner_id": pid, "_anchor": "followups-heading"}))
        else:
            found = (name, Link("admin.users_edit", {"user_id": rid}))
        names.found[kind][rid] = found
    return names


def _target(event: AuditEvent, names: _Names, report_titles: Mapping[str, str]) -> Target | None:
    kind, raw_id = event.object_type, event.object_id
    if not kind:
        return None
    ref = f"#{raw_id}" if raw_id not in (None, "", "None") else ""
    if kind in RECORD_KINDS:
        return Target(RECORD_KINDS[kind], names.name(kind, raw_id), ref,
                      names.link(kind, raw_id))
    if kind.startswith("report:"):
        report = kind.split(":", 1)[1]
        filters = {k: v for k, v in ((event.details or {}).get("filters") or {}).items()
                   if isinstance(k, str) and isinstance(v, str) and k != "report"
                   and not k.startswith("_")}
        title = report_titles.get(report) or report.replace("_", " ").capitalize()
        return Target(f"{title} report", None, "",
                      Link("reports.index", {"report": report, **filters})
                      if report in report_titles else None)
    link = None
    if kind in ("import_job", "import_results") and _int(raw_id) is not None:
        link = Link("admin.import_job", {"job_id": _int(raw_id)})
    elif kind == "delivery" and _int(raw_id) is not None:
        link = Link("admin.deliveries", {"_anchor": f"delivery-{raw_id}"})
    return Target(OTHER_KINDS.get(kind) or kind.replace("_", " ").capitalize(), None, ref, link)


def field_label(key: str) -> str:
    """owner_id → "Owner"; is_member → "Member organisation"; new_field → "New field"."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    return re.sub(r"_ids?$", "", key).replace("_", " ").capitalize()


def _moment(text: str, tz: str) -> str | None:
    if _DATE.match(text):
        return datetime.fromisoformat(text).strftime("%d %b %Y")
    if not _DATETIME.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timeutil.to_local(moment, tz).strftime("%d %b %Y %H:%M")


def _text(key: str, value: Any, names: _Names, tz: str) -> str | None:
    """One stored value as a reader says it; None when empty."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, list | tuple):
        parts = [_text(key, v, names, tz) for v in value]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, dict):
        return ", ".join(f"{field_label(str(k))}: {_text(str(k), v, names, tz) or '—'}"
                         for k, v in value.items()) or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in _REFERENCES and _int(value) is not None:
        kind = _REFERENCES[key]
        return names.name(kind, value) or f"{RECORD_KINDS[kind]} #{value}"
    if isinstance(value, str):
        if key == "country" and len(value) == 2:
            return f"{countries.country_name(value)} ({value})"
        if key in _CODES:
            return label(value)
        return _moment(value, tz) or value
    return str(value)


def _value(key: str, value: Any, names: _Names, tz: str) -> Value:
    text = _text(key, value, names, tz)
    if text is not None and len(text) > SHORT:
        return Value(text[:SHORT - 1].rstrip() + "…", text)
    return Value(text)


#: what a scrubbed personal value reads as
ERASED = "(erased)"


def _personal(value: Any, personal: Mapping[str, str | None]) -> Any:
    """References to personal values (at any depth) as the values themselves, or ERASED once
    scrubbed."""
    if audit.is_ref(value):
        found = personal.get(value[audit.REF])
        return ERASED if found is None else found
    if isinstance(value, dict):
        return {k: _personal(v, personal) for k, v in value.items()}
    if isinstance(value, list):
        return [_personal(v, personal) for v in value]
    return value


def present(viewer: User, events: list[AuditEvent],
            report_titles: Mapping[str, str] | None = None) -> list[Row]:
    """The page's events as rows a person reads; a fixed number of statements per page."""
    names = _load(viewer, _wanted(events))
    personal = audit.resolve(events)
    tz = viewer.timezone
    rows = []
    for event in events:
        changes = [Change(field_label(key), _value(key, _personal(pair[0], personal), names, tz),
                          _value(key, _personal(pair[1], personal), names, tz))
                   for key, pair in (event.changes or {}).items()
                   if isinstance(pair, list | tuple) and len(pair) == 2]
        details = [(field_label(key), _value(key, _personal(value, personal), names, tz))
                   for key, value in (event.details or {}).items()]
        rows.append(Row(event, _target(event, names, report_titles or {}), changes, details))
    return rows


def kind_label(object_type: str) -> str:
    """The filter's name for an object type ("follow_up" → "Follow-up")."""
    if object_type.startswith("report:"):
        return object_type.split(":", 1)[1].replace("_", " ").capitalize() + " report"
    return (RECORD_KINDS.get(object_type) or OTHER_KINDS.get(object_type)
            or object_type.replace("_", " ").capitalize())
