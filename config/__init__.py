"""Configuration classes, read from the environment (README, Configuration).

`load_config(name)` returns an *instance* so that values are read from the
environment when the app is created, not when this module is imported.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """instance/ (or CRM_INSTANCE_PATH): SQLite file, outbox, embedded broker, secret key."""
    return Path(os.environ.get("CRM_INSTANCE_PATH") or ROOT / "instance")


INSTANCE_DIR = instance_dir()  # as seen at import; configs re-read it when built


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot work."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _persistent_secret_key() -> str:
    """Development key generated once into instance/, so sessions survive restarts."""
    instance_dir().mkdir(parents=True, exist_ok=True)
    path = instance_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Map plain `postgres(ql)://` URLs onto psycopg 3 (we do not ship psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class BaseConfig:
    """Settings shared by every environment."""

    name = "base"

    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY") or self.default_secret_key()
        database_url = env.get("DATABASE_URL") or self.default_database_url()
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.SQLALCHEMY_ENGINE_OPTIONS = self.engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.SMTP_HOST = env.get("SMTP_HOST") or None
        self.SMTP_PORT = _int("SMTP_PORT", 25 if not _bool("SMTP_STARTTLS") else 587)
        self.SMTP_USERNAME = env.get("SMTP_USERNAME") or None
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD") or None
        self.SMTP_STARTTLS = _bool("SMTP_STARTTLS")
        self.SMTP_TIMEOUT = _int("SMTP_TIMEOUT", 10)
        self.MAIL_FROM = env.get("MAIL_FROM") or "crm@localhost"
        self.CRM_BASE_URL = (env.get("CRM_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.INSTANCE_DIR = str(instance_dir())
        self.OUTBOX_DIR = str(instance_dir() / "outbox")
        self.BROKER_DIR = str(instance_dir() / "broker")
        self.TRUSTED_HOSTS = [h for h in env.get("TRUSTED_HOSTS", "").split(",") if h] or None

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_SECURE = False
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12))
        self.SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 120))
        #: "Remember me": how long one sign-in may last (the idle timeout still applies)
        self.REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_COOKIE_DAYS", 14))
        #: sessions are permanent (see crm/security.py), which makes Flask-Login's "strong"
        #: protection act as "basic": say so. A changed IP/browser marks the session
        #: non-fresh, and non-fresh sessions must re-enter the password for sensitive steps.
        self.SESSION_PROTECTION = "basic"
        #: sensitive steps (creating an API token) need the password within this window
        self.REAUTH_WINDOW = timedelta(minutes=_int("REAUTH_MINUTES", 10))
        #: wrong second-factor codes in a row before the account's second step is locked
        self.TWO_FACTOR_MAX_FAILURES = _int("TWO_FACTOR_MAX_FAILURES", 5)
        self.TWO_FACTOR_LOCKOUT = timedelta(minutes=_int("TWO_FACTOR_LOCKOUT_MINUTES", 15))
        #: reverse proxies in front of the app (X-Forwarded-For hops to trust; 0 = none)
        self.TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = 16 * 1024 * 1024
        self.RATELIMIT_ENABLED = True
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
        #: Redis down: every limit (sign-in, reset, two-factor, API) keeps working per
        #: process in memory instead of switching off; other limiter errors never 500
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT", "5 per minute")
        self.PASSWORD_RESET_RATE_LIMIT = env.get("PASSWORD_RESET_RATE_LIMIT",
                                                 "5 per minute; 30 per hour")
        #: engagement health thresholds in days: (cadence: cooling after, lapsed after)
        self.HEALTH_THRESHOLDS = {"law_enforcement": (90, 180), "government": (90, 180)}
        self.HEALTH_DEFAULT_THRESHOLDS = (60, 120)
        self.REMINDER_HOUR = _int("REMINDER_HOUR", 8)
        self.ESCALATION_DAYS = _int("ESCALATION_DAYS", 7)
        self.DELIVERY_MAX_ATTEMPTS = _int("DELIVERY_MAX_ATTEMPTS", 5)
        self.DELIVERY_STUCK_MINUTES = _int("DELIVERY_STUCK_MINUTES", 10)
        #: first retry delay of a temporarily failed email (doubles per attempt, jittered)
        self.DELIVERY_RETRY_BASE_SECONDS = _int("DELIVERY_RETRY_BASE_SECONDS", 30)
        #: soft time limit of one send task (a stalled SMTP server); the hard limit is +15 s
        self.DELIVERY_SOFT_TIME_LIMIT = _int("DELIVERY_SOFT_TIME_LIMIT", 45)
        self.IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
        #: how long a retried write waits for the first request with its Idempotency-Key
        #: (or log-form key) before answering 409 "still in progress"
        self.IDEMPOTENCY_WAIT_MS = _int("IDEMPOTENCY_WAIT_MS", 10_000)
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT", "300 per minute")
        self.BENCH_ENDPOINTS = _bool("CRM_BENCH")  #: /bench/* + X-SQL-Count (make bench)
        self.CELERY = self.celery_config()

    # --- hooks -------------------------------------------------------------
    def default_secret_key(self) -> str:
        return _persistent_secret_key()

    def default_database_url(self) -> str:
        instance_dir().mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance_dir() / 'crm.sqlite3'}"

    @staticmethod
    def engine_options(url: str) -> dict:
        if url.startswith("sqlite"):
            return {"connect_args": {"timeout": 30}}
        return {
            "pool_pre_ping": True,
            "pool_size": 5,
            "max_overflow": 10,
            "connect_args": {"connect_timeout": 5},
        }

    def celery_config(self) -> dict:
        """Celery settings (docs/architecture.md): late acks, JSON only, time limits everywhere."""
        common = {
            "task_serializer": "json",
            "accept_content": ["json"],
            "result_serializer": "json",
            "task_ignore_result": True,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "task_soft_time_limit": 60,
            "task_time_limit": 90,
            "broker_connection_retry_on_startup": True,
            "timezone": "UTC",
            "enable_utc": True,
            "beat_schedule_filename": str(instance_dir() / "celerybeat-schedule"),
            # the send task's own limits (DELIVERY_SOFT_TIME_LIMIT) are set by
            # crm.celery_app, next to the task name they key on
        }
        if self.REDIS_URL:
            common.update(
                broker_url=self.REDIS_URL,
                broker_transport_options={
                    "socket_timeout": 5,
                    "socket_connect_timeout": 2,
                    "visibility_timeout": 3600,
                },
                broker_connection_timeout=2,
            )
        else:
            broker = Path(self.BROKER_DIR)
            for sub in ("out", "processed", "control"):
                (broker / sub).mkdir(parents=True, exist_ok=True)
            common.update(
                broker_url="filesystem://",
                broker_transport_options={
                    "data_folder_in": str(broker / "out"),
                    "data_folder_out": str(broker / "out"),
                    "processed_folder": str(broker / "processed"),
                    "control_folder": str(broker / "control"),
                    "store_processed": False,
                },
            )
        return common


class DevelopmentConfig(BaseConfig):
    name = "development"

    def __init__(self) -> None:
        super().__init__()
        self.DEBUG = False
        self.DEV_OUTBOX = True


class TestConfig(BaseConfig):
    name = "test"

    def __init__(self) -> None:
        os.environ.setdefault("CRM_TEST_SECRET", secrets.token_urlsafe(32))
        super().__init__()
        self.TESTING = True
        self.DEV_OUTBOX = True
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or os.environ["CRM_TEST_SECRET"]
        self.RATELIMIT_STORAGE_URI = "memory://"

    def default_secret_key(self) -> str:
        return "test-secret"


class ProductionConfig(BaseConfig):
    name = "production"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")

    def __init__(self) -> None:
        for variable in self.REQUIRED:
            if not os.environ.get(variable):
                raise ConfigError(
                    f"{variable} must be set when CRM_CONFIG=production (see README: Configuration)"
                )
        super().__init__()
        self.DEV_OUTBOX = False
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"

    def default_secret_key(self) -> str:  # pragma: no cover - REQUIRED guards this
        raise ConfigError("SECRET_KEY must be set when CRM_CONFIG=production")


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> BaseConfig:
    """Build the configuration named by `name` or `CRM_CONFIG` (default: development)."""
    name = name or os.environ.get("CRM_CONFIG") or "development"
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"CRM_CONFIG={name!r} is unknown; use one of {', '.join(CONFIGS)}"
        ) from None
    return cls()
