"""After-sales: return requests (RMA) and their lines, repair orders, customer surveys, and
where a credit note came from (its reason and the return that caused it)."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import ZERO, Quantity, UTCDateTime, utcnow

RETURN_OUTCOMES = ("restock", "scrap", "repair", "replacement")


class ReturnRequest(db.Model):
    """One RMA against one sales order. Its status is derived from the facts recorded here."""

    __tablename__ = "return_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    origin: Mapped[str] = mapped_column(String(16), default="customer")  # customer | cancellation
    # The customer's own reference: unique per order, a replay returns the existing RMA.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(80))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(Text)
    # Goods arrive in the warehouse's returns (quarantine) bin and wait there for inspection.
    quarantine_bin_id: Mapped[int | None] = mapped_column(ForeignKey("bin.id"))
    received_by: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(12))  # RETURN_OUTCOMES
    inspected_by: Mapped[str | None] = mapped_column(String(80))
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inspection_note: Mapped[str | None] = mapped_column(Text)
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lines: Mapped[list["ReturnLine"]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLine.line_no")
    __table_args__ = (
        UniqueConstraint("order_id", "external_ref", name="uq_return_order_external_ref"),
        Index("ix_return_order", "order_id"),
        Index("ix_return_customer_created", "customer_id", "created_at"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {RETURN_OUTCOMES}",
                        name="ck_return_outcome"),
    )


class ReturnLine(db.Model):
    __tablename__ = "return_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_request.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())  # requested (and approved)
    serials: Mapped[list | None] = mapped_column(JSON)  # named by the customer, if any
    received_qty: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    received_serials: Mapped[list | None] = mapped_column(JSON)
    batch: Mapped[str | None] = mapped_column(String(64))
    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    __table_args__ = (
        UniqueConstraint("return_id", "line_no"),
        UniqueConstraint("return_id", "order_line_id", name="uq_return_line_order_line"),
        Index("ix_return_line_order_line", "order_line_id"),
        CheckConstraint("quantity > 0", name="ck_return_line_quantity"),
        CheckConstraint("received_qty >= 0 AND received_qty <= quantity",
                        name="ck_return_line_received"),
    )


class RepairOrder(db.Model):
    """The repair of an RMA's goods; repaired goods go back to the customer."""

    __tablename__ = "repair_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_request.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|repaired|not_repairable
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    shipped_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerSurvey(db.Model):
    """A satisfaction survey sent after a return; only a hash of its link's token is kept."""

    __tablename__ = "customer_survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_request.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="sent")  # sent | answered | expired
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="ck_survey_score"),
        Index("ix_survey_answered", "answered_at"),
    )


class CreditNoteOrigin(db.Model):
    """Why a credit note (an Invoice of kind "credit_note") was issued, and by which return."""

    __tablename__ = "credit_note_origin"
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"),
                                            primary_key=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("return_request.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(80))
