"""Fixtures: app -> session -> client -> users with tokens. Every test starts with empty tables.

The suite runs on SQLite by default and on PostgreSQL with ``--db=postgresql`` (the server is
started by scripts/with-postgres.sh; pytest-postgresql's noproc fixture points at it).
"""
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.engine import clock, deployments
from app.extensions import db

HERE = Path(__file__).parent
pytest_plugins = ["tests.operators", "tests.o2c", "tests.smtp"]


def pytest_addoption(parser):
    parser.addoption("--db", default="sqlite", choices=["sqlite", "postgresql"],
                     help="database the suite runs on")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (make test runs it there)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    from pytest_postgresql.janitor import DatabaseJanitor

    pg = request.getfixturevalue("postgresql_noproc")
    with DatabaseJanitor(user=pg.user, host=pg.host, port=pg.port, dbname="orderflow_test",
                         password=pg.password):
        yield f"postgresql+psycopg://{pg.user}@{pg.host}:{pg.port}/orderflow_test"


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PROCESSES_DIR": str(HERE / "processes"),
        "FORMS_DIR": str(HERE / "forms"),
        "INCIDENT_AUTO_RETRIES": 0,
        "SECRET_KEY": "test",
    })
    with app.app_context():
        db.create_all()  # tests/test_migrations.py checks the migrations build the same schema
    return app


def _empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield
        db.session.rollback()
        _empty_tables()
        db.session.remove()
    clock.reset()
    deployments.forget_ids()


@pytest.fixture
def session(app_context):
    return db.session


@pytest.fixture
def runtime(session, app):
    from app.api.services import runtime

    return runtime()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(session):
    """make_user("sam", "approvers") -> (Actor, bearer token)."""
    from app import identity

    def make(username, *groups, password=None):
        user = identity.create_user(session, username, password, list(groups))
        token = identity.create_token(session, user, "test")
        session.commit()
        return identity.actor_for(user), token
    return make


@pytest.fixture
def deployed(session, app):
    """tests/processes deployed as version 1."""
    from app.engine import specs

    deployment, _ = deployments.deploy(session, specs.read_dir(HERE / "processes"),
                                       source="tests", actor="test",
                                       forms_dir=app.config["FORMS_DIR"])
    session.commit()
    return deployment


@pytest.fixture
def frozen_clock():
    from datetime import datetime, timezone

    return clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


def auth(token):
    return {"Authorization": f"Bearer {token}"}
