"""Customers, price lists and pricing rules, sales orders and their lines."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.inventory import Product
from app.models.types import ZERO, Money, Quantity, Rate, UTCDateTime, utcnow

CUSTOMER_TYPES = ("standard", "vip", "key_account")


class PriceList(db.Model):
    __tablename__ = "price_list"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    active: Mapped[bool] = mapped_column(default=True)  # master data: deactivate, never delete
    items: Mapped[list["ItemPrice"]] = relationship(back_populates="price_list",
                                                    cascade="all, delete-orphan",
                                                    order_by="ItemPrice.id")
    rules: Mapped[list["PricingRule"]] = relationship(order_by="PricingRule.id")


class ItemPrice(db.Model):
    __tablename__ = "item_price"
    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    unit_price: Mapped[Decimal] = mapped_column(Rate())
    min_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    price_list: Mapped[PriceList] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
    __table_args__ = (Index("ix_item_price_lookup", "price_list_id", "product_id"),)


class PricingRule(db.Model):
    """A discount: on an item, an item group or the whole order, with qty/amount breaks."""

    __tablename__ = "pricing_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id"))
    applies_to: Mapped[str] = mapped_column(String(12))  # item | item_group | order
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    item_group: Mapped[str | None] = mapped_column(String(80))
    min_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    min_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    discount_percent: Mapped[Decimal] = mapped_column(Rate())
    priority: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    product: Mapped[Product | None] = relationship()


class Customer(db.Model):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), default="standard")
    tax_id: Mapped[str | None] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    normalized_name: Mapped[str] = mapped_column(String(200), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    credit_limit: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    credit_bypass: Mapped[bool] = mapped_column(default=False)
    blocked: Mapped[bool] = mapped_column(default=False)
    billing_address: Mapped[dict | None] = mapped_column(JSON)
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    # "complete": ship when every line is reserved; "partial": ship what is there, backorder
    # the rest (Odoo's delivery policy). Orders copy it and may override it.
    shipping_policy: Mapped[str] = mapped_column(String(10), default="complete")
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id"))
    possible_duplicate_of: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    price_list: Mapped[PriceList | None] = relationship()


class SalesOrder(db.Model):
    __tablename__ = "sales_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="api")
    currency: Mapped[str] = mapped_column(String(3))
    requested_date: Mapped[date | None] = mapped_column(Date)
    ship_to: Mapped[dict | None] = mapped_column(JSON)
    shipping_policy: Mapped[str] = mapped_column(String(10), default="complete")
    net_total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    # Facts the process records; the status shown is derived from them (app.domain.orders).
    credit_checked: Mapped[dict | None] = mapped_column(JSON)  # the figures used
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Cancelled after a partial shipment: what was shipped stays billed, the rest is dropped.
    backorder_cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list["SalesOrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="SalesOrderLine.line_no")
    __table_args__ = (
        UniqueConstraint("customer_id", "external_ref", name="uq_order_customer_external_ref"),
        Index("ix_order_customer_created", "customer_id", "created_at"),
    )


class SalesOrderLine(db.Model):
    __tablename__ = "sales_order_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    list_price: Mapped[Decimal] = mapped_column(Rate())
    discount_percent: Mapped[Decimal] = mapped_column(Rate(), default=ZERO)
    unit_price: Mapped[Decimal] = mapped_column(Rate())
    amount: Mapped[Decimal] = mapped_column(Money())
    tax_rate: Mapped[Decimal] = mapped_column(Rate())
    tax_amount: Mapped[Decimal] = mapped_column(Money())
    pricing_source: Mapped[str] = mapped_column(String(200))
    # Running totals kept in the same transaction as the documents that move them.
    delivered_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    invoiced_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    returned_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    order: Mapped[SalesOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)


class DocumentSequence(db.Model):
    """Gap-free numbering per (kind, year): the row is locked while a number is taken."""

    __tablename__ = "document_sequence"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
