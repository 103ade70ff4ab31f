"""/dev/outbox lists the .eml files written when no SMTP server is configured.

Admins only, and only in development (and the test configuration that mirrors it): the
outbox holds password-reset and invitation links, so reading it is taking over accounts.
Production never registers the blueprint (DEV_OUTBOX is False there), and the guard below
answers 404 should it ever be registered under another configuration.
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, current_app, render_template

from crm.blueprints.decorators import roles_required
from crm.mail import outbox_dir

bp = Blueprint("dev", __name__)
_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")
#: configurations in which the outbox may exist at all
DEV_CONFIGS = frozenset({"development", "test"})


@bp.before_request
def _development_only() -> None:
    if current_app.config.get("CRM_CONFIG_NAME") not in DEV_CONFIGS:
        abort(404)


def _parse(path):
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh)


@bp.get("/outbox")
@roles_required("admin")
def outbox():
    files = sorted(outbox_dir().glob("*.eml"), reverse=True)[:200]
    messages = [(f.name, _parse(f)) for f in files]
    return render_template("dev/outbox.html", messages=messages)


@bp.get("/outbox/<name>")
@roles_required("admin")
def message(name: str):
    if not _NAME.match(name):
        abort(404)
    path = outbox_dir() / name
    if not path.exists():
        abort(404)
    msg = _parse(path)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    # The HTML part is shown in a sandboxed frame (templates/_email_frame.html).
    return render_template(
        "dev/message.html", name=name, msg=msg,
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
    )
