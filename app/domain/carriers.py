"""Carrier booking: a small adapter interface, the in-process demo carrier, and the PDF label.

A real carrier is a class with ``code`` and ``book(CarrierShipment) -> Booking`` registered with
:func:`register_carrier`. Adapters get plain data (no session), so one that calls out over the
network can be driven from the outbox with the shipment number as the idempotency key.
"""
import io
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.domain.errors import Conflict, Invalid
from app.domain.shipping import locked_shipment
from app.models.inventory import Bin, Warehouse
from app.models.sales import Customer, SalesOrder
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import utcnow


@dataclass(frozen=True)
class CarrierShipment:
    """What a carrier needs to book and label a shipment."""

    number: str
    order_number: str
    recipient: str
    ship_to: dict
    ship_from: dict | None
    sender: str
    parcel_weights: tuple[Decimal, ...]

    @property
    def weight_kg(self) -> Decimal:
        return sum(self.parcel_weights, Decimal(0))


@dataclass(frozen=True)
class Booking:
    carrier: str
    tracking_number: str
    label_pdf: bytes


class Carrier(ABC):
    code: str
    name: str

    @abstractmethod
    def book(self, shipment: CarrierShipment) -> Booking:
        """Book the shipment; the same shipment number must give the same tracking number."""


class DemoPostCarrier(Carrier):
    """No network: the tracking number is derived from the shipment number, the label drawn here."""

    code, name = "demo-post", "Demo Post"

    def book(self, shipment: CarrierShipment) -> Booking:
        tracking = demo_tracking_number(shipment.number)
        return Booking(self.code, tracking, render_label(shipment, tracking, self.name))


def demo_tracking_number(shipment_number: str) -> str:
    """"DP" + the shipment number's digits + a Luhn check digit: SH-2026-00001 -> DP2026000014."""
    digits = re.sub(r"\D", "", shipment_number)
    if not digits:
        raise Invalid("shipment number has no digits",
                      [{"field": "number", "message": "cannot derive a tracking number"}])
    return f"DP{digits}{luhn_check_digit(digits)}"


def luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)  # double every second digit from the right
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


_carriers: dict[str, Carrier] = {}


def register_carrier(carrier: Carrier) -> Carrier:
    _carriers[carrier.code] = carrier
    return carrier


def get_carrier(code: str) -> Carrier:
    try:
        return _carriers[code]
    except KeyError:
        raise Invalid(f"unknown carrier {code!r}", [
            {"field": "carrier", "message": f"one of {', '.join(sorted(_carriers))}"}]) from None


register_carrier(DemoPostCarrier())


def book(session, shipment_id, carrier: str = "demo-post") -> dict:
    """Book a packed shipment once; a booked (or delivered) one returns its existing booking."""
    shipment = locked_shipment(session, shipment_id)
    if shipment.tracking_number is None:
        if shipment.status != "packed":
            raise Conflict(f"shipment {shipment.number} is {shipment.status}; pack it first")
        booking = get_carrier(carrier).book(_carrier_shipment(session, shipment))
        shipment.carrier, shipment.tracking_number = booking.carrier, booking.tracking_number
        shipment.label_pdf, shipment.status, shipment.shipped_at = (
            booking.label_pdf, "booked", utcnow())
        session.flush()
    return {"shipment_id": shipment.id, "number": shipment.number, "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number}


def _carrier_shipment(session, shipment: Shipment) -> CarrierShipment:
    number, ship_to, recipient, customer_ship_to = session.execute(
        select(SalesOrder.number, SalesOrder.ship_to, Customer.name, Customer.shipping_address)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .where(SalesOrder.id == shipment.order_id)).one()
    ship_to = ship_to or customer_ship_to
    if not ship_to:
        raise Conflict(f"order {number} has no ship-to address")
    # The sender is the warehouse of the first line (the lines' id order is the pick order).
    warehouse = session.execute(
        select(Warehouse.name, Warehouse.address)
        .join(Bin, Bin.warehouse_id == Warehouse.id)
        .join(ShipmentLine, ShipmentLine.bin_id == Bin.id)
        .where(ShipmentLine.shipment_id == shipment.id)
        .order_by(ShipmentLine.id).limit(1)).first()
    return CarrierShipment(
        number=shipment.number, order_number=number, recipient=recipient,
        ship_to=ship_to, ship_from=warehouse.address if warehouse else None,
        sender=warehouse.name if warehouse else "",
        parcel_weights=tuple(Decimal(p["weight_kg"]) for p in shipment.parcels or []))


# --- the label -------------------------------------------------------------------------------

def address_lines(name: str, address: dict | None) -> list[str]:
    """Name, contact, street lines, "postcode city", country, phone — whatever the address has."""
    a = address or {}
    lines = [name, a.get("contact"), a.get("line1"), a.get("line2"),
             " ".join(str(p) for p in (a.get("postcode"), a.get("city")) if p),
             a.get("country"), f"Tel. {a['phone']}" if a.get("phone") else None]
    return [str(line) for line in lines if line]


def render_label(shipment: CarrierShipment, tracking_number: str, carrier_name: str) -> bytes:
    """An A6 label per parcel: carrier, sender, ship-to, shipment/order, weight, Code128 barcode."""
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    # invariant: no timestamps or random ids in the file, so one input gives the same bytes
    pdf = canvas.Canvas(buf, pagesize=A6, invariant=1, pageCompression=1)
    pdf.setTitle(f"{carrier_name} label {tracking_number}")
    width, height = A6
    weights = shipment.parcel_weights or (shipment.weight_kg,)
    for index, weight in enumerate(weights, start=1):
        y = height - 10 * mm
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(8 * mm, y, carrier_name.upper())
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawRightString(width - 8 * mm, y, f"Parcel {index}/{len(weights)}")
        y -= 4 * mm
        pdf.line(8 * mm, y, width - 8 * mm, y)

        y = _text_block(pdf, "FROM", address_lines(shipment.sender, shipment.ship_from),
                        8 * mm, y - 5 * mm, 7, 3.2 * mm)
        y = _text_block(pdf, "SHIP TO", address_lines(shipment.recipient, shipment.ship_to),
                        8 * mm, y - 6 * mm, 11, 5 * mm)
        y -= 2 * mm
        pdf.line(8 * mm, y, width - 8 * mm, y)
        pdf.setFont("Helvetica", 9)
        for text in (f"Shipment {shipment.number}   Order {shipment.order_number}",
                     f"Weight {weight} kg (total {shipment.weight_kg} kg, "
                     f"{len(weights)} parcel{'s' if len(weights) != 1 else ''})"):
            y -= 4.5 * mm
            pdf.drawString(8 * mm, y, text)

        barcode = Code128(tracking_number, barHeight=26 * mm, barWidth=0.35 * mm, quiet=0)
        x = (width - barcode.width) / 2
        barcode.drawOn(pdf, x, 17 * mm)
        pdf.setFont("Helvetica-Bold", 12)
        pdf.drawCentredString(width / 2, 10 * mm, tracking_number)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _text_block(pdf, title, lines, x, y, size, leading) -> float:
    pdf.setFont("Helvetica-Bold", 7)
    pdf.drawString(x, y, title)
    for line in lines:
        y -= leading
        _draw_runs(pdf, x + 2, y, line, size, bold=size >= 10,
                   max_width=pdf._pagesize[0] - 2 * x - 2)
    return y


def _draw_runs(pdf, x, y, text, size, bold, max_width):
    """Latin-1 runs in Helvetica, the rest (Chinese names and streets) in a CJK font; a line too
    long for the label is set smaller rather than cut off."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    latin = "Helvetica-Bold" if bold else "Helvetica"
    runs = [(chunk, latin if ord(chunk[0]) <= 0xFF else _cjk_font())
            for chunk in re.findall(r"[\x00-\xff]+|[^\x00-\xff]+", text)]
    width = sum(stringWidth(chunk, font, size) for chunk, font in runs)
    if width > max_width:
        size = max(5, size * max_width / width)
    for chunk, font in runs:
        pdf.setFont(font, size)
        pdf.drawString(x, y, chunk)
        x += stringWidth(chunk, font, size)


def _cjk_font() -> str:
    # A standard Adobe CID font: not embedded, so the file stays small; viewers supply the glyphs.
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"
