"""Formula neutralisation in every CSV export (ASVS V1.2.10 / V8 data protection)."""

from __future__ import annotations

import csv
import io

import pytest

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1,2)", "-2+3", "@cmd",
            "\t=1+1", "\r=1+1"]
EXPORTS = ["/exports/partners.csv", "/exports/contacts.csv", "/exports/interactions.csv"]


def _cells(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize("path", EXPORTS)
def test_no_cell_starts_a_formula(app, db, client, make, login_as, path):
    endpoint = {"partners": "exports.partners", "contacts": "exports.contacts",
                "interactions": "exports.interactions"}[path.split("/")[2].split(".")[0]]
    if endpoint not in app.view_functions:
        pytest.skip(f"{path} is not built yet (reports issue)")
    admin = make.make_user("admin")
    for formula in FORMULAS:
        partner = make.make_partner(owner=admin, name=f"{formula} org", description=formula,
                                    tags=[formula[:20].strip() or "t"])
        make.make_contact(partner, name=formula, notes=formula, title=formula)
        make.make_interaction(partner, logged_by=admin, summary=formula, outcome=formula)
    login_as(admin)
    response = client.get(path)
    assert response.status_code == 200
    cells = _cells(response.data)
    assert any(c.startswith("'") for c in cells), "the payloads did not reach the export"
    dangerous = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                 or (c[:1] == "-" and not _is_number(c))]
    assert not dangerous, dangerous


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_report_csvs_are_neutralised_too(app, db, client, make, login_as):
    if "reports.download" not in app.view_functions:
        pytest.skip("reports are not built yet")
    admin = make.make_user("admin", name="=cmd|' /C calc'!A0")
    make.make_partner(owner=admin, name="=1+1 partner")
    login_as(admin)
    page = client.get("/reports/").data.decode()
    import re

    links = sorted(set(re.findall(r'href="(/reports/[^"]+\.csv[^"]*)"', page)))
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        for cell in _cells(response.data):
            assert cell[:1] not in ("=", "+", "@") or cell.startswith("'"), (link, cell)
