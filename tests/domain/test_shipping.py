"""Shipping: pick list (FEFO/FIFO, serials), pick confirmation issuing stock, packing, carrier
booking with a PDF label, delivery."""
import base64
import re
import threading
import zlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import carriers, shipping
from app.domain.errors import Conflict, Invalid
from app.domain.numbering import next_number
from app.engine.operators import BusinessError, UnitContext, invoke
from app.extensions import db
from app.models.inventory import Bin, Product, Reservation, StockLedger, StockLevel, Warehouse
from app.models.sales import Customer, DocumentSequence, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment

ADDRESS = {"line1": "1 Century Ave", "city": "Shanghai", "postcode": "200120", "country": "CN"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class World:
    """Warehouse WH with bins A-01/A-02, a customer, and helpers for stock, orders, reservations."""

    def __init__(self, session):
        self.s = session
        self.wh = Warehouse(code="WH", name="Main warehouse",
                            address={"line1": "9 Dock Rd", "city": "Suzhou", "country": "CN"})
        session.add(self.wh)
        session.flush()
        self.bins = {}
        for code in ("A-01", "A-02"):
            self.bins[code] = Bin(warehouse_id=self.wh.id, code=code)
            session.add(self.bins[code])
        self.customer = Customer(code="ACME", name="Acme Trading", normalized_name="acme",
                                 shipping_address=ADDRESS, billing_address=ADDRESS)
        session.add(self.customer)
        session.flush()
        self.orders = 0

    def product(self, sku, tracking="none"):
        p = Product(sku=sku, name=sku, tracking=tracking)
        self.s.add(p)
        self.s.flush()
        return p

    def receive(self, product, qty, bin_code="A-01", batch=None, expiry=None, serial=None,
                at=T0):
        """A ledger receipt plus the cached level (what inventory's receipt would write)."""
        bin_ = self.bins[bin_code]
        self.s.add(StockLedger(product_id=product.id, bin_id=bin_.id, quantity=Decimal(qty),
                               kind="receipt", batch=batch, expiry=expiry, serial=serial,
                               doc_type="test", doc_id="R", at=at))
        level = self.level(product, bin_code)
        if level is None:
            level = StockLevel(product_id=product.id, bin_id=bin_.id, warehouse_id=self.wh.id,
                               on_hand=Decimal(0), reserved=Decimal(0))
            self.s.add(level)
        level.on_hand += Decimal(qty)
        self.s.flush()

    def level(self, product, bin_code="A-01"):
        return self.s.scalar(select(StockLevel).where(
            StockLevel.product_id == product.id, StockLevel.bin_id == self.bins[bin_code].id))

    def order(self, *lines, ship_to=None):
        """lines: (product, qty); returns the order."""
        self.orders += 1
        order = SalesOrder(number=f"SO-{self.orders}", customer_id=self.customer.id,
                           currency="CNY", ship_to=ship_to)
        for no, (product, qty) in enumerate(lines, start=1):
            order.lines.append(SalesOrderLine(
                line_no=no, product_id=product.id, quantity=Decimal(qty), list_price=1,
                unit_price=1, amount=Decimal(qty), tax_rate=0, tax_amount=0, pricing_source="t"))
        self.s.add(order)
        self.s.flush()
        return order

    def reserve(self, order_line, qty, bin_code="A-01"):
        res = Reservation(order_line_id=order_line.id, product_id=order_line.product_id,
                          bin_id=self.bins[bin_code].id, quantity=Decimal(qty), status="active")
        self.s.add(res)
        self.level(order_line.product, bin_code).reserved += Decimal(qty)
        self.s.flush()
        return res


@pytest.fixture
def world(session, frozen_clock):
    return World(session)


def confirm_all(pick, **serials_by_line):
    return [{"line_id": ln["line_id"], "quantity": str(ln["quantity"]),
             **({"serials": serials_by_line[str(ln["line_no"])]}
                if str(ln["line_no"]) in serials_by_line else {})}
            for ln in pick["lines"]]


def label_text(pdf: bytes) -> bytes:
    """The page content streams of a reportlab PDF (ASCII85 + Flate), decoded."""
    return b"".join(zlib.decompress(base64.a85decode(m.group(1).strip(), adobe=True))
                    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S))


def picked_and_packed(session, world, qty="4", parcels=({"weight_kg": "1.5"},)):
    widget = world.product("WIDGET")
    world.receive(widget, "10")
    order = world.order((widget, qty))
    world.reserve(order.lines[0], qty)
    pick = shipping.create_pick_list(session, order.id)
    shipping.confirm_pick(session, pick["shipment_id"], confirm_all(pick), "pia")
    shipping.pack(session, pick["shipment_id"], list(parcels))
    return order, pick["shipment_id"]


# --- numbering -------------------------------------------------------------------------------

def test_next_number_is_gap_free_per_kind_and_year(session):
    assert next_number(session, "shipment", 2026, "SH") == "SH-2026-00001"
    assert next_number(session, "shipment", 2026, "SH") == "SH-2026-00002"
    assert next_number(session, "invoice", 2026, "INV") == "INV-2026-00001"
    assert next_number(session, "shipment", 2027, "SH") == "SH-2027-00001"
    session.rollback()  # a rolled-back number is given back
    assert next_number(session, "shipment", 2026, "SH") == "SH-2026-00001"


@pytest.mark.postgres_only
def test_concurrent_numbers_never_repeat(app, session):
    numbers, errors = [], []
    barrier = threading.Barrier(4)

    def take():
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(5):
                    numbers.append(next_number(db.session, "shipment", 2026, "SH"))
                    db.session.commit()
            except Exception as err:  # surfaced by the assertion below
                errors.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(numbers) == [f"SH-2026-{i:05d}" for i in range(1, 21)]
    assert session.get(DocumentSequence, ("shipment", 2026)).last == 20


# --- pick list -------------------------------------------------------------------------------

def test_pick_list_has_a_line_per_reservation_in_bin_order_and_is_idempotent(session, world):
    widget, gadget = world.product("WIDGET"), world.product("GADGET")
    world.receive(widget, "10", "A-02")
    world.receive(gadget, "5", "A-01")
    order = world.order((widget, "3"), (gadget, "2"))
    world.reserve(order.lines[0], "3", "A-02")
    world.reserve(order.lines[1], "2", "A-01")

    pick = shipping.create_pick_list(session, order.id)

    assert pick["number"] == "SH-2026-00001"
    assert [(ln["line_no"], ln["sku"], ln["bin"], ln["warehouse"], ln["quantity"], ln["batch"],
             ln["serials"]) for ln in pick["lines"]] == [
        (1, "GADGET", "A-01", "WH", Decimal("2"), None, None),
        (2, "WIDGET", "A-02", "WH", Decimal("3"), None, None)]
    again = shipping.create_pick_list(session, order.id)
    assert again == pick
    assert session.scalar(select(func.count()).select_from(Shipment)) == 1


def test_pick_list_needs_active_reservations(session, world):
    widget = world.product("WIDGET")
    order = world.order((widget, "1"))
    with pytest.raises(Conflict):
        shipping.create_pick_list(session, order.id)


def test_batches_are_picked_fefo_then_fifo_and_not_claimed_twice(session, world):
    milk = world.product("MILK", tracking="batch")
    world.receive(milk, "4", batch="B-LATE", expiry=date(2026, 9, 1), at=T0 - timedelta(days=9))
    world.receive(milk, "3", batch="B-SOON", expiry=date(2026, 4, 1), at=T0 - timedelta(days=1))
    world.receive(milk, "5", batch="B-NOEXP-OLD", at=T0 - timedelta(days=20))
    world.receive(milk, "5", batch="B-NOEXP-NEW", at=T0 - timedelta(days=2))
    first, second = world.order((milk, "5")), world.order((milk, "9"))
    world.reserve(first.lines[0], "5")
    world.reserve(second.lines[0], "9")

    pick1 = shipping.create_pick_list(session, first.id)
    pick2 = shipping.create_pick_list(session, second.id)

    # earliest expiry first; the batch without expiry comes last, oldest receipt first
    assert [(ln["batch"], ln["quantity"]) for ln in pick1["lines"]] == [
        ("B-SOON", Decimal("3")), ("B-LATE", Decimal("2"))]
    # the second pick list does not count what the first one is about to take
    assert [(ln["batch"], ln["quantity"]) for ln in pick2["lines"]] == [
        ("B-LATE", Decimal("2")), ("B-NOEXP-OLD", Decimal("5")), ("B-NOEXP-NEW", Decimal("2"))]


def test_confirm_issues_stock_once(session, world):
    milk = world.product("MILK", tracking="batch")
    world.receive(milk, "3", batch="B1", expiry=date(2026, 4, 1))
    world.receive(milk, "7", batch="B2", expiry=date(2026, 5, 1))
    order = world.order((milk, "5"))
    res = world.reserve(order.lines[0], "5")
    pick = shipping.create_pick_list(session, order.id)

    result = shipping.confirm_pick(session, pick["shipment_id"], confirm_all(pick), "pia")

    assert result["picked_by"] == "pia"
    issues = session.execute(select(StockLedger.batch, StockLedger.quantity, StockLedger.doc_id)
                             .where(StockLedger.kind == "issue", StockLedger.doc_type == "shipment")
                             .order_by(StockLedger.id)).all()
    assert [tuple(r) for r in issues] == [("B1", Decimal("-3"), pick["number"]),
                                          ("B2", Decimal("-2"), pick["number"])]
    level = world.level(milk)
    assert (level.on_hand, level.reserved) == (Decimal("5"), Decimal("0"))
    assert res.status == "issued" and res.closed_at is not None
    shipment = session.get(Shipment, pick["shipment_id"])
    assert shipment.status == "picking" and shipment.picked_at is not None

    shipping.confirm_pick(session, pick["shipment_id"], confirm_all(pick), "pia")  # replay
    assert session.scalar(select(func.count()).select_from(StockLedger)
                          .where(StockLedger.kind == "issue")) == 2
    assert world.level(milk).on_hand == Decimal("5")


def test_confirm_must_match_the_pick_list(session, world):
    widget, gadget = world.product("WIDGET"), world.product("GADGET")
    world.receive(widget, "10")
    world.receive(gadget, "10")
    order = world.order((widget, "3"), (gadget, "2"))
    world.reserve(order.lines[0], "3")
    world.reserve(order.lines[1], "2")
    pick = shipping.create_pick_list(session, order.id)
    first = pick["lines"][0]

    with pytest.raises(Invalid) as short:
        shipping.confirm_pick(session, pick["shipment_id"],
                              [{"line_id": first["line_id"], "quantity": "1"},
                               {"shipment_line_id": 999999, "quantity": "2"}], "pia")
    fields = [d["field"] for d in short.value.details]
    assert fields == ["confirmations[0].quantity", "confirmations[1].line_id", "confirmations"]
    with pytest.raises(Invalid) as bad:
        shipping.confirm_pick(session, pick["shipment_id"], "all of it", "pia")
    assert bad.value.details == [{"field": "confirmations", "message": "must be a list"}]
    assert session.scalar(select(func.count()).select_from(StockLedger)
                          .where(StockLedger.kind == "issue")) == 0
    assert world.level(widget).reserved == Decimal("3")


def test_serials_are_listed_scanned_and_ship_once(session, world):
    phone = world.product("PHONE", tracking="serial")
    for serial in ("SN-1", "SN-2", "SN-3"):
        world.receive(phone, "1", serial=serial)
    first, second = world.order((phone, "2")), world.order((phone, "1"))
    world.reserve(first.lines[0], "2")
    world.reserve(second.lines[0], "1")
    pick1 = shipping.create_pick_list(session, first.id)
    pick2 = shipping.create_pick_list(session, second.id)
    assert pick1["lines"][0]["serials"] == ["SN-1", "SN-2", "SN-3"]
    line1 = pick1["lines"][0]["line_id"]

    with pytest.raises(Invalid) as wrong:
        shipping.confirm_pick(session, pick1["shipment_id"], [
            {"line_id": line1, "quantity": 2, "serials": ["SN-1", "SN-9"]}], "pia")
    assert [d["field"] for d in wrong.value.details] == ["confirmations[0].serials"]
    with pytest.raises(Invalid):
        shipping.confirm_pick(session, pick1["shipment_id"], [
            {"line_id": line1, "quantity": 2, "serials": ["SN-1", "SN-1"]}], "pia")

    done = shipping.confirm_pick(session, pick1["shipment_id"], [
        {"line_id": line1, "quantity": 2, "serials": ["SN-3", "SN-1"]}], "pia")
    assert done["lines"][0]["serials"] == ["SN-3", "SN-1"]
    issued = session.execute(select(StockLedger.serial, StockLedger.quantity)
                             .where(StockLedger.kind == "issue")).all()
    assert sorted(tuple(r) for r in issued) == [("SN-1", Decimal("-1")), ("SN-3", Decimal("-1"))]

    # the second pick list listed SN-1 too, but it has shipped: it cannot ship again
    with pytest.raises(Invalid) as again:
        shipping.confirm_pick(session, pick2["shipment_id"], [
            {"line_id": pick2["lines"][0]["line_id"], "quantity": 1, "serials": ["SN-1"]}], "bo")
    assert "no longer on hand" in again.value.details[0]["message"]
    shipping.confirm_pick(session, pick2["shipment_id"], [
        {"line_id": pick2["lines"][0]["line_id"], "quantity": 1, "serials": ["SN-2"]}], "bo")
    assert world.level(phone).on_hand == Decimal("0")


def test_confirm_pick_operator_raises_pick_mismatch(session, world):
    widget = world.product("WIDGET")
    world.receive(widget, "10")
    order = world.order((widget, "3"))
    world.reserve(order.lines[0], "3")
    ctx = UnitContext(session=session, instance_id=None, business_key=order.number,
                      process_id="order", actor="pia")
    pick = invoke("shipping.create_pick_list", ctx, {"order_id": order.id})

    with pytest.raises(BusinessError) as err:
        invoke("shipping.confirm_pick", ctx, {
            "shipment_id": pick["shipment_id"],
            "confirmations": [{"line_id": pick["lines"][0]["line_id"], "quantity": "2"}]})
    assert err.value.code == "pick_mismatch"
    assert err.value.payload["details"][0]["field"] == "confirmations[0].quantity"

    done = invoke("shipping.confirm_pick", ctx, {"shipment_id": pick["shipment_id"],
                                                 "confirmations": confirm_all(pick)})
    assert done["picked_by"] == "pia"


# --- packing ---------------------------------------------------------------------------------

def test_pack_validates_parcels_and_needs_a_confirmed_pick(session, world):
    widget = world.product("WIDGET")
    world.receive(widget, "10")
    order = world.order((widget, "2"))
    world.reserve(order.lines[0], "2")
    pick = shipping.create_pick_list(session, order.id)
    sid = pick["shipment_id"]
    with pytest.raises(Conflict):
        shipping.pack(session, sid, [{"weight_kg": "1"}])
    shipping.confirm_pick(session, sid, confirm_all(pick), "pia")

    with pytest.raises(Invalid) as empty:
        shipping.pack(session, sid, [])
    assert [d["field"] for d in empty.value.details] == ["parcels"]
    with pytest.raises(Invalid) as bad:
        shipping.pack(session, sid, [{"weight_kg": "-1"}, {"weight_kg": "heavy"},
                                     {"weight_kg": "0"}, {"weight_kg": "1", "colour": "red"},
                                     {"weight_kg": "0.0001"}, {}])
    assert [d["field"] for d in bad.value.details] == [
        "parcels[0].weight_kg", "parcels[1].weight_kg", "parcels[2].weight_kg", "parcels[3]",
        "parcels[4].weight_kg", "parcels[5].weight_kg"]
    assert session.get(Shipment, sid).status == "picking"

    packed = shipping.pack(session, sid, [{"weight_kg": "1.25"}, {"weight_kg": 2}])
    assert packed["status"] == "packed" and packed["weight_kg"] == Decimal("3.250")
    assert session.get(Shipment, sid).parcels == [{"weight_kg": "1.250"}, {"weight_kg": "2.000"}]


# --- booking ---------------------------------------------------------------------------------

def test_booking_is_done_once_with_a_pdf_label(session, world):
    order, sid = picked_and_packed(session, world, parcels=({"weight_kg": "1.5"},
                                                             {"weight_kg": "2"}))
    number = session.get(Shipment, sid).number

    booked = carriers.book(session, sid)

    shipment = session.get(Shipment, sid)
    assert booked["tracking_number"] == "DP2026000014" == carriers.demo_tracking_number(number)
    assert (shipment.status, shipment.carrier) == ("booked", "demo-post")
    assert shipment.shipped_at == T0
    pdf = shipment.label_pdf
    assert pdf.startswith(b"%PDF") and len(pdf) > 1024
    assert pdf.count(b"/Type /Page\n") == 2  # one label per parcel

    again = carriers.book(session, sid, carrier="demo-post")
    assert again == booked and session.get(Shipment, sid).label_pdf == pdf


def test_label_carries_the_address_and_tracking_number(session, world):
    label = carriers.CarrierShipment(
        number="SH-2026-00007", order_number="SO-7", recipient="Acme Trading",
        ship_to={**ADDRESS, "contact": "Li Wei 李伟"}, ship_from=None, sender="Main warehouse",
        parcel_weights=(Decimal("1.500"),))
    pdf = carriers.render_label(label, "DP2026000072", "Demo Post")
    text = label_text(pdf)
    for shown in (b"(DP2026000072)", b"(Acme Trading)", b"(1 Century Ave)", b"(200120 Shanghai)",
                  b"Shipment SH-2026-00007", b"Weight 1.500 kg", b"(Main warehouse)"):
        assert shown in text
    assert text.count(b" re f*") > 20  # the Code128 bars
    assert b"STSong-Light" in pdf  # the Chinese contact name got a font that has the glyphs


def test_tracking_number_check_digit():
    assert carriers.luhn_check_digit("7992739871") == 3  # the textbook Luhn example
    assert carriers.demo_tracking_number("SH-2026-00001") == "DP2026000014"


def test_booking_needs_a_packed_shipment_and_a_known_carrier(session, world):
    widget = world.product("WIDGET")
    world.receive(widget, "10")
    order = world.order((widget, "2"))
    world.reserve(order.lines[0], "2")
    pick = shipping.create_pick_list(session, order.id)
    with pytest.raises(Conflict):
        carriers.book(session, pick["shipment_id"])
    shipping.confirm_pick(session, pick["shipment_id"], confirm_all(pick), "pia")
    shipping.pack(session, pick["shipment_id"], [{"weight_kg": "1"}])
    with pytest.raises(Invalid) as err:
        carriers.book(session, pick["shipment_id"], carrier="pigeon")
    assert err.value.details[0]["field"] == "carrier"
    assert session.get(Shipment, pick["shipment_id"]).tracking_number is None


# --- delivery --------------------------------------------------------------------------------

def test_delivery_counts_once_and_reports_full_delivery(session, world):
    order, sid = picked_and_packed(session, world, qty="4")
    with pytest.raises(Conflict):
        shipping.mark_delivered(session, shipment_id=sid)  # not booked yet
    tracking = carriers.book(session, sid)["tracking_number"]
    at = T0 + timedelta(days=2)

    result = shipping.mark_delivered(session, tracking_number=tracking, at=at)

    assert result == {"shipment_id": sid, "order_id": order.id, "fully_delivered": True,
                      "backorder_open": False}
    assert order.lines[0].delivered_qty == Decimal("4")
    assert session.get(Shipment, sid).delivered_at == at
    assert shipping.mark_delivered(session, shipment_id=sid) == result
    assert order.lines[0].delivered_qty == Decimal("4")


def test_partial_delivery_and_never_more_than_ordered(session, world):
    widget = world.product("WIDGET")
    world.receive(widget, "10")
    order = world.order((widget, "5"))
    world.reserve(order.lines[0], "3")
    pick = shipping.create_pick_list(session, order.id)
    sid = pick["shipment_id"]
    shipping.confirm_pick(session, sid, confirm_all(pick), "pia")
    shipping.pack(session, sid, [{"weight_kg": "1"}])
    carriers.book(session, sid)
    order.lines[0].delivered_qty = Decimal("3")  # e.g. delivered by another route meanwhile

    with pytest.raises(Conflict):
        shipping.mark_delivered(session, shipment_id=sid)
    assert order.lines[0].delivered_qty == Decimal("3")

    order.lines[0].delivered_qty = Decimal("0")
    result = shipping.mark_delivered(session, shipment_id=sid)
    assert result["fully_delivered"] is False and order.lines[0].delivered_qty == Decimal("3")
    assert result["backorder_open"] is True  # the rest is still wanted


def test_mark_delivered_needs_exactly_one_key(session):
    with pytest.raises(Invalid):
        shipping.mark_delivered(session)
    with pytest.raises(Invalid):
        shipping.mark_delivered(session, shipment_id=1, tracking_number="DP1")


# --- the whole flow through the operators, and the order page --------------------------------

def test_operators_run_the_flow_and_order_page_lists_it(session, world):
    widget = world.product("WIDGET")
    world.receive(widget, "10", "A-02")
    order = world.order((widget, "2"), ship_to={**ADDRESS, "line1": "8 Bund Rd"})
    world.reserve(order.lines[0], "2", "A-02")
    ctx = UnitContext(session=session, instance_id=None, business_key=order.number,
                      process_id="order", actor="robot")

    pick = invoke("shipping.create_pick_list", ctx, {"order_id": order.id})
    sid = pick["shipment_id"]
    invoke("shipping.confirm_pick", ctx, {"shipment_id": sid, "confirmations": confirm_all(pick),
                                          "user": "pia"})
    invoke("shipping.pack", ctx, {"shipment_id": sid, "parcels": [{"weight_kg": "0.8"}]})
    booked = invoke("shipping.book_carrier", ctx, {"shipment_id": sid})
    assert booked == {"shipment_id": sid, "tracking_number": "DP2026000014",
                      "carrier": "demo-post"}
    delivered = invoke("shipping.mark_delivered", ctx, {"shipment_id": sid})
    assert delivered == {"shipment_id": sid, "order_id": order.id, "fully_delivered": True,
                         "backorder_open": False}

    [listed] = shipping.order_shipments(session, order.id)
    assert (listed["number"], listed["status"], listed["carrier"], listed["tracking_number"],
            listed["weight_kg"], listed["picked_by"]) == (
        pick["number"], "delivered", "demo-post", "DP2026000014", Decimal("0.800"), "pia")
    assert [(ln["sku"], ln["bin"], ln["quantity"]) for ln in listed["lines"]] == [
        ("WIDGET", "A-02", Decimal("2"))]
    assert b"(8 Bund Rd)" in label_text(session.get(Shipment, sid).label_pdf)  # order's ship_to
