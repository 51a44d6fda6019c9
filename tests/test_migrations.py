"""The Alembic migrations build exactly the schema the models describe (on this run's database)."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db


@pytest.fixture
def migrated_url(request, tmp_path, database_url):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    from pytest_postgresql.janitor import DatabaseJanitor

    pg = request.getfixturevalue("postgresql_noproc")
    with DatabaseJanitor(user=pg.user, host=pg.host, port=pg.port, dbname="orderflow_migrated",
                         password=pg.password):
        yield f"postgresql+psycopg://{pg.user}@{pg.host}:{pg.port}/orderflow_migrated"


def test_models_and_migrations_agree(migrated_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.session.remove()
        db.engine.dispose()
    assert diff == []
