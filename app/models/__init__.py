"""All models, imported so metadata (and Alembic) sees every table."""
from app.models import engine, finance, identity, inventory, sales, shipping  # noqa: F401
from app.models import reporting  # noqa: F401
from app.models import manufacturing  # noqa: F401
from app.models import procurement, returns, counting  # noqa: F401
