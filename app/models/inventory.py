"""Products, warehouses and bins, suppliers, the stock ledger, stock levels and reservations."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import ZERO, Quantity, Rate, UTCDateTime, utcnow


class Product(db.Model):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    item_group: Mapped[str | None] = mapped_column(String(80))
    # Orders must be a multiple of this (e.g. sold by the box of 6).
    sales_multiple: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("1"))
    saleable: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    stock_tracked: Mapped[bool] = mapped_column(default=True)
    tracking: Mapped[str] = mapped_column(String(10), default="none")  # none | batch | serial
    weight_kg: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    lead_time_days: Mapped[int] = mapped_column(default=7)
    reorder_point: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    reorder_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    tax_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0.13"))
    default_supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    default_supplier: Mapped["Supplier | None"] = relationship()


class Supplier(db.Model):
    __tablename__ = "supplier"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    lead_time_days: Mapped[int] = mapped_column(default=7)
    min_order_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    pack_size: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("1"))
    # master data: duplicate detection compares this; deactivate, never delete
    normalized_name: Mapped[str | None] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Warehouse(db.Model):
    __tablename__ = "warehouse"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)  # master data: deactivate, never delete
    bins: Mapped[list["Bin"]] = relationship(back_populates="warehouse", order_by="Bin.code")


class Bin(db.Model):
    __tablename__ = "bin"
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    code: Mapped[str] = mapped_column(String(32))
    # A quarantine bin (returned goods awaiting inspection) holds stock nobody may promise:
    # reservation, availability, MRP and material issue skip it (Odoo's non-sellable location).
    sellable: Mapped[bool] = mapped_column(default=True)
    warehouse: Mapped[Warehouse] = relationship(back_populates="bins")
    __table_args__ = (UniqueConstraint("warehouse_id", "code"),)


def in_sellable_bin():
    """Condition on StockLevel: the level's bin may be reserved and counted as available."""
    return StockLevel.bin_id.in_(select(Bin.id).where(Bin.sellable.is_(True)))


class StockLedger(db.Model):
    """Append-only: every stock movement with the document that caused it."""

    __tablename__ = "stock_ledger"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())  # + in, - out
    kind: Mapped[str] = mapped_column(String(16))  # receipt | issue | adjustment | return | transfer
    batch: Mapped[str | None] = mapped_column(String(64))
    serial: Mapped[str | None] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date)
    doc_type: Mapped[str | None] = mapped_column(String(32))
    doc_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        Index("ix_ledger_product_bin", "product_id", "bin_id"),
        Index("ix_ledger_doc", "doc_type", "doc_id"),
        Index("ix_ledger_serial", "serial"),
        Index("ix_ledger_batch", "batch"),
    )


class StockLevel(db.Model):
    """Per bin: on hand (rebuilt identically from the ledger) and hard-reserved quantity."""

    __tablename__ = "stock_level"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    on_hand: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    reserved: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    __table_args__ = (
        UniqueConstraint("product_id", "bin_id"),
        CheckConstraint("reserved >= 0", name="ck_stock_reserved_nonnegative"),
        CheckConstraint("reserved <= on_hand", name="ck_stock_reserved_le_on_hand"),
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand_nonnegative"),
        Index("ix_stock_level_product_wh", "product_id", "warehouse_id"),
    )


class Reservation(db.Model):
    __tablename__ = "reservation"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    status: Mapped[str] = mapped_column(String(12), default="active")  # active|released|issued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_reservation_line", "order_line_id", "status"),)


class ReplenishmentRequest(db.Model):
    """A shortage to be covered by purchasing (or, later, production), pegged to an order line."""

    __tablename__ = "replenishment_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order_line.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|received|cancelled
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (
        # one open request per order line: a rerun of the step is a no-op
        Index("uq_replenishment_open_line", "order_line_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_replenishment_product_status", "product_id", "status"),
    )
