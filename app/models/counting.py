"""Cycle counts: a count of some bins of one warehouse, and its lines (bin x product [x batch]).

The expected quantities (and serials) are frozen when the count is created; the comparison is made
against the book quantity when a count is recorded, i.e. the frozen quantity adjusted by whatever
moved on the bin since (see app.domain.cycle_counts).
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.inventory import Bin, Product, Warehouse
from app.models.types import Money, Quantity, Rate, UTCDateTime, utcnow

COUNT_STATUSES = ("counting", "approval", "completed")
LINE_STATUSES = ("open", "matched", "posted", "recount", "approval", "rejected", "refused")


class CycleCount(db.Model):
    __tablename__ = "cycle_count"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    status: Mapped[str] = mapped_column(String(12), default="counting")
    bins: Mapped[list] = mapped_column(JSON)  # the bin codes counted, in count order
    skus: Mapped[list | None] = mapped_column(JSON)  # only these products, when given
    # The last ledger row the expected quantities include (movements after it happened during
    # the count); the frozen quantities are the ledger sums up to it.
    frozen_ledger_id: Mapped[int] = mapped_column(default=0)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    tolerance: Mapped[dict | None] = mapped_column(JSON)  # as the process's DMN table gave it
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    decision: Mapped[str | None] = mapped_column(String(12))  # approve | reject
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warehouse: Mapped[Warehouse] = relationship()
    lines: Mapped[list["CycleCountLine"]] = relationship(
        back_populates="count", cascade="all, delete-orphan", order_by="CycleCountLine.line_no")
    __table_args__ = (Index("ix_cycle_count_warehouse_status", "warehouse_id", "status"),)


class CycleCountLine(db.Model):
    __tablename__ = "cycle_count_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("cycle_count.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    batch: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")
    found: Mapped[bool] = mapped_column(default=False)  # added by a counter: not expected here
    expected_qty: Mapped[Decimal] = mapped_column(Quantity())  # frozen at creation
    expected_serials: Mapped[list | None] = mapped_column(JSON)
    counted_qty: Mapped[Decimal | None] = mapped_column(Quantity())
    counted_serials: Mapped[list | None] = mapped_column(JSON)
    counted_by: Mapped[str | None] = mapped_column(String(80))
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recount_qty: Mapped[Decimal | None] = mapped_column(Quantity())
    recount_serials: Mapped[list | None] = mapped_column(JSON)
    recounted_by: Mapped[str | None] = mapped_column(String(80))
    recounted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # At the last (re)count: the book quantity (frozen + moved since), what moved, the variance.
    book_qty: Mapped[Decimal | None] = mapped_column(Quantity())
    book_serials: Mapped[list | None] = mapped_column(JSON)
    moved_qty: Mapped[Decimal | None] = mapped_column(Quantity())
    variance_qty: Mapped[Decimal | None] = mapped_column(Quantity())
    missing_serials: Mapped[list | None] = mapped_column(JSON)
    extra_serials: Mapped[list | None] = mapped_column(JSON)
    unit_value: Mapped[Decimal | None] = mapped_column(Rate())
    variance_value: Mapped[Decimal | None] = mapped_column(Money())
    within_tolerance: Mapped[bool | None] = mapped_column()
    adjustment_ids: Mapped[list | None] = mapped_column(JSON)  # stock ledger row ids
    note: Mapped[str | None] = mapped_column(String(500))
    count: Mapped[CycleCount] = relationship(back_populates="lines")
    bin: Mapped[Bin] = relationship()
    product: Mapped[Product] = relationship()
    __table_args__ = (
        UniqueConstraint("count_id", "line_no"),
        Index("ix_cycle_count_line_bin", "count_id", "bin_id"),
        Index("ix_cycle_count_line_open", "bin_id", "product_id", "status"),
    )
