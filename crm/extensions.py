"""Flask extensions, created unbound and initialised in `create_app`."""

from __future__ import annotations

from pathlib import Path

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: stable constraint names, so Alembic migrations work on SQLite and PostgreSQL alike
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def register_extensions(app) -> None:
    """Bind every extension to `app`."""
    from crm import models  # noqa: F401  (register the tables with the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR") or _migrations()))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # "basic", not "strong": sessions are permanent, under which Flask-Login's "strong" acts
    # as "basic" anyway (config SESSION_PROTECTION says so too). A changed IP or browser
    # marks the session non-fresh; the sign-in itself is revocable server-side (UserLogin).
    login_manager.session_protection = "basic"


def _migrations() -> str:

    return str(Path(__file__).resolve().parent.parent / "migrations")


def rebind_limiter(app) -> None:
    """Point the shared limiter back at `app`'s storage, with no fallback state left over.

    Flask-Limiter keeps one storage per Limiter object, and the last `init_app` wins: a
    process that builds several apps (the test suite) calls this to return to its own.
    """
    limiter.init_app(app)
    limiter._storage_dead = False  # noqa: SLF001 - no public way to leave the fallback
