"""/admin/deliveries: the email ledger — status, attempts, last error, Message-ID; retry."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm import uow
from crm.blueprints.decorators import roles_required
from crm.celery_app import SEND_TASK, enqueue
from crm.extensions import db
from crm.models import Delivery
from crm.models.enums import DELIVERY_KINDS
from crm.services import audit, deliveries, ledger

from . import bp

PER_PAGE = 50


@bp.get("/deliveries", endpoint="deliveries")
@roles_required("admin")
def deliveries_list():
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    status = status if status in ledger.STATUS_LABELS else ""
    kind = kind if kind in DELIVERY_KINDS else ""
    page = db.paginate(ledger.list_query(status or None, kind or None),
                       per_page=PER_PAGE, error_out=False)
    return render_template("admin/deliveries.html", page=page, status=status, kind=kind,
                           statuses=ledger.STATUS_LABELS, badges=ledger.STATUS_BADGES,
                           kinds=DELIVERY_KINDS, counts=ledger.status_counts(kind or None),
                           shown_status=ledger.shown_status,
                           batches=ledger.batches(page.items), title="Email deliveries")


def _send(delivery_id: int, ids: list[int]) -> None:
    """Enqueue the retried email once it is committed, and say whether the queue took it."""
    sent = enqueue(current_app, SEND_TASK, ids)
    flash(f"Delivery {delivery_id} queued again." if sent else
          f"Delivery {delivery_id} queued again; the queue is unreachable, so the next sweep "
          "will send it.", "success" if sent else "warning")


@bp.post("/deliveries/<int:delivery_id>/retry")
@roles_required("admin")
def deliveries_retry(delivery_id: int):
    """Give a failed email a fresh set of attempts (its Message-ID is kept)."""
    row = db.session.get(Delivery, delivery_id)
    if row is None:
        abort(404)
    if row.status != "failed":
        flash(f"Delivery {row.id} is {row.status}: only a failed one can be retried.", "warning")
        return redirect(url_for("admin.deliveries", status=request.args.get("status", "")))
    old = {"status": row.status, "attempts": row.attempts}
    ids = deliveries.retry_failed(row)
    audit.record("delivery.retry", actor=current_user, object_type="delivery",
                 object_id=row.id, changes=audit.diff(old, {"status": row.status,
                                                            "attempts": row.attempts}),
                 details={"ids": ids, "last_error": row.last_error})
    uow.after_commit(lambda delivery_id=row.id: _send(delivery_id, ids))
    return redirect(url_for("admin.deliveries", status=request.args.get("status", "")))
