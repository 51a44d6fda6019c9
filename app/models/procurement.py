"""Procurement and production documents: purchase orders (a purchase request is a PO awaiting
approval) with their goods receipts, and work orders with their materials, operations and
quality inspections.

Each document made from an MRP planned order keeps `planned_order_id` (unique), so releasing the
same planned order twice finds the document instead of making a second one; the pegging to the
demand it serves stays on the planned order (app.models.manufacturing.Pegging).
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.inventory import Bin, Product, Supplier
from app.models.manufacturing import PlannedOrder, WorkCentre
from app.models.types import ZERO, Money, Quantity, Rate, UTCDateTime, utcnow

# requested (the purchase request, awaiting approval) → approved → ordered (sent to the
# supplier) → partially_received → received; or rejected / cancelled.
PO_STATUSES = ("requested", "approved", "ordered", "partially_received", "received", "rejected",
               "cancelled")
PO_OPEN = ("requested", "approved", "ordered", "partially_received")
# released → materials_short → in_progress → inspection → completed; or scrapped/cancelled.
WO_STATUSES = ("released", "materials_short", "in_progress", "inspection", "completed",
               "scrapped", "cancelled")
WO_OPEN = ("released", "materials_short", "in_progress", "inspection")
INSPECTION_RESULTS = ("pass", "fail")
INSPECTION_OUTCOMES = ("accept", "rework", "scrap")


class SupplierPrice(db.Model):
    """What a supplier charges for a product (from min_qty up); purchase orders are priced here."""

    __tablename__ = "supplier_price"
    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    unit_price: Mapped[Decimal] = mapped_column(Rate())
    min_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    __table_args__ = (
        UniqueConstraint("supplier_id", "product_id", "min_qty", name="uq_supplier_price"),
        CheckConstraint("unit_price >= 0", name="ck_supplier_price_nonnegative"),
    )


class PurchaseOrder(db.Model):
    __tablename__ = "purchase_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    planned_order_id: Mapped[int | None] = mapped_column(ForeignKey("planned_order.id"),
                                                         unique=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    net_total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    due_date: Mapped[date] = mapped_column(Date)
    # where the goods are expected (the receiving task proposes it)
    receive_bin_id: Mapped[int | None] = mapped_column(ForeignKey("bin.id"))
    requested_by: Mapped[str | None] = mapped_column(String(80))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    # the supplier's answer when chased (promised date, note)
    chased: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supplier: Mapped[Supplier] = relationship()
    planned_order: Mapped[PlannedOrder | None] = relationship()
    receive_bin: Mapped[Bin | None] = relationship()
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="purchase_order", cascade="all, delete-orphan",
        order_by="PurchaseOrderLine.line_no")
    receipts: Mapped[list["GoodsReceipt"]] = relationship(
        back_populates="purchase_order", order_by="GoodsReceipt.id")
    __table_args__ = (Index("ix_purchase_order_status_due", "status", "due_date"),)


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Rate())
    amount: Mapped[Decimal] = mapped_column(Money())
    tax_rate: Mapped[Decimal] = mapped_column(Rate(), default=ZERO)
    received_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "line_no"),
        CheckConstraint("quantity > 0", name="ck_po_line_qty_positive"),
        CheckConstraint("received_qty >= 0", name="ck_po_line_received_nonnegative"),
        Index("ix_po_line_product", "product_id"),
    )


class GoodsReceipt(db.Model):
    """Goods received against a PO; `reference` (the delivery note, or the API's reference) is
    unique per PO, so a replayed receipt returns the first one."""

    __tablename__ = "goods_receipt"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"))
    reference: Mapped[str] = mapped_column(String(64))
    received_by: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(12), default="task")  # task | api
    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    lines: Mapped[list["GoodsReceiptLine"]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan", order_by="GoodsReceiptLine.id")
    __table_args__ = (UniqueConstraint("purchase_order_id", "reference",
                                       name="uq_goods_receipt_po_reference"),)


class GoodsReceiptLine(db.Model):
    __tablename__ = "goods_receipt_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipt.id", ondelete="CASCADE"))
    po_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    batch: Mapped[str | None] = mapped_column(String(64))
    serials: Mapped[list | None] = mapped_column(JSON)
    expiry: Mapped[date | None] = mapped_column(Date)
    receipt: Mapped[GoodsReceipt] = relationship(back_populates="lines")
    po_line: Mapped[PurchaseOrderLine] = relationship()
    product: Mapped[Product] = relationship()
    bin: Mapped[Bin] = relationship()
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_gr_line_qty_positive"),)


class WorkOrder(db.Model):
    __tablename__ = "work_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    planned_order_id: Mapped[int | None] = mapped_column(ForeignKey("planned_order.id"),
                                                         unique=True)
    status: Mapped[str] = mapped_column(String(20), default="released")
    release_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    bom_id: Mapped[int | None] = mapped_column(ForeignKey("bom.id"))
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routing.id"))
    output_bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    rework_count: Mapped[int] = mapped_column(default=0)
    completed_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    scrapped_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    released_by: Mapped[str | None] = mapped_column(String(80))
    closed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    product: Mapped[Product] = relationship()
    planned_order: Mapped[PlannedOrder | None] = relationship()
    output_bin: Mapped[Bin] = relationship()
    materials: Mapped[list["WorkOrderMaterial"]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan",
        order_by="WorkOrderMaterial.line_no")
    operations: Mapped[list["WorkOrderOperation"]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan",
        order_by="WorkOrderOperation.seq")
    inspections: Mapped[list["QualityInspection"]] = relationship(
        back_populates="work_order", order_by="QualityInspection.round")
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_work_order_qty_positive"),
        Index("ix_work_order_status", "status"),
    )


class WorkOrderMaterial(db.Model):
    """A component the work order consumes: required (BOM qty × (1 + scrap)) and issued so far."""

    __tablename__ = "work_order_material"
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    required_qty: Mapped[Decimal] = mapped_column(Quantity())
    issued_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    work_order: Mapped[WorkOrder] = relationship(back_populates="materials")
    product: Mapped[Product] = relationship()
    __table_args__ = (
        UniqueConstraint("work_order_id", "line_no"),
        CheckConstraint("issued_qty <= required_qty", name="ck_wo_material_not_over_issued"),
        Index("ix_wo_material_product", "product_id"),
    )


class WorkOrderOperation(db.Model):
    """An operation copied from the routing at release; `round` counts rework passes."""

    __tablename__ = "work_order_operation"
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    work_centre_id: Mapped[int | None] = mapped_column(ForeignKey("work_centre.id"))
    description: Mapped[str | None] = mapped_column(String(200))
    setup_minutes: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    run_minutes: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done
    round: Mapped[int] = mapped_column(default=0)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    work_order: Mapped[WorkOrder] = relationship(back_populates="operations")
    work_centre: Mapped[WorkCentre | None] = relationship()
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)


class QualityInspection(db.Model):
    """One inspection per round of a work order: pass (accept) or fail (rework / scrap)."""

    __tablename__ = "quality_inspection"
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"))
    round: Mapped[int] = mapped_column()
    result: Mapped[str] = mapped_column(String(4))  # pass | fail
    outcome: Mapped[str] = mapped_column(String(8))  # accept | rework | scrap
    inspector: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    work_order: Mapped[WorkOrder] = relationship(back_populates="inspections")
    __table_args__ = (
        UniqueConstraint("work_order_id", "round", name="uq_inspection_round"),
        CheckConstraint("result IN ('pass', 'fail')", name="ck_inspection_result"),
        CheckConstraint("outcome IN ('accept', 'rework', 'scrap')", name="ck_inspection_outcome"),
    )
