"""Traceability (app.domain.stock_trace) and the guarantee it rests on: a serial number is on hand
in one place at a time and ships once."""
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import app.models  # noqa: F401  (every table in the metadata, for the skip below)
from app.domain import carriers, ledger_documents, reservations, shipping, stock_ledger, stock_trace
from app.domain.errors import Invalid, NotFound
from app.extensions import db
from app.models.inventory import Bin, Product, StockLedger, Supplier, Warehouse
from app.models.sales import Customer, SalesOrder, SalesOrderLine

D = Decimal
ADDRESS = {"line1": "1 Century Ave", "city": "Shanghai", "postcode": "200120", "country": "CN",
           "contact": "Ms. Li", "phone": "+86 21 1234 5678"}


class World:
    """Warehouse WH (bins A-01, A-02, RET), a supplier, two customers, real ledger functions."""

    def __init__(self, session):
        self.s = session
        self.supplier = Supplier(code="SUP-1", name="Supplier One")
        wh = Warehouse(code="WH", name="Main", address=ADDRESS)
        session.add_all([self.supplier, wh])
        session.flush()
        session.add_all([Bin(warehouse_id=wh.id, code=c) for c in ("A-01", "A-02", "RET")])
        self.customers = {}
        for code in ("ACME", "BETA"):
            self.customers[code] = Customer(
                code=code, name=f"{code} Ltd", normalized_name=code.lower(),
                email=f"buyer@{code.lower()}.example.com", shipping_address=ADDRESS,
                billing_address=ADDRESS)
            session.add(self.customers[code])
        session.flush()
        self.orders = 0

    def product(self, sku, tracking="none"):
        p = Product(sku=sku, name=sku, tracking=tracking, default_supplier_id=self.supplier.id)
        self.s.add(p)
        self.s.flush()
        return p

    def receive(self, sku, qty, bin="A-01", **kw):
        return stock_ledger.receive(self.s, sku=sku, warehouse="WH", bin=bin, quantity=D(qty),
                                    user="wendy", **kw)

    def ship(self, customer, product, qty, *, serials=None, deliver=True) -> tuple:
        """Order -> reservation -> pick list -> confirmed pick -> packed -> booked -> delivered."""
        self.orders += 1
        order = SalesOrder(number=f"SO-{self.orders}", currency="CNY",
                           customer_id=self.customers[customer].id)
        order.lines.append(SalesOrderLine(
            line_no=1, product_id=product.id, quantity=D(qty), list_price=1, unit_price=1,
            amount=D(qty), tax_rate=0, tax_amount=0, pricing_source="t"))
        self.s.add(order)
        self.s.flush()
        assert reservations.reserve_order(self.s, order.id)["complete"]
        pick = shipping.create_pick_list(self.s, order.id)
        shipping.confirm_pick(self.s, pick["shipment_id"], [
            {"line_id": ln["line_id"], "quantity": str(ln["quantity"]),
             **({"serials": serials} if serials else {})} for ln in pick["lines"]], "pia")
        shipping.pack(self.s, pick["shipment_id"], [{"weight_kg": 1}])
        booked = carriers.book(self.s, pick["shipment_id"])
        if deliver:
            shipping.mark_delivered(self.s, shipment_id=pick["shipment_id"])
        return order.number, pick["number"], booked["tracking_number"]


@pytest.fixture
def world(session, frozen_clock):
    return World(session)


def on_hand(session, product, serial) -> Decimal:
    return session.scalar(select(func.sum(StockLedger.quantity)).where(
        StockLedger.product_id == product.id, StockLedger.serial == serial)) or D(0)


# ---------------------------------------------------------------- a serial ships once

def test_receiving_a_serial_already_in_stock_is_refused_wherever_it_would_go(session, world):
    phone = world.product("PHONE", tracking="serial")
    world.receive("PHONE", 1, serials=["SN-1"])
    for attempt in (lambda: world.receive("PHONE", 1, bin="A-02", serials=["SN-1"]),
                    lambda: world.receive("PHONE", 1, bin="RET", serials=["SN-1"],
                                          kind="return", doc_type="return", doc_id="RMA-9/1"),
                    lambda: stock_ledger.adjust(session, sku="PHONE", warehouse="WH", bin="A-02",
                                                quantity_delta=D(1), reason="found", user="w",
                                                serials=["SN-1"])):
        with pytest.raises(Invalid) as err:
            attempt()
        assert err.value.details == [{"field": "serials", "message": "already on hand: SN-1"}]
    assert on_hand(session, phone, "SN-1") == 1


def test_shipping_a_serial_that_is_not_on_hand_is_refused(session, world):
    phone = world.product("PHONE", tracking="serial")
    world.receive("PHONE", 2, serials=["SN-1", "SN-2"])
    world.ship("ACME", phone, 1, serials=["SN-1"])
    assert on_hand(session, phone, "SN-1") == 0

    # a second order's pick list offers only what is still in the bin ...
    order = SalesOrder(number="SO-X", currency="CNY", customer_id=world.customers["BETA"].id)
    order.lines.append(SalesOrderLine(line_no=1, product_id=phone.id, quantity=D(1),
                                      list_price=1, unit_price=1, amount=1, tax_rate=0,
                                      tax_amount=0, pricing_source="t"))
    session.add(order)
    session.flush()
    reservations.reserve_order(session, order.id)
    pick = shipping.create_pick_list(session, order.id)
    [line] = pick["lines"]
    assert line["serials"] == ["SN-2"]
    # ... and scanning the shipped serial anyway is refused
    with pytest.raises(Invalid) as err:
        shipping.confirm_pick(session, pick["shipment_id"], [
            {"line_id": line["line_id"], "quantity": 1, "serials": ["SN-1"]}], "bo")
    assert "not on the pick list" in err.value.details[0]["message"]
    assert session.scalar(select(func.count()).select_from(StockLedger).where(
        StockLedger.serial == "SN-1", StockLedger.kind == "issue")) == 1


def _race(app, first, second, *, hold=0.5):
    """``first`` books and holds its transaction open; ``second`` starts meanwhile."""
    started, results = threading.Event(), {}

    def run(name, work, wait):
        with app.app_context():
            try:
                if wait:
                    started.wait(10)
                work(db.session)
                if not wait:
                    started.set()
                    time.sleep(hold)
                db.session.commit()
                results[name] = "ok"
            except Invalid as err:
                db.session.rollback()
                results[name] = err.message
            finally:
                started.set()
                db.session.remove()

    threads = [threading.Thread(target=run, args=("first", first, False)),
               threading.Thread(target=run, args=("second", second, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.postgres_only
@pytest.mark.parametrize("first, second", [("receipt", "count"), ("count", "receipt"),
                                           ("count", "count")])
def test_a_serial_booked_twice_at_once_is_on_hand_once(app, session, first, second):
    """receive() serialises a serial product's receipts on the product row; adjust() must take
    the same lock, or a serial booked by both at once is on hand twice (and can ship twice).
    Without the lock in adjust(), ("receipt", "count") and ("count", "count") book SN-1 twice."""
    wh = Warehouse(code="WH", name="Main")
    session.add(wh)
    session.flush()
    session.add_all([Bin(warehouse_id=wh.id, code="A-01"), Bin(warehouse_id=wh.id, code="A-02")])
    phone = Product(sku="PHONE", name="Phone", tracking="serial")
    session.add(phone)
    session.commit()

    def booking(kind, bin_code):
        def receipt(s):
            stock_ledger.receive(s, sku="PHONE", warehouse="WH", bin=bin_code, quantity=D(1),
                                 serials=["SN-1"], user="wendy")

        def found_in_count(s):
            stock_ledger.adjust(s, sku="PHONE", warehouse="WH", bin=bin_code,
                                quantity_delta=D(1), serials=["SN-1"], reason="found in a count",
                                user="walt")
        return receipt if kind == "receipt" else found_in_count

    results = _race(app, booking(first, "A-01"), booking(second, "A-02"))
    session.expire_all()
    assert results == {"first": "ok", "second": "already on hand: SN-1"}
    assert on_hand(session, phone, "SN-1") == 1


# ---------------------------------------------------------------- trace: serials

def test_a_serial_received_shipped_and_delivered(session, world):
    phone = world.product("PHONE", tracking="serial")
    world.receive("PHONE", 2, serials=["SN-1", "SN-2"], doc_id="DN-1")
    order, shipment, tracking = world.ship("ACME", phone, 1, serials=["SN-1"])

    result = stock_trace.trace(session, serial="SN-1")
    assert [e["event"] for e in result["events"]] == [
        "received", "reserved", "picked", "shipped", "delivered"]
    received = result["events"][0]
    assert received["supplier"] == {"code": "SUP-1", "name": "Supplier One"}
    assert received["supplier_source"] == "product default supplier"
    assert result["summary"] == {
        "status": "delivered", "customer": {"code": "ACME", "name": "ACME Ltd"},
        "order": order, "shipment": shipment, "tracking_number": tracking,
        "delivered_at": result["events"][-1]["at"]}
    assert stock_trace.trace(session, serial="SN-2")["summary"]["status"] == "in_stock"


def test_returns_are_read_generically_by_doc_type_and_doc_id(session, world):
    """Rows written the way the returns work writes them: receipt into the returns bin (kind and
    doc_type "return"), a pair of transfer rows to restock, then a write-off."""
    phone = world.product("PHONE", tracking="serial")
    world.receive("PHONE", 1, serials=["SN-1"])
    world.ship("ACME", phone, 1, serials=["SN-1"])
    world.receive("PHONE", 1, bin="RET", serials=["SN-1"], kind="return", doc_type="return",
                  doc_id="RMA-2026-00001/1")
    returns_bin = session.scalar(select(Bin).where(Bin.code == "RET"))
    shelf = session.scalar(select(Bin).where(Bin.code == "A-02"))
    for bin_, qty in ((returns_bin, -1), (shelf, 1)):
        session.add(StockLedger(product_id=phone.id, bin_id=bin_.id, quantity=D(qty),
                                kind="transfer", serial="SN-1", doc_type="return",
                                doc_id="RMA-2026-00001/1/restock", note="restocked",
                                created_by="q"))
    session.flush()

    result = stock_trace.trace(session, serial="SN-1")
    kinds = [e["event"] for e in result["events"]]
    assert kinds[-2:] == ["returned", "moved"]
    returned, moved = result["events"][-2:]
    assert (returned["warehouse"], returned["bin"], returned["document"]["type"]) == (
        "WH", "RET", "return")
    assert returned["document"]["id"] == "RMA-2026-00001/1"
    assert (moved["from"], moved["to"], moved["quantity"]) == (
        {"warehouse": "WH", "bin": "RET"}, {"warehouse": "WH", "bin": "A-02"}, "1.000")
    assert result["summary"]["status"] == "in_stock" and result["summary"]["bin"] == "A-02"

    session.add(StockLedger(product_id=phone.id, bin_id=shelf.id, quantity=D(-1),
                            kind="adjustment", serial="SN-1", doc_type="return",
                            doc_id="RMA-2026-00001/1/write-off",
                            note="written off (beyond repair), return RMA-2026-00001"))
    session.flush()
    result = stock_trace.trace(session, serial="SN-1")
    assert result["events"][-1]["event"] == "scrapped"
    assert result["summary"]["status"] == "scrapped"
    assert result["summary"]["bin"] == "A-02"


def test_a_cycle_count_adjustment_names_its_count(session, world):
    world.product("PHONE", tracking="serial")
    world.receive("PHONE", 1, serials=["SN-1"])
    stock_ledger.adjust(session, sku="PHONE", warehouse="WH", bin="A-01", quantity_delta=D(-1),
                        serials=["SN-1"], reason="cycle count CC-2026-00007", user="otto",
                        doc_id="CC-2026-00007/3-")
    result = stock_trace.trace(session, serial="SN-1")
    last = result["events"][-1]
    assert last["event"] == "adjusted" and last["document"]["number"] == "CC-2026-00007"
    assert last["document"]["type"] == "cycle_count"
    assert result["summary"]["status"] == "written_off"


def test_a_document_is_named_by_its_number_and_what_it_points_to(session, world, monkeypatch):
    """The generic reader: the doc_id (up to "/") is looked up by `number` in the doc_type's
    table; its foreign keys are named. Shown with sales orders standing in for a document type
    whose table the trace does not know by name."""
    world.product("WIDGET")
    order = SalesOrder(number="SO-77", currency="CNY", customer_id=world.customers["BETA"].id)
    session.add(order)
    session.flush()
    monkeypatch.setitem(ledger_documents.DOCUMENT_TABLES, "consignment", ("sales_order",))
    world.receive("WIDGET", 3, batch="B-1", doc_type="consignment", doc_id="SO-77/1")
    [event] = stock_trace.trace(session, batch="B-1")["events"]
    assert event["document"]["number"] == "SO-77"
    assert event["document"]["customer"]["code"] == "BETA"
    assert event["document"]["currency"] == "CNY"
    world.receive("WIDGET", 1, batch="B-2", doc_type="mystery", doc_id="M-1")
    [event] = stock_trace.trace(session, batch="B-2")["events"]
    assert event["document"] == {"type": "mystery", "id": "M-1"}


@pytest.mark.skipif("goods_receipt" not in db.metadata.tables,
                    reason="the procurement models are not there yet")
def test_a_goods_receipt_names_its_purchase_order_and_supplier(session, world):
    from app.models.procurement import GoodsReceipt, PurchaseOrder

    world.product("PHONE", tracking="serial")
    other = Supplier(code="SUP-2", name="Supplier Two")
    session.add(other)
    session.flush()
    po = PurchaseOrder(number="PO-2026-00001", supplier_id=other.id, due_date=date(2026, 3, 9))
    session.add(po)
    session.flush()
    session.add(GoodsReceipt(number="GR-2026-00001", purchase_order_id=po.id, reference="DN-5"))
    session.flush()
    world.receive("PHONE", 1, serials=["SN-9"], doc_type="goods_receipt",
                  doc_id="GR-2026-00001/1")
    [received] = stock_trace.trace(session, serial="SN-9")["events"]
    assert received["document"]["purchase_order"]["number"] == "PO-2026-00001"
    assert received["supplier"]["code"] == "SUP-2"
    assert received["supplier_source"] == "document"


# ---------------------------------------------------------------- trace: batches and errors

def test_a_batch_recall_list_sums_what_each_customer_got(session, world):
    toner = world.product("TONER", tracking="batch")
    world.receive("TONER", 6, batch="T-1", expiry=date(2026, 9, 1))
    world.receive("TONER", 4, bin="A-02", batch="T-1", expiry=date(2026, 9, 1))
    world.ship("ACME", toner, 3)
    world.ship("BETA", toner, 2, deliver=False)
    world.ship("ACME", toner, 1)

    summary = stock_trace.trace(session, batch="T-1")["summary"]
    assert (summary["received"], summary["shipped"], summary["on_hand"]) == ("10.000", "6.000",
                                                                            "4.000")
    assert summary["expiry"] == "2026-09-01"
    assert summary["on_hand_by_bin"] == [{"warehouse": "WH", "bin": "A-02", "quantity": "4.000"}]
    acme, beta = summary["customers"]
    assert (acme["customer"], acme["shipped"], len(acme["shipments"])) == ("ACME", "4.000", 2)
    assert (beta["customer"], beta["shipped"], beta["email"]) == (
        "BETA", "2.000", "buyer@beta.example.com")
    assert beta["shipments"][0]["delivered_at"] is None
    assert acme["shipments"][0]["delivered_at"] is not None


def test_the_query_names_exactly_one_known_serial_or_batch(session, world):
    world.product("PHONE", tracking="serial")
    world.product("TABLET", tracking="serial")
    world.receive("PHONE", 1, serials=["SN-1"])
    world.receive("TABLET", 1, serials=["SN-1"])  # serials are unique per product
    with pytest.raises(Invalid):
        stock_trace.trace(session)
    with pytest.raises(Invalid):
        stock_trace.trace(session, serial="SN-1", batch="B")
    with pytest.raises(Invalid) as err:
        stock_trace.trace(session, serial="SN-1")
    assert err.value.details == [{"field": "sku", "message": "one of PHONE, TABLET"}]
    assert stock_trace.trace(session, serial="SN-1", sku="TABLET")["product"]["sku"] == "TABLET"
    with pytest.raises(NotFound):
        stock_trace.trace(session, serial="SN-404")
