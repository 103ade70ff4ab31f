"""Agreements with partners (MoUs, The Code, data-sharing, funding …): create, update,
record a report received, renew, terminate, and The Code's six criteria.

The domain rules live here, shared by the web, the API and the CLI; only the keys in
`FIELDS` are read from `data` (no mass assignment). Every check runs before anything is
touched, so a ValidationError leaves nothing half-saved (the caller rolls back anyway);
services flush, never commit. Every change is audited (object type "agreement").

Status moves (`TRANSITIONS`): draft ⇄ negotiation → signed → active → expired; any status
before expiry may be terminated (a reason is required); signed, active and expired
agreements may be renewed (`renew` creates the successor and closes this one as `renewed`).
A signed or active agreement needs its signing date. `next_report_due_on` is derived here
(`next_report_due`) and stored, so the reminder sweep and the reports can use an index.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.lib import timeutil
from crm.models import (
    Agreement,
    AgreementReport,
    CodeCriterion,
    Contact,
    Partner,
    User,
    agreement_contacts,
    agreement_staff,
)
from crm.models.agreement import LIVE_STATUSES
from crm.models.enums import (
    AGREEMENT_KIND_LABELS,
    AGREEMENT_KINDS,
    AGREEMENT_STATUSES,
    CODE_CRITERIA,
    CODE_CRITERION_STATUSES,
)

from . import access, audit, records
from .errors import ConflictError, ValidationError
from .validation import check_sensitivity_floor, clean_text, clean_url, collect, parse_ids

#: the keys create/update read from `data`; anything else is ignored
FIELDS = ("kind", "title", "status", "signed_on", "starts_on", "expires_on",
          "renewal_notice_days", "reporting_every_months", "document_ref", "notes",
          "sensitivity", "contact_ids", "staff_ids", "termination_reason", "terminated_on")
REQUIRED = ("kind", "title")
TITLE_MAX = 300
REF_MAX = 500
NOTES_MAX = 10_000
REASON_MAX = 2_000
SUMMARY_MAX = 10_000
CRITERION_NOTE_MAX = 5_000
REPORTING_MAX = 60
NOTICE_MAX = 3_650
DEFAULT_NOTICE_DAYS = 90
CODE_REPORTING_MONTHS = 12
#: the statuses an agreement may move to from each status through `update` (terminating
#: needs a reason; `renewed` is reached only through `renew`)
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"negotiation", "signed", "active", "terminated"}),
    "negotiation": frozenset({"draft", "signed", "active", "terminated"}),
    "signed": frozenset({"active", "expired", "terminated"}),
    "active": frozenset({"expired", "terminated"}),
    "expired": frozenset(),
    "terminated": frozenset(),
    "renewed": frozenset(),
}
#: statuses an agreement may be created with (terminated and renewed come later)
CREATE_STATUSES = ("draft", "negotiation", "signed", "active", "expired")
#: statuses that may be renewed / terminated / receive reports
RENEWABLE = ("signed", "active", "expired")
TERMINABLE = ("draft", "negotiation", "signed", "active")
REPORTABLE = ("signed", "active", "expired", "terminated", "renewed")
#: a date field's refusal
DATE_FORMAT = "Enter a date as YYYY-MM-DD."
UNCHANGED: Any = object()
#: the badge shown "expires in N days" within this many days of expiry
EXPIRING_DAYS = 30


# --- small helpers ----------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the month's last day (31 Jan + 1 →
    28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_report_due(agreement: Agreement) -> date | None:
    """The next report's due date: the last report received (else the start, else the
    signing) plus the reporting interval; None without an interval or a date to count from."""
    months = agreement.reporting_every_months
    base = agreement.last_report_on or agreement.starts_on or agreement.signed_on
    if not months or base is None:
        return None
    return add_months(base, months)


def today_for(user: User | None) -> date:
    """Today in the user's time zone (a report received "today" in Bangkok is not in the
    future for the server's UTC clock)."""
    return timeutil.local_date(timeutil.now_utc(), getattr(user, "timezone", None))


def default_sensitivity(partner: Partner, kind: str | None) -> str:
    """The partner's; an MoU with a law-enforcement partner at least `restricted`."""
    if kind == "mou" and partner.sector == "law_enforcement":
        return access.strictest(partner.sensitivity, "restricted")
    return partner.sensitivity


def kind_label(kind: str) -> str:
    return AGREEMENT_KIND_LABELS.get(kind, kind)


def badges(agreement: Agreement, today: date) -> list[tuple[str, str]]:
    """(code, text) of the partner panel's badges: "expires in N days", "expired",
    "report overdue" (the last two only while it is in force)."""
    out: list[tuple[str, str]] = []
    live = agreement.status in LIVE_STATUSES
    expires = agreement.expires_on
    if agreement.status == "expired" or (live and expires is not None and expires < today):
        out.append(("expired", "expired"))
    elif live and expires is not None and expires <= today + timedelta(days=EXPIRING_DAYS):
        days = (expires - today).days
        out.append(("expiring", "expires today" if days == 0 else
                    f"expires in {days} day{'s' if days != 1 else ''}"))
    due = agreement.next_report_due_on
    if live and due is not None and due < today:
        out.append(("report_overdue", "report overdue"))
    return out


def _criterion_number(value: Any) -> int | None:
    """1..6 from an int or digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None
    if isinstance(value, int) and 1 <= value <= len(CODE_CRITERIA):
        return value
    return None


def _parse_date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    """A date (or YYYY-MM-DD) between 1900 and 2200; blank is None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime) or not isinstance(value, date | str):
        errors[field] = DATE_FORMAT
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = DATE_FORMAT
            return None
    if not 1900 <= value.year < 2200:
        errors[field] = "Enter a date between 1900 and 2200."
        return None
    return value


def _parse_int(value: Any, field: str, errors: dict[str, str], low: int, high: int,
               message: str) -> int | None:
    """An integer low..high from a form (text) or JSON (int); blank is None."""
    if value in (None, ""):
        return None
    if isinstance(value, bool | float):
        errors[field] = message
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            errors[field] = message
            return None
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        errors[field] = message
        return None
    return value


# --- validation -------------------------------------------------------------------------

def _validate(actor: User, partner: Partner, data: Mapping[str, Any], *, partial: bool,
              current: Agreement | None = None) -> dict[str, Any]:
    """Checked values for the keys present in `data` (all of REQUIRED unless `partial`),
    with the cross-field rules checked against `current` for the keys not sent."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    keys = [k for k in FIELDS if k in data]
    if not partial:
        keys = list(dict.fromkeys([*REQUIRED, *keys]))
    for key in keys:
        value = data.get(key)
        if key == "kind":
            if value not in AGREEMENT_KINDS:
                errors[key] = "Choose a kind from the list."
            out[key] = value
        elif key == "title":
            out[key] = clean_text(value, TITLE_MAX, key, errors, required=True)
        elif key == "status":
            if value not in AGREEMENT_STATUSES:
                errors[key] = "Choose a status from the list."
            out[key] = value
        elif key in ("signed_on", "starts_on", "expires_on", "terminated_on"):
            out[key] = _parse_date(value, key, errors)
        elif key == "renewal_notice_days":
            out[key] = _parse_int(value, key, errors, 0, NOTICE_MAX,
                                  f"Enter a number of days from 0 to {NOTICE_MAX}.")
            if out[key] is None and key not in errors:
                out[key] = DEFAULT_NOTICE_DAYS
        elif key == "reporting_every_months":
            out[key] = _parse_int(
                value, key, errors, 1, REPORTING_MAX,
                f"Enter 1 to {REPORTING_MAX} months, or leave it empty for no reporting duty.")
        elif key == "document_ref":
            out[key] = clean_text(value, REF_MAX, key, errors)
        elif key == "notes":
            out[key] = clean_text(value, NOTES_MAX, key, errors)
        elif key == "termination_reason":
            out[key] = clean_text(value, REASON_MAX, key, errors)
        elif key == "sensitivity":
            collect(errors, check_sensitivity_floor, value, partner.sensitivity, "An agreement",
                    key)
            out[key] = value
        elif key == "contact_ids":
            out[key] = collect(errors, parse_ids, value, key,
                               "Choose contacts from the list.") or []
        elif key == "staff_ids":
            out[key] = collect(errors, parse_ids, value, key,
                               "Choose colleagues from the list.") or []
    _check_dates(out, current, errors)
    _check_status(out, current, errors)
    if out.get("contact_ids") and "contact_ids" not in errors:
        seen = set(db.session.scalars(
            access.visible_contacts(actor, select(Contact.id)).where(
                Contact.id.in_(out["contact_ids"]), Contact.partner_id == partner.id,
                Contact.erased_at.is_(None))))
        if seen != set(out["contact_ids"]):
            errors["contact_ids"] = "Signatories must be contacts at this partner."
    if out.get("staff_ids") and "staff_ids" not in errors:
        active = set(db.session.scalars(select(User.id).where(
            User.id.in_(out["staff_ids"]), User.active.is_(True))))
        if active != set(out["staff_ids"]):
            errors["staff_ids"] = "Staff signatories must be active users."
    if errors:
        raise ValidationError(errors)
    return out


def _value(out: Mapping[str, Any], current: Agreement | None, key: str) -> Any:
    """The value after the change: sent, else the current one."""
    if key in out:
        return out[key]
    return getattr(current, key) if current is not None else None


def _check_dates(out: dict[str, Any], current: Agreement | None,
                 errors: dict[str, str]) -> None:
    signed, starts, expires = (_value(out, current, k)
                               for k in ("signed_on", "starts_on", "expires_on"))
    ended = out.get("terminated_on")
    if ended is not None and signed is not None and "signed_on" not in errors \
            and ended < signed:
        errors["terminated_on"] = "The termination date cannot be before the signing date."
    if "expires_on" in errors or expires is None:
        return
    if signed is not None and "signed_on" not in errors and expires < signed:
        errors["expires_on"] = "The expiry date cannot be before the signing date."
    elif starts is not None and "starts_on" not in errors and expires < starts:
        errors["expires_on"] = "The expiry date cannot be before the start date."


def _check_status(out: dict[str, Any], current: Agreement | None,
                  errors: dict[str, str]) -> None:
    if "status" not in out or "status" in errors:
        return
    new = out["status"]
    old = current.status if current is not None else None
    if new == old:
        return
    if old is None and new not in CREATE_STATUSES:
        errors["status"] = ("A new agreement starts as draft, negotiation, signed, active or "
                            "expired.")
        return
    if old is not None and new not in TRANSITIONS[old]:
        if new == "renewed":
            errors["status"] = "Renew the agreement instead: that creates its successor."
        elif not TRANSITIONS[old]:
            errors["status"] = (f"A {old} agreement cannot change status any more"
                                + ("; renew it instead." if old in RENEWABLE else "."))
        else:
            allowed = ", ".join(sorted(TRANSITIONS[old]))
            errors["status"] = f"A {old} agreement can move to {allowed} only."
        return
    if new in ("signed", "active") and _value(out, current, "signed_on") is None \
            and "signed_on" not in errors:
        errors["signed_on"] = "A signed agreement needs the date it was signed."
    if new == "terminated" and not _value(out, current, "termination_reason") \
            and "termination_reason" not in errors:
        errors["termination_reason"] = "Give the reason for terminating the agreement."


def validation_errors(actor: User, partner: Partner, data: Mapping[str, Any], *,
                      agreement: Agreement | None = None) -> dict[str, str]:
    """The field messages create (or, with `agreement`, update) would raise, touching
    nothing: a form whose own checks failed still shows every problem in one round."""
    try:
        _validate(actor, partner, data, partial=agreement is not None, current=agreement)
    except ValidationError as exc:
        return dict(exc.fields)
    return {}


# --- reads ------------------------------------------------------------------------------

def load_people(agreements: Iterable[Agreement]) -> None:
    """Load `contacts`, `staff` and `criteria` (lazy='raise') for the agreements that lack
    them: three statements whatever their number."""
    todo = [a for a in agreements if {"contacts", "staff", "criteria"} & db.inspect(a).unloaded]
    if not todo:
        return
    ids = [a.id for a in todo]
    contacts = _by_agreement(ids, select(agreement_contacts.c.agreement_id, Contact)
                             .join(Contact, Contact.id == agreement_contacts.c.contact_id)
                             .where(agreement_contacts.c.agreement_id.in_(ids))
                             .order_by(Contact.name))
    staff = _by_agreement(ids, select(agreement_staff.c.agreement_id, User)
                          .join(User, User.id == agreement_staff.c.user_id)
                          .where(agreement_staff.c.agreement_id.in_(ids)).order_by(User.name))
    criteria = _by_agreement(ids, select(CodeCriterion.agreement_id, CodeCriterion)
                             .where(CodeCriterion.agreement_id.in_(ids))
                             .order_by(CodeCriterion.number))
    for a in todo:
        for name, found in (("contacts", contacts), ("staff", staff), ("criteria", criteria)):
            if name in db.inspect(a).unloaded:
                set_committed_value(a, name, found[a.id])


def _by_agreement(ids: list[int], stmt: Any) -> dict[int, list]:
    """{agreement id: [rows]} from a statement of (agreement id, row) pairs."""
    found: dict[int, list] = {i: [] for i in ids}
    for agreement_id, row in db.session.execute(stmt):
        found[agreement_id].append(row)
    return found


def visible_signatories(actor: User, agreement: Agreement) -> list[Contact]:
    """The agreement's contact signatories that `actor` may see (a confidential contact at
    the partner is not named to someone who cannot see it)."""
    stmt = access.visible_contacts(actor).join(
        agreement_contacts, agreement_contacts.c.contact_id == Contact.id).where(
        agreement_contacts.c.agreement_id == agreement.id).order_by(Contact.name)
    return list(db.session.scalars(stmt))


def contact_choices(actor: User, partner: Partner) -> list[Contact]:
    """Contacts at `partner` that `actor` may see and name as signatories."""
    return list(db.session.scalars(access.visible_contacts(actor).where(
        Contact.partner_id == partner.id, Contact.erased_at.is_(None),
        Contact.archived.is_(False)).order_by(Contact.name)))


def staff_choices() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True))
                                   .order_by(User.name)))


def reports(agreement: Agreement) -> list[AgreementReport]:
    """Reports received, newest first."""
    return list(db.session.scalars(select(AgreementReport).where(
        AgreementReport.agreement_id == agreement.id).order_by(
        AgreementReport.received_on.desc(), AgreementReport.id.desc())))


# --- writes -----------------------------------------------------------------------------

def snapshot(agreement: Agreement) -> dict[str, Any]:
    """The audited fields (contacts and staff loaded or new)."""
    return {
        "partner_id": agreement.partner_id, "kind": agreement.kind, "title": agreement.title,
        "status": agreement.status, "signed_on": agreement.signed_on,
        "starts_on": agreement.starts_on, "expires_on": agreement.expires_on,
        "renewal_notice_days": agreement.renewal_notice_days,
        "reporting_every_months": agreement.reporting_every_months,
        "last_report_on": agreement.last_report_on,
        "next_report_due_on": agreement.next_report_due_on,
        "document_ref": agreement.document_ref, "notes": agreement.notes,
        "sensitivity": agreement.sensitivity, "successor_id": agreement.successor_id,
        "terminated_on": agreement.terminated_on,
        "termination_reason": agreement.termination_reason,
        "contact_ids": sorted(c.id for c in agreement.contacts),
        "staff_ids": sorted(u.id for u in agreement.staff),
    }


def _apply(agreement: Agreement, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if key == "contact_ids":
            agreement.contacts = list(db.session.scalars(
                select(Contact).where(Contact.id.in_(value)))) if value else []
        elif key == "staff_ids":
            agreement.staff = list(db.session.scalars(
                select(User).where(User.id.in_(value)))) if value else []
        else:
            setattr(agreement, key, value)
    agreement.next_report_due_on = next_report_due(agreement)


def _ensure_criteria(agreement: Agreement, copy_from: Iterable[CodeCriterion] = ()) -> None:
    """The Code's six criteria (not started, or as in `copy_from`) when it has none yet."""
    if agreement.kind != "the_code" or agreement.criteria:
        return
    previous = {c.number: c for c in copy_from}
    now = timeutil.now_utc()
    agreement.criteria = [
        CodeCriterion(number=n, status=previous[n].status if n in previous else "not_started",
                      note=previous[n].note if n in previous else None, updated_at=now)
        for n in range(1, len(CODE_CRITERIA) + 1)]


def _ensure_still_visible(actor: User, agreement: Agreement) -> None:
    """Refuse a change that would hide the agreement from the person making it."""
    db.session.flush()
    stmt = access.visible_agreements(actor, select(Agreement.id)).where(
        Agreement.id == agreement.id)
    if db.session.scalar(stmt) is None:
        raise ValidationError({"sensitivity": "With this sensitivity you could no longer see "
                                              "this agreement; choose a lower one."})


def create(actor: User, partner: Partner, data: Mapping[str, Any]) -> Agreement:
    """Validate and add an agreement at `partner` (a partner the actor may see); The Code
    gets its six criteria and a 12-month reporting duty by default; audit; flush."""
    access.ensure_can_write(actor)
    data = dict(data)
    if data.get("sensitivity") in (None, ""):
        data["sensitivity"] = default_sensitivity(partner, data.get("kind"))
    if data.get("kind") == "the_code" and data.get("reporting_every_months") in (None, ""):
        data["reporting_every_months"] = CODE_REPORTING_MONTHS
    if data.get("status") in (None, ""):
        data["status"] = "draft"
    values = _validate(actor, partner, data, partial=False)
    values.setdefault("renewal_notice_days", DEFAULT_NOTICE_DAYS)
    agreement = Agreement(partner_id=partner.id, contacts=[], staff=[], criteria=[],
                          created_by_id=actor.id, version=1)
    _apply(agreement, values)
    _ensure_criteria(agreement)
    db.session.add(agreement)
    _ensure_still_visible(actor, agreement)
    audit.record("agreement.create", actor=actor, object_type="agreement",
                 object_id=agreement.id, changes=audit.diff({}, snapshot(agreement)),
                 details={"partner_id": partner.id})
    return agreement


def update(actor: User, agreement: Agreement, data: Mapping[str, Any]) -> Agreement:
    """Change the keys present in `data`; bump `version` when something changed; audit
    old → new. Moving to `terminated` needs a reason (the date: today unless given, and
    then not before the signing)."""
    access.ensure_can_write(actor)
    partner = db.session.get(Partner, agreement.partner_id)
    load_people([agreement])
    values = _validate(actor, partner, data, partial=True, current=agreement)
    if values.get("status") == "terminated" and values.get("terminated_on") is None:
        # today by default (not checked against a signing date still to come)
        values["terminated_on"] = agreement.terminated_on or today_for(actor)
    terminating = values.get("status") == "terminated" and agreement.status != "terminated"

    def guard(changes: Mapping[str, list]) -> None:
        if "sensitivity" in changes:
            access.ensure_may_lower(actor, partner, *changes["sensitivity"])

    def effects(changes: Mapping[str, list]) -> None:
        if "kind" in changes:
            _ensure_criteria(agreement)
        if "sensitivity" in changes:
            _ensure_still_visible(actor, agreement)

    records.update_audited(actor, agreement,
                           "agreement.terminate" if terminating else "agreement.update",
                           object_type="agreement", snapshot=lambda: snapshot(agreement),
                           apply=lambda: _apply(agreement, values), guard=guard,
                           effects=effects, details={"partner_id": agreement.partner_id},
                           sensitivity_event=True)
    return agreement


def terminate(actor: User, agreement: Agreement, reason: Any,
              terminated_on: Any = None) -> Agreement:
    """End the agreement early: a reason is required; the date defaults to today."""
    if agreement.status not in TERMINABLE:
        raise ConflictError(f"A {agreement.status} agreement cannot be terminated.")
    errors: dict[str, str] = {}
    reason = clean_text(reason, REASON_MAX, "termination_reason", errors, required=True)
    if "termination_reason" in errors and "required" in errors["termination_reason"]:
        errors["termination_reason"] = "Give the reason for terminating the agreement."
    if errors:
        raise ValidationError(errors)
    return update(actor, agreement, {"status": "terminated", "termination_reason": reason,
                                     "terminated_on": terminated_on})


def record_report(actor: User, agreement: Agreement, data: Mapping[str, Any]) -> AgreementReport:
    """A report received (`received_on` not in the future, `link`, `summary`): stores the
    due date it answered, sets the last report and derives the next due date; audit."""
    access.ensure_can_write(actor)
    if agreement.status not in REPORTABLE:
        raise ConflictError("A report can be recorded once the agreement is signed.")
    errors: dict[str, str] = {}
    received = _parse_date(data.get("received_on"), "received_on", errors)
    if received is None and "received_on" not in errors:
        errors["received_on"] = "Enter the date the report was received."
    elif received is not None and received > today_for(actor):
        errors["received_on"] = "A report cannot be received in the future."
    link = clean_url(data.get("link"), errors, "link")
    summary = clean_text(data.get("summary"), SUMMARY_MAX, "summary", errors)
    if errors:
        raise ValidationError(errors)
    load_people([agreement])
    report = AgreementReport(agreement_id=agreement.id, received_on=received,
                             due_on=agreement.next_report_due_on, link=link, summary=summary,
                             recorded_by_id=actor.id)
    db.session.add(report)

    def apply() -> None:
        if agreement.last_report_on is None or received > agreement.last_report_on:
            agreement.last_report_on = received
        agreement.next_report_due_on = next_report_due(agreement)

    db.session.flush()
    details = {"partner_id": agreement.partner_id, "report_id": report.id,
               "received_on": received.isoformat(),
               "due_on": report.due_on.isoformat() if report.due_on else None}
    changes = records.update_audited(actor, agreement, "agreement.report",
                                     object_type="agreement",
                                     snapshot=lambda: snapshot(agreement), apply=apply,
                                     details=details)
    if not changes:  # an older report: the dates stay, the record still changed
        agreement.version = (agreement.version or 1) + 1
        audit.record("agreement.report", actor=actor, object_type="agreement",
                     object_id=agreement.id, details=details)
        db.session.flush()
    return report


def renew(actor: User, agreement: Agreement, data: Mapping[str, Any]) -> Agreement:
    """Create the successor (same partner, kind, title, signatories, reporting, sensitivity;
    the new dates from `data`) and close this one as `renewed`, linked to it. The Code's
    criteria carry over. Reminders stop for the old one (it is no longer live)."""
    access.ensure_can_write(actor)
    if agreement.status not in RENEWABLE:
        raise ConflictError(f"A {agreement.status} agreement cannot be renewed.")
    load_people([agreement])
    fresh = {k: data[k] for k in ("title", "signed_on", "starts_on", "expires_on",
                                  "document_ref", "notes", "status") if k in data}
    if fresh.get("title") in (None, ""):
        fresh["title"] = agreement.title
    if fresh.get("status") in (None, ""):
        fresh["status"] = "active" if fresh.get("signed_on") not in (None, "") else "draft"
    elif fresh["status"] not in ("draft", "negotiation", "signed", "active"):
        raise ValidationError({"status": "A renewal starts as draft, negotiation, signed or "
                                         "active."})
    partner = db.session.get(Partner, agreement.partner_id)
    values = _validate(actor, partner, {
        **fresh, "kind": agreement.kind, "sensitivity": agreement.sensitivity,
        "renewal_notice_days": agreement.renewal_notice_days,
        "reporting_every_months": agreement.reporting_every_months}, partial=False)
    successor = Agreement(partner_id=partner.id, contacts=[], staff=[], criteria=[],
                          created_by_id=actor.id,
                          version=1)
    _apply(successor, values)
    # the signatories carry over as they are (no new choice to check), erased ones dropped
    successor.contacts = [c for c in agreement.contacts if c.erased_at is None]
    successor.staff = [u for u in agreement.staff if u.active]
    _ensure_criteria(successor, agreement.criteria)
    db.session.add(successor)
    _ensure_still_visible(actor, successor)
    audit.record("agreement.create", actor=actor, object_type="agreement",
                 object_id=successor.id, changes=audit.diff({}, snapshot(successor)),
                 details={"partner_id": partner.id, "renews": agreement.id})

    def close() -> None:
        agreement.status = "renewed"
        agreement.successor_id = successor.id

    records.update_audited(actor, agreement, "agreement.renew", object_type="agreement",
                           snapshot=lambda: snapshot(agreement), apply=close,
                           details={"partner_id": partner.id, "successor_id": successor.id})
    return successor


def update_criterion(actor: User, agreement: Agreement, number: Any, status: Any = UNCHANGED,
                     note: Any = UNCHANGED) -> CodeCriterion:
    """Set one of The Code's criteria (1-6): its status and/or evidence note. The change
    date moves only when something changed; the agreement's version grows (its JSON shows
    the criteria); audit."""
    access.ensure_can_write(actor)
    errors: dict[str, str] = {}
    number = _criterion_number(number)
    if number is None:
        errors["number"] = f"Choose a criterion from 1 to {len(CODE_CRITERIA)}."
    elif agreement.kind != "the_code":
        errors["number"] = "Only an agreement of kind The Code has criteria."
    if status is not UNCHANGED and status not in CODE_CRITERION_STATUSES:
        errors["status"] = "Choose not started, in progress or met."
    if note is not UNCHANGED:
        note = clean_text(note, CRITERION_NOTE_MAX, "note", errors)
    if errors:
        raise ValidationError(errors)
    load_people([agreement])
    _ensure_criteria(agreement)
    criterion = next(c for c in agreement.criteria if c.number == number)
    before = {"status": criterion.status, "note": criterion.note}
    if status is not UNCHANGED:
        criterion.status = status
    if note is not UNCHANGED:
        criterion.note = note
    changes = audit.diff(before, {"status": criterion.status, "note": criterion.note})
    if not changes:
        return criterion
    criterion.updated_at = timeutil.now_utc()
    criterion.updated_by_id = actor.id
    agreement.version = (agreement.version or 1) + 1
    audit.record("agreement.criterion", actor=actor, object_type="agreement",
                 object_id=agreement.id,
                 changes={f"criterion_{number}.{k}": v for k, v in changes.items()},
                 details={"partner_id": agreement.partner_id, "number": number})
    db.session.flush()
    return criterion
