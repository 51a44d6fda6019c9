"""All models, imported so metadata (and Alembic) sees every table."""
from app.models import engine, finance, identity, inventory, sales, shipping  # noqa: F401
