"""Manufacturing master data (BOMs, work centres, routings, item planning settings) and MRP
output (runs, planned orders and their pegging to the demand they serve)."""
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.inventory import Product
from app.models.types import ZERO, Money, Quantity, Rate, UTCDateTime, utcnow

MAKE_OR_BUY = ("make", "buy")
LOT_SIZING = ("lot_for_lot", "fixed", "eoq", "moq")
PLANNED_KINDS = ("work_order", "purchase_request")
PLANNED_STATUSES = ("planned", "firm", "released", "closed")
DEMAND_TYPES = ("sales_order_line", "planned_order")


class Bom(db.Model):
    """One version of a product's bill of materials; the one effective on a date is used."""

    __tablename__ = "bom"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    version: Mapped[int] = mapped_column(default=1)
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    product: Mapped[Product] = relationship()
    lines: Mapped[list["BomLine"]] = relationship(
        back_populates="bom", cascade="all, delete-orphan", order_by="BomLine.line_no")
    planning: Mapped["ItemPlanning | None"] = relationship(
        primaryjoin="Bom.product_id == foreign(ItemPlanning.product_id)", viewonly=True)
    __table_args__ = (UniqueConstraint("product_id", "version", name="uq_bom_product_version"),)


class BomLine(db.Model):
    __tablename__ = "bom_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("bom.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    component_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    qty_per: Mapped[Decimal] = mapped_column(Quantity())
    scrap_percent: Mapped[Decimal] = mapped_column(Rate(), default=ZERO)
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    bom: Mapped[Bom] = relationship(back_populates="lines")
    component: Mapped[Product] = relationship()
    planning: Mapped["ItemPlanning | None"] = relationship(
        primaryjoin="BomLine.component_id == foreign(ItemPlanning.product_id)", viewonly=True)
    __table_args__ = (
        UniqueConstraint("bom_id", "line_no"),
        CheckConstraint("qty_per > 0", name="ck_bom_line_qty_positive"),
        Index("ix_bom_line_component", "component_id"),
    )


class WorkCentre(db.Model):
    __tablename__ = "work_centre"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    hours_per_day: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("8"))
    active: Mapped[bool] = mapped_column(default=True)


class Routing(db.Model):
    """How a make item is made: operations at work centres (one active routing per product)."""

    __tablename__ = "routing"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    name: Mapped[str] = mapped_column(String(200), default="standard")
    active: Mapped[bool] = mapped_column(default=True)
    operations: Mapped[list["RoutingOperation"]] = relationship(
        back_populates="routing", cascade="all, delete-orphan", order_by="RoutingOperation.seq")
    __table_args__ = (Index("ix_routing_product", "product_id", "active"),)


class RoutingOperation(db.Model):
    __tablename__ = "routing_operation"
    id: Mapped[int] = mapped_column(primary_key=True)
    routing_id: Mapped[int] = mapped_column(ForeignKey("routing.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    work_centre_id: Mapped[int] = mapped_column(ForeignKey("work_centre.id"))
    description: Mapped[str | None] = mapped_column(String(200))
    setup_minutes: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    run_minutes: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)  # per unit
    routing: Mapped[Routing] = relationship(back_populates="operations")
    work_centre: Mapped[WorkCentre] = relationship()
    __table_args__ = (UniqueConstraint("routing_id", "seq"),)


class ItemPlanning(db.Model):
    """MRP settings of a product; a product without a row plans lot-for-lot with no safety stock
    (make when it has a BOM, buy otherwise)."""

    __tablename__ = "item_planning"
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    make_or_buy: Mapped[str | None] = mapped_column(String(4))  # make | buy | None = inferred
    lot_sizing: Mapped[str] = mapped_column(String(12), default="lot_for_lot")
    fixed_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    min_order_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    order_multiple: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    safety_stock: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    # EOQ = sqrt(2·D·S/H): S per order, H per unit and year, D per year (None: from the horizon)
    order_cost: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    holding_cost: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    annual_demand: Mapped[Decimal | None] = mapped_column(Quantity())
    lead_time_days: Mapped[int | None] = mapped_column()  # overrides Product.lead_time_days
    # Kept current by app.domain.boms on every BOM change (0 = top level / not a component).
    low_level_code: Mapped[int] = mapped_column(default=0)
    product: Mapped[Product] = relationship()


class MrpRun(db.Model):
    __tablename__ = "mrp_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_date: Mapped[date] = mapped_column(Date)  # "today" of the run: bucket 0
    horizon_days: Mapped[int] = mapped_column(default=90)
    bucket: Mapped[str] = mapped_column(String(8), default="day")
    started_by: Mapped[str | None] = mapped_column(String(80))
    counts: Mapped[dict | None] = mapped_column(JSON)
    exceptions: Mapped[list | None] = mapped_column(JSON)


class PlannedOrder(db.Model):
    """MRP's proposal (planned), frozen by a planner (firm), handed on (released), done (closed).
    Only `planned` rows belong to MRP: a rerun rewrites them in place."""

    __tablename__ = "planned_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # work_order | purchase_request
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    release_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("mrp_run.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    product: Mapped[Product] = relationship()
    pegging: Mapped[list["Pegging"]] = relationship(
        back_populates="planned_order", cascade="all, delete-orphan", order_by="Pegging.id",
        passive_deletes=True)
    __table_args__ = (
        # one MRP proposal per item and daily bucket: two runs can never leave duplicates
        Index("uq_planned_order_bucket", "product_id", "due_date", unique=True,
              sqlite_where=text("status = 'planned'"), postgresql_where=text("status = 'planned'")),
        Index("ix_planned_order_status_kind", "status", "kind"),
        CheckConstraint("quantity > 0", name="ck_planned_order_qty_positive"),
    )


class Pegging(db.Model):
    """Which demand a planned order's quantity serves: a sales order line or a parent order."""

    __tablename__ = "pegging"
    id: Mapped[int] = mapped_column(primary_key=True)
    planned_order_id: Mapped[int] = mapped_column(
        ForeignKey("planned_order.id", ondelete="CASCADE"))
    demand_type: Mapped[str] = mapped_column(String(20))  # sales_order_line | planned_order
    demand_id: Mapped[int] = mapped_column()
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    planned_order: Mapped[PlannedOrder] = relationship(back_populates="pegging")
    __table_args__ = (
        Index("ix_pegging_order", "planned_order_id"),
        Index("ix_pegging_demand", "demand_type", "demand_id"),
    )
