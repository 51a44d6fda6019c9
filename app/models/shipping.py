"""Pick lists, shipments with carrier booking, and the outbox for calls that leave the database."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import ZERO, Quantity, UTCDateTime, utcnow


class Shipment(db.Model):
    __tablename__ = "shipment"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    status: Mapped[str] = mapped_column(String(12), default="picking")
    # picking | packed | booked | delivered | cancelled
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    label_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    parcels: Mapped[list | None] = mapped_column(JSON)  # [{"weight_kg": "1.2"}, ...]
    weight_kg: Mapped[Decimal] = mapped_column(Quantity(), default=ZERO)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    picked_by: Mapped[str | None] = mapped_column(String(80))
    # Set when the pick is confirmed and the stock issued (the fact that makes confirm a no-op).
    picked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lines: Mapped[list["ShipmentLine"]] = relationship(back_populates="shipment",
                                                       cascade="all, delete-orphan")
    __table_args__ = (Index("ix_shipment_order", "order_id"),)


class ShipmentLine(db.Model):
    __tablename__ = "shipment_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
    # The reservation this line picks (one reservation may split over batches): issued on confirm.
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservation.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    batch: Mapped[str | None] = mapped_column(String(64))
    # While picking: the serials on hand in the bin to scan; once confirmed: the ones shipped.
    serials: Mapped[list | None] = mapped_column(JSON)
    shipment: Mapped[Shipment] = relationship(back_populates="lines")


class Outbox(db.Model):
    """Side effects that leave the database (e-mail, webhooks), sent after commit, once per key."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # email | webhook
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)


class Notification(db.Model):
    """An in-app notice on the inbox, for a user or everyone in a group."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    username: Mapped[str | None] = mapped_column(String(80))
    group_name: Mapped[str | None] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_notification_user", "username", "read_at"),
                      Index("ix_notification_group", "group_name", "read_at"))
