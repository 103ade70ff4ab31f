"""Retention settings and the contacts offered for erasure (admins).

`/admin/retention`: the per-sensitivity policy, what the next nightly run would change
(its dry run) and when it last ran. `/admin/personal-data/candidates`: contacts with no
interaction left and no change for their sensitivity's retention period, each linked to
the erasure page.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import contains_eager
from werkzeug.routing import BuildError

from crm.blueprints.decorators import roles_required
from crm.blueprints.formflow import save_form
from crm.extensions import db
from crm.forms.retention import RetentionForm
from crm.lib import timeutil
from crm.models import Contact
from crm.services.personal_data import retention

from . import bp

PER_PAGE = 25


def _form(policy: retention.Policy) -> RetentionForm:
    data = {}
    for sensitivity, rule in policy.items():
        data[f"{sensitivity}_years"] = "" if rule.years is None else str(rule.years)
        data[f"{sensitivity}_action"] = rule.action
    return RetentionForm(data=data)


@bp.route("/retention", methods=["GET", "POST"], endpoint="retention")
@roles_required("admin")
def retention_policy():
    form = _form(retention.get_policy())
    saved, changed, status = save_form(form, lambda: retention.set_policy(
        current_user, retention.parse_policy(form.data)))
    if saved:
        if changed:
            flash("Retention policy saved. " + _next_run_summary(), "success")
        else:
            flash("The retention policy is unchanged.", "info")
        return redirect(url_for("admin.retention"))
    now = timeutil.now_utc()
    next_run = retention.next_run(now)
    policy = retention.get_policy()
    return render_template("admin/retention.html", form=form, policy=policy,
                           preview=retention.plan(next_run, policy), next_run=next_run,
                           last_run=retention.last_run()), status


def _next_run_summary() -> str:
    """What the saved policy will do at the next nightly run, in one sentence."""
    at = retention.next_run(timeutil.now_utc())
    parts = [f"{'redact' if e['action'] == 'redact' else 'delete'} {e['total']} "
             f"{sensitivity} interaction{'' if e['total'] == 1 else 's'}"
             for sensitivity, e in retention.plan(at).items() if e["total"]]
    if not parts:
        return "The next nightly run will change no interaction."
    return "The next nightly run will " + ", ".join(parts) + "."


def _erase_url(contact_id: int) -> str | None:
    """The erasure page of a contact (None while that page does not exist)."""
    try:
        return url_for("contacts.erase", contact_id=contact_id)
    except BuildError:
        return None


@bp.get("/personal-data/candidates")
@roles_required("admin")
def erasure_candidates():
    policy = retention.get_policy()
    stmt = retention.erasure_candidates(current_user, policy=policy).options(
        contains_eager(Contact.partner))
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    return render_template("admin/erasure_candidates.html", page=page, policy=policy,
                           offers=retention.offers_erasure(policy),
                           erase_urls={c.id: _erase_url(c.id) for c in page.items})
