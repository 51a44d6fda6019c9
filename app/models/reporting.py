"""Reporting: saved filters of the reports and the KPI dashboard."""
from datetime import datetime

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class SavedFilter(db.Model):
    """A named query of one report, private to its owner or shared with every report user."""

    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))  # the username
    name: Mapped[str] = mapped_column(String(100))
    report: Mapped[str] = mapped_column(String(40))
    query: Mapped[dict] = mapped_column(JSON, default=dict)  # query-string parameters
    shared: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("owner", "report", "name", name="uq_saved_filter_owner_report_name"),
        Index("ix_saved_filter_report_shared", "report", "shared"),
    )
