"""Invoices, payments and their allocations, and the journal they post to."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import ZERO, Money, Quantity, Rate, UTCDateTime, utcnow  # noqa: F401


class Invoice(db.Model):
    __tablename__ = "invoice"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")  # invoice | credit_note
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    # One invoice per shipment: a double submit or a retried step cannot bill twice.
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"), unique=True)
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    net_total: Mapped[Decimal] = mapped_column(Money())
    tax_total: Mapped[Decimal] = mapped_column(Money())
    total: Mapped[Decimal] = mapped_column(Money())
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    status: Mapped[str] = mapped_column(String(12), default="posted")  # posted|paid|cancelled
    dunning_level: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice",
                                                      cascade="all, delete-orphan")
    __table_args__ = (
        CheckConstraint("paid_amount <= total", name="ck_invoice_not_overpaid"),
        Index("ix_invoice_customer_status", "customer_id", "status"),
        # Credit notes of an invoice (credited_amounts runs on every balance check).
        Index("ix_invoice_credited", "credited_invoice_id"),
        Index("ix_invoice_order", "order_id"),
    )


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Rate())
    net_amount: Mapped[Decimal] = mapped_column(Money())
    tax_rate: Mapped[Decimal] = mapped_column(Rate())
    tax_amount: Mapped[Decimal] = mapped_column(Money())
    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(db.Model):
    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The bank's / gateway's id: the same payment reported twice is recorded once.
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    reference: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unallocated: Mapped[Decimal] = mapped_column(Money())
    allocations: Mapped[list["PaymentAllocation"]] = relationship(back_populates="payment")
    __table_args__ = (CheckConstraint("unallocated >= 0", name="ck_payment_unallocated"),
                      # The credit check sums a customer's payments.
                      Index("ix_payment_customer", "customer_id"))


class PaymentAllocation(db.Model):
    __tablename__ = "payment_allocation"
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    payment: Mapped[Payment] = relationship(back_populates="allocations")
    __table_args__ = (CheckConstraint("amount > 0", name="ck_allocation_positive"),)


class JournalEntry(db.Model):
    __tablename__ = "journal_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(20))
    doc_id: Mapped[int] = mapped_column()
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lines: Mapped[list["JournalLine"]] = relationship(back_populates="entry",
                                                      cascade="all, delete-orphan")
    __table_args__ = (Index("ix_journal_doc", "doc_type", "doc_id"),)


class JournalLine(db.Model):
    __tablename__ = "journal_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(40))  # accounts_receivable | revenue | tax_payable | cash
    debit: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    credit: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
