"""The application factory."""
import logging

from flask import Flask

from app.config import Config


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config)
    app.config.update(overrides or {})
    # A server connection can drop while pooled; an SQLite file cannot, so it skips the ping.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "pool_pre_ping": not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")})
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "WARNING"))

    from app import db_setup, models  # noqa: F401  (pragmas; every table known to metadata)
    from app.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations())))

    import service_tasks  # noqa: F401  (registers the diagrams' operators)
    from app import cli
    from app.api import init_api
    from app.scheduler import init_scheduler
    from app.web import init_web

    init_api(app)
    init_web(app)
    cli.init_app(app)
    init_scheduler(app)
    return app


def _migrations():
    from app.config import ROOT

    return ROOT / "migrations"
