"""All models, imported so metadata (and Alembic) sees every table."""
from app.models import engine, identity  # noqa: F401
