"""The skeleton answers: sign-in, dashboard, health."""

from tests.support.http import login


def test_sign_in_then_dashboard(client, make, db):
    user = make.make_user(role="manager", name="Lucía")
    db.session.commit()
    assert client.get("/").status_code == 302
    login(client, user)
    page = client.get("/")
    assert page.status_code == 200
    assert "Lucía" in page.get_data(as_text=True)


def test_healthz_reports_database(client):
    body = client.get("/healthz").get_json()
    assert body["database"]["status"] == "up"
