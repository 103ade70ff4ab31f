"""Password policy (ASVS 6.2): at least 12 characters, at most 128, not a common password.

The common-password list ships with the app (crm/data/common-passwords.txt, about 20,000
entries from Django's list); the comparison ignores case and surrounding spaces.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 128
_LIST = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (loaded once per process)."""
    with _LIST.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def problems(password: str, *, email: str | None = None, name: str | None = None) -> list[str]:
    """Why `password` is not acceptable (empty list: it is fine). Messages are for the form."""
    password = password or ""
    errors: list[str] = []
    if len(password) < MIN_LENGTH:
        errors.append(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    elif len(password) > MAX_LENGTH:
        errors.append(f"Use at most {MAX_LENGTH} characters.")
    folded = password.strip().lower()
    if folded in common_passwords():
        errors.append("This password is on a list of commonly used passwords; choose another.")
    personal = {(email or "").strip().lower(), (email or "").split("@")[0].strip().lower(),
                (name or "").strip().lower()}
    if folded and folded in personal - {""}:
        errors.append("Do not use your name or email address as your password.")
    return errors
