"""docker-compose.yml and the Procfile match the real entry points (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else command


def _variables_config_reads() -> set[str]:
    source = (ROOT / "config" / "__init__.py").read_text()
    names = set(re.findall(r'(?:env\.get|os\.environ\.get|_bool|_int)\(\s*"([A-Z_]+)"', source))
    names |= set(re.findall(r'"([A-Z_]+)"', source.split("REQUIRED = ")[1].split(")")[0]))
    return names | {"CRM_CONFIG", "CRM_INSTANCE_PATH"}


def test_every_service_is_there_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat", "mail"}
    for name, service in services.items():
        if name == "migrate":  # one-shot: it exits once the schema is current
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
    assert "db-data" in compose["volumes"]
    assert any("db-data:" in v for v in services["db"]["volumes"])


def test_commands_match_the_real_entry_points(compose):
    services = compose["services"]
    assert _command(services["migrate"]) == ["flask", "--app", "crm", "db", "upgrade"]
    web = " ".join(_command(services["web"]))
    assert "db upgrade" not in web  # the app role cannot run migrations
    assert "gunicorn" in web
    assert "crm:create_app()" in web
    assert _command(services["worker"])[:4] == ["celery", "-A", "tasks", "worker"]
    assert _command(services["beat"])[:4] == ["celery", "-A", "tasks", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1


def test_the_entry_points_exist():
    import crm

    assert callable(crm.create_app)
    tasks_source = (ROOT / "tasks" / "__init__.py").read_text()
    assert re.search(r"^app = celery_app$", tasks_source, re.M)


def test_environment_matches_what_config_reads(compose):
    known = _variables_config_reads()
    for name in ("migrate", "web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert set(env) <= known, set(env) - known
        assert env["CRM_CONFIG"] == "production"
        for required in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
            assert env[required], required
    assert compose["services"]["web"]["environment"]["SMTP_HOST"] == "mail"


def test_procfile_runs_web_worker_and_beat():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                 if line.strip())
    assert set(lines) == {"web", "worker", "beat"}
    assert "flask --app crm run" in lines["web"]
    assert lines["worker"].split()[:4] == ["celery", "-A", "tasks", "worker"]
    assert lines["beat"].split()[:4] == ["celery", "-A", "tasks", "beat"]


def test_dockerfile_installs_the_package_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "pip install ." in dockerfile
    assert "crm:create_app()" in dockerfile


def _db_user(url: str) -> str:
    return re.match(r"postgresql://([^:@]+)", url).group(1)


def test_migrations_run_as_the_owner_and_the_app_as_its_own_role(compose):
    """Issue 12 §9: only the one-shot `migrate` service holds the owner's credentials."""
    services = compose["services"]
    owner = services["db"]["environment"]["POSTGRES_USER"]
    app_role = services["db"]["environment"]["CRM_APP_USER"]
    assert owner != app_role
    assert _db_user(services["migrate"]["environment"]["DATABASE_URL"]) == owner
    for name in ("web", "worker", "beat"):
        assert _db_user(services[name]["environment"]["DATABASE_URL"]) == app_role, name
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    init = [v for v in services["db"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and (ROOT / init[0].split(":")[0]).is_dir()
    script = (ROOT / "deploy" / "postgres" / "10-app-role.sh").read_text()
    assert "NOSUPERUSER" in script and "NOCREATEROLE" in script
    assert "TRUNCATE" not in script.split("<<'SQL'")[1]  # never granted to the app role


def test_passwords_come_from_the_environment(compose):
    """No default database password: compose refuses to start without one."""
    env = compose["services"]["db"]["environment"]
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert env["CRM_APP_PASSWORD"].startswith("${CRM_APP_PASSWORD:?")


def test_mail_catcher_web_ui_is_published_on_loopback_only(compose):
    """Its UI shows password-reset links: published to the network, it is a takeover."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            published = str(port)
            if name == "mail" or published.split(":")[-1] == "8025":
                assert published.startswith("127.0.0.1:"), (name, published)
    assert compose["services"]["mail"]["ports"] == ["127.0.0.1:8025:8025"]


def test_dockerfile_defaults_to_production():
    dockerfile = (ROOT / "Dockerfile").read_text()
    env_lines = " ".join(line for line in dockerfile.splitlines()
                         if line.startswith(("ENV", "    ")))
    assert re.search(r"\bCRM_CONFIG=production\b", env_lines)
