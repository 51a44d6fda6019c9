"""Stock ledger, availability, hard reservations and replenishment requests."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.domain import inventory
from app.domain.errors import Conflict, Invalid, NotFound
from app.engine import clock
from app.engine.operators import UnitContext, invoke
from app.models.inventory import (
    Bin,
    Product,
    ReplenishmentRequest,
    Reservation,
    StockLedger,
    StockLevel,
    Supplier,
    Warehouse,
)
from app.models.sales import Customer, SalesOrder, SalesOrderLine

D = Decimal


# ---------------------------------------------------------------- fixture helpers (also used by
# tests/api/test_stock_api.py and tests/postgres/test_reservation_race.py)

def make_product(session, sku="WIDGET", **fields) -> Product:
    product = Product(sku=sku, name=fields.pop("name", sku.title()), **fields)
    session.add(product)
    session.flush()
    return product


def make_bin(session, warehouse="WH1", code="A-01") -> Bin:
    wh = session.scalar(select(Warehouse).where(Warehouse.code == warehouse))
    if wh is None:
        wh = Warehouse(code=warehouse, name=f"Warehouse {warehouse}")
        session.add(wh)
        session.flush()
    bin_ = Bin(warehouse_id=wh.id, code=code)
    session.add(bin_)
    session.flush()
    return bin_


def make_order(session, *lines, number=None) -> SalesOrder:
    """make_order(session, (product, qty), ...) -> a sales order with those lines."""
    customer = session.scalar(select(Customer).where(Customer.code == "C1"))
    if customer is None:
        customer = Customer(code="C1", name="Customer One", normalized_name="customer one")
        session.add(customer)
        session.flush()
    count = session.scalar(select(func.count()).select_from(SalesOrder))
    order = SalesOrder(number=number or f"SO-{count + 1:05d}", currency="CNY",
                       customer_id=customer.id)
    for no, (product, qty) in enumerate(lines, start=1):
        qty = D(qty)
        order.lines.append(SalesOrderLine(
            line_no=no, product_id=product.id, quantity=qty, list_price=D("10"),
            unit_price=D("10"), amount=qty * 10, tax_rate=D("0.13"), tax_amount=qty * D("1.3"),
            pricing_source="test"))
    session.add(order)
    session.flush()
    return order


def receive(session, sku="WIDGET", wh="WH1", bin="A-01", qty="10", **kw):
    return inventory.receive(session, sku=sku, warehouse=wh, bin=bin, quantity=D(qty), **kw)


def level(session, product, bin_) -> StockLevel:
    return session.scalar(select(StockLevel).where(StockLevel.product_id == product.id,
                                                   StockLevel.bin_id == bin_.id))


def ledger_sum(session, product, bin_) -> Decimal:
    return session.scalar(select(func.sum(StockLedger.quantity)).where(
        StockLedger.product_id == product.id, StockLedger.bin_id == bin_.id))


def open_requests(session):
    return list(session.scalars(select(ReplenishmentRequest).where(
        ReplenishmentRequest.status == "open").order_by(ReplenishmentRequest.id)))


@pytest.fixture
def widget(session):
    product = make_product(session)
    return product, make_bin(session)


# ---------------------------------------------------------------- ledger

def test_receipt_writes_a_ledger_row_with_its_document_and_updates_the_level(session, widget):
    product, bin_ = widget
    moved = receive(session, qty="10", doc_id="GRN-1", user="wendy", batch="B7",
                    expiry=date(2027, 1, 31))
    receive(session, qty="2.5")

    row = moved.rows[0]
    assert (row.kind, row.doc_type, row.doc_id, row.created_by) == \
        ("receipt", "receipt", "GRN-1", "wendy")
    assert (row.quantity, row.batch, row.expiry) == (D("10"), "B7", date(2027, 1, 31))
    assert level(session, product, bin_).on_hand == D("12.5")
    assert session.scalar(select(func.count()).select_from(StockLedger)) == 2
    second = session.scalars(select(StockLedger).order_by(StockLedger.id.desc())).first()
    assert second.doc_id  # a receipt without a reference still names its document


def test_unknown_codes_and_bad_quantity_are_refused_with_field_names(session, widget):
    with pytest.raises(NotFound) as err:
        inventory.receive(session, sku="NOPE", warehouse="WH9", bin="A-01", quantity=D(1))
    assert [d["field"] for d in err.value.details] == ["sku", "warehouse"]
    with pytest.raises(NotFound) as err:
        receive(session, bin="Z-99")
    assert [d["field"] for d in err.value.details] == ["bin"]
    with pytest.raises(Invalid) as err:
        receive(session, qty="0")
    assert err.value.details[0]["field"] == "quantity"
    assert session.scalar(select(func.count()).select_from(StockLedger)) == 0


def test_a_receipt_replayed_with_its_reference_books_once(session, widget):
    product, bin_ = widget
    first = receive(session, qty="4", doc_id="GRN-7")
    again = receive(session, qty="4", doc_id="GRN-7")
    assert again.replayed and [r.id for r in again.rows] == [r.id for r in first.rows]
    assert level(session, product, bin_).on_hand == D("4")
    with pytest.raises(Conflict):
        receive(session, qty="5", doc_id="GRN-7")


def test_serial_products_get_one_row_per_serial_and_a_serial_is_on_hand_once(session):
    phone = make_product(session, "PHONE", tracking="serial")
    make_bin(session, "WH1", "A-01")
    other = make_bin(session, "WH2", "B-01")

    with pytest.raises(Invalid) as err:
        receive(session, "PHONE", qty="2")
    assert err.value.details[0]["field"] == "serials"
    with pytest.raises(Invalid) as err:
        receive(session, "PHONE", qty="2", serials=["S1"])
    assert "1 serials given for quantity 2" in err.value.message
    with pytest.raises(Invalid):
        receive(session, "PHONE", qty="2", serials=["S1", "S1"])

    moved = receive(session, "PHONE", qty="2", serials=["S1", "S2"])
    assert [(r.serial, r.quantity) for r in moved.rows] == [("S1", D(1)), ("S2", D(1))]
    with pytest.raises(Invalid) as err:  # S2 is on hand in WH1 already
        receive(session, "PHONE", wh="WH2", bin="B-01", qty="1", serials=["S2"])
    assert err.value.details == [{"field": "serials", "message": "already on hand: S2"}]

    # Once S2 has left the bin it may come back (a return), into another warehouse too.
    with pytest.raises(Invalid):  # S3 was never in the bin
        inventory.adjust(session, sku="PHONE", warehouse="WH1", bin="A-01",
                         quantity_delta=D(-1), reason="lost", user="w", serials=["S3"])
    inventory.adjust(session, sku="PHONE", warehouse="WH1", bin="A-01", quantity_delta=D(-1),
                     reason="lost", user="w", serials=["S2"])
    receive(session, "PHONE", wh="WH2", bin="B-01", qty="1", serials=["S2"])
    assert level(session, phone, other).on_hand == D(1)
    make_product(session, "BOLT")
    with pytest.raises(Invalid) as err:  # serials on a product that is not serial-tracked
        receive(session, "BOLT", qty="1", serials=["X"])
    assert err.value.details[0]["field"] == "serials"


def test_batch_products_require_a_batch(session):
    make_product(session, "MILK", tracking="batch")
    make_bin(session)
    with pytest.raises(Invalid) as err:
        receive(session, "MILK", qty="5")
    assert err.value.details == [{"field": "batch",
                                  "message": "MILK is batch-tracked: give a batch"}]
    assert receive(session, "MILK", qty="5", batch="L-1").rows[0].batch == "L-1"


def test_adjustments_never_go_below_zero_nor_below_reserved(session, widget):
    product, bin_ = widget
    receive(session, qty="5")
    inventory.reserve_order(session, make_order(session, (product, 3)).id)

    with pytest.raises(Invalid) as err:
        inventory.adjust(session, sku="WIDGET", warehouse="WH1", bin="A-01",
                         quantity_delta=D(-3), reason="count", user="w")
    assert err.value.details[0]["field"] == "quantity_delta"
    assert "below the 3.000 reserved" in err.value.details[0]["message"]
    with pytest.raises(Invalid):
        inventory.adjust(session, sku="WIDGET", warehouse="WH1", bin="A-01",
                         quantity_delta=D(0), reason="", user="w")

    moved = inventory.adjust(session, sku="WIDGET", warehouse="WH1", bin="A-01",
                             quantity_delta=D(-2), reason="broken", user="w")
    row = moved.rows[0]
    assert (row.kind, row.doc_type, row.quantity, row.note, row.created_by) == \
        ("adjustment", "adjustment", D(-2), "broken", "w")
    assert (moved.level.on_hand, moved.level.reserved) == (D(3), D(3))

    empty = make_bin(session, "WH1", "A-02")
    with pytest.raises(Invalid) as err:
        inventory.adjust(session, sku="WIDGET", warehouse="WH1", bin="A-02",
                         quantity_delta=D(-1), reason="count", user="w")
    assert "no negative stock" in err.value.details[0]["message"]
    assert level(session, product, empty).on_hand == 0


def test_the_level_cache_is_rebuilt_identically_from_the_ledger(session, widget):
    product, bin_ = widget
    other = make_bin(session, "WH2", "B-01")
    receive(session, qty="10")
    receive(session, wh="WH2", bin="B-01", qty="7.25")
    inventory.adjust(session, sku="WIDGET", warehouse="WH1", bin="A-01",
                     quantity_delta=D("-1.5"), reason="count", user="w")
    inventory.reserve_order(session, make_order(session, (product, 2)).id)
    session.commit()

    assert inventory.rebuild_levels(session) == []  # the cache already equals the ledger
    for bin_row in (bin_, other):
        assert level(session, product, bin_row).on_hand == ledger_sum(session, product, bin_row)

    session.execute(update(StockLevel).where(StockLevel.bin_id == other.id)
                    .values(on_hand=D(99)))
    session.execute(StockLevel.__table__.delete().where(StockLevel.bin_id == bin_.id))
    session.expire_all()
    corrections = inventory.rebuild_levels(session)
    assert {(c["bin_id"], c["field"], c["now"]) for c in corrections} == {
        (other.id, "on_hand", D("7.25")), (bin_.id, "on_hand", D("8.5")),
        (bin_.id, "reserved", D(2))}
    assert (level(session, product, bin_).on_hand, level(session, product, bin_).reserved) == \
        (D("8.5"), D(2))
    assert level(session, product, other).on_hand == D("7.25")


def test_ledger_entries_are_newest_first(session, widget):
    receive(session, qty="1", doc_id="A")
    receive(session, qty="2", doc_id="B")
    receive(session, qty="3", doc_id="C")
    entries = inventory.ledger_entries(session, sku="WIDGET", limit=2)
    assert [(e["doc_id"], e["quantity"], e["warehouse"], e["bin"]) for e in entries] == \
        [("C", D(3), "WH1", "A-01"), ("B", D(2), "WH1", "A-01")]


# ---------------------------------------------------------------- availability

def test_availability_per_warehouse_and_totals_worked_by_hand(session):
    product = make_product(session)
    make_bin(session, "WH1", "A-02")  # created before A-01: bins are taken by code, not id
    make_bin(session, "WH1", "A-01")
    make_bin(session, "WH2", "B-01")
    receive(session, bin="A-01", qty="10")
    receive(session, bin="A-02", qty="5")
    receive(session, wh="WH2", bin="B-01", qty="3")
    first = inventory.reserve_order(session, make_order(session, (product, 12)).id)
    second = inventory.reserve_order(session, make_order(session, (product, 5)).id)
    assert first["complete"] and second["complete"]
    session.add_all([  # one open request counts as on order, a cancelled one does not
        ReplenishmentRequest(product_id=product.id, quantity=D(7), status="open"),
        ReplenishmentRequest(product_id=product.id, quantity=D(100), status="cancelled")])
    session.flush()

    result = inventory.availability(session, "WIDGET")

    # order 1 (12): A-01 10 + A-02 2; order 2 (5): A-02 3 + B-01 2.
    wh1, wh2 = result["warehouses"]
    assert [(b["bin"], b["on_hand"], b["reserved"], b["available"]) for b in wh1["bins"]] == [
        ("A-01", D(10), D(10), D(0)), ("A-02", D(5), D(5), D(0))]
    assert (wh1["warehouse"], wh1["on_hand"], wh1["reserved"], wh1["available"]) == \
        ("WH1", D(15), D(15), D(0))
    assert (wh2["warehouse"], wh2["on_hand"], wh2["reserved"], wh2["available"]) == \
        ("WH2", D(3), D(2), D(1))
    # available = 18 - 17 = 1; projected = on_hand 18 + on_order 7 - reserved 17 = 8
    assert result["totals"] == {"on_hand": D(18), "reserved": D(17), "available": D(1),
                                "on_order": D(7), "projected": D(8)}
    with pytest.raises(NotFound):
        inventory.availability(session, "NOPE")


# ---------------------------------------------------------------- reservations

def test_partial_reservation_requests_the_rest_once_however_often_it_runs(session):
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    supplier = Supplier(code="SUP", name="Supplier")
    session.add(supplier)
    session.flush()
    widget = make_product(session, lead_time_days=10, default_supplier_id=supplier.id)
    service = make_product(session, "INSTALL", stock_tracked=False)
    bin_ = make_bin(session)
    receive(session, qty="3")
    order = make_order(session, (widget, 5), (service, 1))

    result = inventory.reserve_order(session, order.id)
    request = open_requests(session)[0]
    assert result == {"complete": False, "pickable": True,
                      "reserved": [{"line_no": 1, "sku": "WIDGET", "quantity": D(3),
                                    "added": D(3)}],
                      "short": [{"line_no": 1, "sku": "WIDGET", "short_qty": D(2),
                                 "request_id": request.id}]}
    assert (request.quantity, request.due_date, request.supplier_id) == \
        (D(2), date(2026, 3, 12), supplier.id)

    again = inventory.reserve_order(session, order.id)
    assert again["short"] == result["short"] and again["reserved"][0]["added"] == 0
    assert [r.id for r in open_requests(session)] == [request.id]
    assert level(session, widget, bin_).reserved == D(3)
    assert session.scalar(select(func.sum(Reservation.quantity))) == D(3)
    assert inventory.availability(session, "WIDGET")["totals"]["on_order"] == D(2)


def test_goods_arrival_fulfils_requests_first_come_first_served(session, widget):
    product, bin_ = widget
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    older = make_order(session, (product, 4))
    inventory.reserve_order(session, older.id)
    clock.travel(timedelta(minutes=5))
    newer = make_order(session, (product, 1))
    inventory.reserve_order(session, newer.id)
    assert [r.quantity for r in open_requests(session)] == [D(4), D(1)]

    # 2 units cover the newer request but not the older one: nobody overtakes it.
    assert inventory.receive_for_requests(
        session, sku="WIDGET", warehouse="WH1", bin="A-01", quantity=D(2))["fulfilled_orders"] \
        == []
    fulfilled = inventory.receive_for_requests(
        session, sku="WIDGET", warehouse="WH1", bin="A-01", quantity=D(3))["fulfilled_orders"]
    assert fulfilled == [older.id, newer.id]
    assert open_requests(session) == []
    assert inventory.availability(session, "WIDGET")["totals"]["on_order"] == 0

    for order in (older, newer):
        assert inventory.reserve_order(session, order.id)["complete"]
    assert level(session, product, bin_).reserved == D(5)
    # A line now covered in the same bin keeps one reservation row, topped up.
    assert [(r["line_no"], r["bin"], r["quantity"], r["status"])
            for r in inventory.order_reservations(session, older.id)] == \
        [(1, "A-01", D(4), "active")]
    statuses = set(session.scalars(select(ReplenishmentRequest.status)))
    assert statuses == {"received"}


def test_release_puts_the_stock_back_and_cancels_requests(session, widget):
    product, bin_ = widget
    receive(session, qty="2")
    order = make_order(session, (product, 3))
    inventory.reserve_order(session, order.id)
    assert inventory.availability(session, "WIDGET")["totals"]["available"] == 0

    result = inventory.release_order(session, order.id)
    assert [(r["line_no"], r["quantity"]) for r in result["released"]] == [(1, D(2))]
    assert len(result["cancelled_requests"]) == 1
    totals = inventory.availability(session, "WIDGET")["totals"]
    assert (totals["available"], totals["reserved"], totals["on_order"]) == (D(2), 0, 0)
    assert [r["status"] for r in inventory.order_reservations(session, order.id)] == ["released"]
    assert inventory.release_order(session, order.id) == {"released": [],
                                                          "cancelled_requests": []}
    assert level(session, product, bin_).reserved == 0


def test_bins_are_taken_in_a_fixed_order_and_lines_of_one_product_share_them(session):
    product = make_product(session)
    make_bin(session, "WH2", "A-01")
    make_bin(session, "WH1", "Z-09")
    make_bin(session, "WH1", "C-03")
    for wh, code in (("WH2", "A-01"), ("WH1", "Z-09"), ("WH1", "C-03")):
        receive(session, wh=wh, bin=code, qty="2")
    order = make_order(session, (product, 3), (product, 2))

    assert inventory.reserve_order(session, order.id)["complete"]
    assert [(r["line_no"], r["warehouse"], r["bin"], r["quantity"])
            for r in inventory.order_reservations(session, order.id)] == [
        (1, "WH1", "C-03", D(2)), (1, "WH1", "Z-09", D(1)),
        (2, "WH1", "Z-09", D(1)), (2, "WH2", "A-01", D(1))]


def test_an_order_of_services_only_is_covered(session):
    service = make_product(session, "INSTALL", stock_tracked=False)
    order = make_order(session, (service, 2))
    assert inventory.reserve_order(session, order.id) == {"complete": True, "pickable": False, "reserved": [],
                                                          "short": []}
    with pytest.raises(NotFound):
        inventory.reserve_order(session, 999)


def test_operators_reserve_retry_and_release(session, widget):
    product, bin_ = widget
    receive(session, qty="1")
    order = make_order(session, (product, 2))
    ctx = UnitContext(session=session, instance_id=None, business_key=order.number,
                      process_id="order")

    assert invoke("inventory.reserve", ctx, {"order_id": order.id})["complete"] is False
    receive(session, qty="1")
    assert inventory.fulfil_requests(session, product.id) == [order.id]
    assert invoke("inventory.retry_reservation", ctx, {"order_id": order.id})["complete"] is True
    released = invoke("inventory.release", ctx, {"order_id": order.id})
    assert sum(r["quantity"] for r in released["released"]) == D(2)
    assert level(session, product, bin_).reserved == 0
