"""Column types shared by all models."""
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores UTC without a zone (portable across SQLite and PostgreSQL), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def Money():  # noqa: N802 - reads like a type in the models
    """Amounts: exact decimals with 2 places (SQLite stores them as text-backed decimals)."""
    return Numeric(14, 2, asdecimal=True)


def Quantity():  # noqa: N802
    return Numeric(14, 3, asdecimal=True)


def Rate():  # noqa: N802
    return Numeric(14, 4, asdecimal=True)


ZERO = Decimal("0")


def utcnow() -> datetime:
    # Import here: models must not pull the engine package in at import time.
    from app.engine.clock import now

    return now()
