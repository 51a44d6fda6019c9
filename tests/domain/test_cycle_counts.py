"""Cycle counts (app.domain.cycle_counts): freeze, blind sheet, tolerance, recount, approval."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import cycle_counts, reservations, stock_ledger
from app.domain.errors import Conflict, Invalid, NotFound
from app.engine.operators import BusinessError, UnitContext, invoke
from app.models.counting import CycleCount, CycleCountLine
from app.models.inventory import Bin, Product, StockLedger, StockLevel, Warehouse
from app.models.sales import Customer, ItemPrice, PriceList, SalesOrder, SalesOrderLine

D = Decimal
TOLERANCE = {"qty": 2, "percent": 0, "value": 100, "price_list": "STD"}


@pytest.fixture
def wh(session, frozen_clock):
    """Warehouse WH with bins A-01, A-02, A-03; BOLT (1.00), DRILL (150.00, serials), RESIN
    (batches, 5.00) on the STD price list; some stock in A-01 and A-02."""
    warehouse = Warehouse(code="WH", name="Main")
    price_list = PriceList(code="STD", name="Standard")
    session.add_all([warehouse, price_list])
    session.flush()
    session.add_all([Bin(warehouse_id=warehouse.id, code=c) for c in ("A-01", "A-02", "A-03")])
    for sku, tracking, price in (("BOLT", "none", "1"), ("DRILL", "serial", "150"),
                                 ("RESIN", "batch", "5"), ("NAIL", "none", None)):
        product = Product(sku=sku, name=sku.title(), tracking=tracking)
        session.add(product)
        session.flush()
        if price:
            session.add(ItemPrice(price_list_id=price_list.id, product_id=product.id,
                                  unit_price=D(price)))
    session.flush()
    receive(session, "BOLT", 100)
    receive(session, "DRILL", 3, serials=["D-1", "D-2", "D-3"])
    receive(session, "RESIN", 10, batch="R-1")
    receive(session, "RESIN", 4, batch="R-2", bin="A-02")
    receive(session, "BOLT", 50, bin="A-02")
    return warehouse


def receive(session, sku, qty, bin="A-01", **kw):
    return stock_ledger.receive(session, sku=sku, warehouse="WH", bin=bin, quantity=D(qty),
                                user="wendy", **kw)


def create(session, **kw):
    return cycle_counts.create_count(session, warehouse="WH", user="otto", **kw)


def lines_by(count, bin_code) -> dict:
    return {(ln.product.sku, ln.batch): ln for ln in count.lines if ln.bin.code == bin_code}


def sheet_counts(session, count, bin_code, quantities, recount=False) -> list[dict]:
    sheet = cycle_counts.bin_sheet(session, count.id, bin_code, recount=recount)
    out = []
    for line in sheet["lines"]:
        got = quantities[line["sku"], line["batch"]] if (line["sku"], line["batch"]) in \
            quantities else quantities[line["sku"]]
        out.append({"line_id": line["line_id"], "quantity": len(got), "serials": got}
                   if isinstance(got, list) else {"line_id": line["line_id"], "quantity": got})
    return out


def record(session, count, bin_code, quantities, user="wendy", recount=False, **kw):
    return cycle_counts.record_count(
        session, count.id, bin_code, sheet_counts(session, count, bin_code, quantities, recount),
        user=user, tolerance=TOLERANCE, recount=recount, **kw)


def ledger_rows(session, note) -> list[StockLedger]:
    return list(session.scalars(select(StockLedger).where(StockLedger.note == note)
                                .order_by(StockLedger.id)))


def bin_qty(session, sku, bin_code) -> Decimal:
    return session.scalar(
        select(StockLevel.on_hand).join(Product, Product.id == StockLevel.product_id)
        .join(Bin, Bin.id == StockLevel.bin_id)
        .where(Product.sku == sku, Bin.code == bin_code))


# ---------------------------------------------------------------- creating

def test_a_count_freezes_one_line_per_bin_product_and_batch(session, wh):
    count = create(session, bins=["A-02", "A-01"])
    assert count.number.startswith("CC-") and count.status == "counting"
    assert count.frozen_ledger_id == session.scalar(select(func.max(StockLedger.id)))
    assert [(ln.bin.code, ln.product.sku, ln.batch, ln.expected_qty) for ln in count.lines] == [
        ("A-02", "BOLT", None, D(50)), ("A-02", "RESIN", "R-2", D(4)),
        ("A-01", "BOLT", None, D(100)), ("A-01", "DRILL", None, D(3)),
        ("A-01", "RESIN", "R-1", D(10))]
    assert lines_by(count, "A-01")["DRILL", None].expected_serials == ["D-1", "D-2", "D-3"]
    assert [ln.line_no for ln in count.lines] == [1, 2, 3, 4, 5]

    everything = create(session, bins=["A-03"])  # an empty bin is counted too (found goods)
    assert everything.bins == ["A-03"] and everything.lines == []


def test_creation_refuses_unknown_codes_and_overlapping_open_counts(session, wh):
    with pytest.raises(Invalid) as err:
        create(session, bins=["A-01", "Z-9"], skus=["BOLT", "NOPE"])
    assert [d["field"] for d in err.value.details] == ["bins[1]", "skus[1]"]
    with pytest.raises(NotFound):
        cycle_counts.create_count(session, warehouse="XX", user="otto")
    first = create(session, bins=["A-01"], skus=["BOLT"])
    with pytest.raises(Conflict):
        create(session, bins=["A-01", "A-02"])
    other = create(session, bins=["A-01"], skus=["DRILL"])  # other products of the same bin
    assert [ln.product.sku for ln in other.lines] == ["DRILL"]
    with pytest.raises(Conflict):  # every bin and product of the warehouse
        create(session)
    assert first.bins == ["A-01"] and len(session.scalars(select(CycleCount)).all()) == 2


def test_the_count_sheet_shows_what_and_where_but_never_how_many(session, wh):
    count = create(session, bins=["A-01"])
    sheet = cycle_counts.bin_sheet(session, count.id, "A-01")
    assert [(ln["sku"], ln["batch"], ln["serial_tracked"]) for ln in sheet["lines"]] == [
        ("BOLT", None, False), ("DRILL", None, True), ("RESIN", "R-1", False)]
    assert set(sheet["lines"][0]) == {"line_id", "line_no", "sku", "name", "unit", "batch",
                                      "serial_tracked"}


# ---------------------------------------------------------------- recording

def test_matches_are_kept_and_small_differences_posted_at_once(session, wh):
    count = create(session, bins=["A-01"])
    result = record(session, count, "A-01", {"BOLT": 98, "DRILL": ["D-1", "D-2", "D-3"],
                                             "RESIN": 10})
    assert result == {"bin": "A-01", "counted_by": "wendy", "recount": False, "lines": 3,
                      "needs_recount": False}
    lines = lines_by(count, "A-01")
    assert [lines[k].status for k in (("BOLT", None), ("DRILL", None), ("RESIN", "R-1"))] == [
        "posted", "matched", "matched"]
    bolt = lines["BOLT", None]
    assert (bolt.book_qty, bolt.variance_qty, bolt.variance_value, bolt.within_tolerance) == (
        D(100), D(-2), D("-2.00"), True)
    [row] = ledger_rows(session, f"cycle count {count.number}")
    assert (row.quantity, row.kind, row.doc_id, row.created_by) == (
        D(-2), "adjustment", f"{count.number}/1", "wendy")
    assert bolt.adjustment_ids == [row.id]
    assert bin_qty(session, "BOLT", "A-01") == D(98)
    assert count.tolerance == {"qty": "2", "percent": "0", "value": "100", "price_list": "STD"}


def test_beyond_tolerance_goes_to_a_recount_by_someone_else_then_to_approval(session, wh):
    count = create(session, bins=["A-01"], skus=["BOLT", "DRILL"])
    # 3 bolts short (beyond 2 units), drill D-2 missing and D-9 seen instead (same quantity)
    result = record(session, count, "A-01", {"BOLT": 97, "DRILL": ["D-1", "D-3", "D-9"]})
    assert result["needs_recount"] is True
    lines = lines_by(count, "A-01")
    drill = lines["DRILL", None]
    assert (drill.variance_qty, drill.missing_serials, drill.extra_serials, drill.status) == (
        D(0), ["D-2"], ["D-9"], "recount")
    recount_sheet = cycle_counts.bin_sheet(session, count.id, "A-01", recount=True)
    assert [ln["sku"] for ln in recount_sheet["lines"]] == ["BOLT", "DRILL"]

    with pytest.raises(Invalid) as err:  # the first counter may not recount
        record(session, count, "A-01", {"BOLT": 97, "DRILL": ["D-1", "D-3"]}, recount=True)
    assert "someone else recounts" in err.value.details[0]["message"]

    # the recount finds the 3rd bolt box (within tolerance now: posted) and confirms the drills
    record(session, count, "A-01", {"BOLT": 99, "DRILL": ["D-1", "D-3", "D-9"]}, user="walt",
           recount=True)
    assert (lines["BOLT", None].status, lines["BOLT", None].recount_qty) == ("posted", D(99))
    assert lines["DRILL", None].status == "approval"
    review = cycle_counts.review(session, count.id)
    assert review["needs_approval"] is True and review["counters"] == ["walt", "wendy"]
    assert [ln["sku"] for ln in review["lines"]] == ["DRILL"]
    assert count.status == "approval"

    with pytest.raises(Invalid):
        cycle_counts.decide(session, count.id, "approve", user="walt")
    summary = cycle_counts.decide(session, count.id, "approve", user="otto", comment="ok")
    assert summary == {"number": count.number, "status": "completed", "lines": 2,
                       "by_status": {"posted": 2}}
    assert (count.decision, count.decided_by, count.decision_comment) == ("approve", "otto", "ok")
    assert bin_qty(session, "BOLT", "A-01") == D(99)


def test_an_extra_serial_that_is_on_hand_elsewhere_is_not_booked_twice(session, wh):
    receive(session, "DRILL", 1, bin="A-02", serials=["D-7"])
    count = create(session, bins=["A-01"], skus=["DRILL"])
    record(session, count, "A-01", {"DRILL": ["D-1", "D-2", "D-3", "D-7"]})
    record(session, count, "A-01", {"DRILL": ["D-1", "D-2", "D-3", "D-7"]}, user="walt",
           recount=True)
    cycle_counts.review(session, count.id)
    cycle_counts.decide(session, count.id, "approve", user="otto")
    [drill] = count.lines
    assert drill.status == "refused"
    assert "already on hand: D-7" in drill.note
    assert session.scalar(select(func.sum(StockLedger.quantity))
                          .where(StockLedger.serial == "D-7")) == 1


def test_serial_differences_are_posted_serial_by_serial_when_approved(session, wh):
    count = create(session, bins=["A-01"], skus=["DRILL"])
    record(session, count, "A-01", {"DRILL": ["D-1", "D-3", "D-9"]})
    record(session, count, "A-01", {"DRILL": ["D-1", "D-3", "D-9"]}, user="walt", recount=True)
    cycle_counts.review(session, count.id)
    cycle_counts.decide(session, count.id, "approve", user="otto")
    [drill] = count.lines
    assert drill.status == "posted"
    rows = ledger_rows(session, f"cycle count {count.number}")
    assert sorted((r.serial, r.quantity, r.doc_id) for r in rows) == [
        ("D-2", D(-1), f"{count.number}/1-"), ("D-9", D(1), f"{count.number}/1+")]
    assert drill.adjustment_ids == [r.id for r in rows]


def test_stock_moved_during_the_count_is_taken_into_account(session, wh):
    count = create(session, bins=["A-01"], skus=["BOLT"])
    receive(session, "BOLT", 20)  # arrives after the freeze
    stock_ledger.adjust(session, sku="BOLT", warehouse="WH", bin="A-01", quantity_delta=D(-5),
                        reason="damaged", user="w")
    record(session, count, "A-01", {"BOLT": 115})
    [bolt] = count.lines
    assert (bolt.expected_qty, bolt.moved_qty, bolt.book_qty, bolt.variance_qty) == (
        D(100), D(15), D(115), D(0))
    assert bolt.status == "matched"


def test_a_difference_below_what_is_reserved_is_refused_and_kept_on_the_line(session, wh):
    customer = Customer(code="C1", name="C1", normalized_name="c1")
    session.add(customer)
    session.flush()
    order = SalesOrder(number="SO-1", currency="CNY", customer_id=customer.id)
    bolt = session.scalar(select(Product).where(Product.sku == "BOLT"))
    order.lines.append(SalesOrderLine(line_no=1, product_id=bolt.id, quantity=D(100),
                                      list_price=1, unit_price=1, amount=100, tax_rate=0,
                                      tax_amount=0, pricing_source="t"))
    session.add(order)
    session.flush()
    reservations.reserve_order(session, order.id)  # A-01's 100 bolts, then A-02
    count = create(session, bins=["A-01"], skus=["BOLT"])
    record(session, count, "A-01", {"BOLT": 99})
    [line] = count.lines
    assert line.status == "refused" and "reserved" in line.note
    assert line.adjustment_ids == []
    assert bin_qty(session, "BOLT", "A-01") == D(100)


def test_a_count_that_does_not_match_the_sheet_changes_nothing(session, wh):
    count = create(session, bins=["A-01"])
    first = cycle_counts.bin_sheet(session, count.id, "A-01")["lines"][0]["line_id"]
    with pytest.raises(Invalid) as err:
        cycle_counts.record_count(session, count.id, "A-01", [
            {"line_id": first, "quantity": 1}, {"line_id": first, "quantity": 2},
            {"line_id": 999, "quantity": 1}], user="wendy", tolerance=TOLERANCE,
            found=[{"sku": "RESIN", "quantity": 1}, {"sku": "BOLT", "quantity": 2},
                   {"sku": "NAIL", "quantity": -1}])
    messages = [d["message"] for d in err.value.details]
    assert "line 1 given twice" in messages[0]
    assert "not on this count sheet" in messages[1]
    assert any("is not counted" in m for m in messages)
    assert any("RESIN is batch-tracked" in m for m in messages)
    assert any("count BOLT on line 1" in m for m in messages)
    assert any(d["field"] == "found[2].quantity" for d in err.value.details)
    session.flush()
    assert len(count.lines) == 3 and count.tolerance is None
    assert {ln.status for ln in count.lines} == {"open"}
    with pytest.raises(Invalid) as err:  # serial counts need one serial per piece
        cycle_counts.record_count(session, count.id, "A-01", [
            {"line_id": ln["line_id"], "quantity": 2, "serials": ["D-1"]}
            for ln in cycle_counts.bin_sheet(session, count.id, "A-01")["lines"]],
            user="wendy", tolerance=TOLERANCE)
    assert any("1 serials for 2 pieces" in d["message"] for d in err.value.details)


def test_found_goods_get_a_line_of_their_own(session, wh):
    count = create(session, bins=["A-02"])
    record(session, count, "A-02", {"BOLT": 50, ("RESIN", "R-2"): 4},
           found=[{"sku": "RESIN", "batch": "R-9", "quantity": 1},
                  {"sku": "NAIL", "quantity": 40}])
    found = [ln for ln in count.lines if ln.found]
    assert [(ln.product.sku, ln.batch, ln.expected_qty, ln.variance_qty, ln.status)
            for ln in found] == [("RESIN", "R-9", D(0), D(1), "posted"),
                                 ("NAIL", None, D(0), D(40), "recount")]
    nail = found[1]
    assert nail.unit_value is None and nail.variance_value is None  # no price: by quantity only
    [row] = ledger_rows(session, f"cycle count {count.number}")
    assert (row.batch, row.quantity) == ("R-9", D(1))


def test_rejected_differences_post_nothing(session, wh):
    count = create(session, bins=["A-01"], skus=["BOLT"])
    record(session, count, "A-01", {"BOLT": 90})
    record(session, count, "A-01", {"BOLT": 90}, user="walt", recount=True)
    assert cycle_counts.review(session, count.id)["needs_approval"]
    with pytest.raises(Invalid):
        cycle_counts.decide(session, count.id, "maybe", user="otto")
    cycle_counts.decide(session, count.id, "reject", user="otto", comment="recount next week")
    assert count.lines[0].status == "rejected" and count.status == "completed"
    assert ledger_rows(session, f"cycle count {count.number}") == []
    assert cycle_counts.decide(session, count.id, "reject", user="otto")["status"] == "completed"
    with pytest.raises(Conflict):
        cycle_counts.decide(session, count.id, "approve", user="otto")
    with pytest.raises(Conflict):  # a completed count takes no more counts
        record(session, count, "A-01", {})


def test_the_percent_and_value_limits(session, wh):
    count = create(session, bins=["A-01"], skus=["BOLT", "RESIN"])
    cycle_counts.record_count(
        session, count.id, "A-01", sheet_counts(session, count, "A-01",
                                                {"BOLT": 95, "RESIN": 7}),
        user="wendy", tolerance={"qty": 0, "percent": 5, "value": 100, "price_list": "STD"})
    lines = lines_by(count, "A-01")
    assert lines["BOLT", None].status == "posted"  # 5 of 100 = 5 %, 5.00 CNY
    assert lines["RESIN", "R-1"].status == "recount"  # 3 of 10 = 30 %


def test_the_operator_turns_a_bad_count_into_the_bpmn_error(session, wh):
    count = create(session, bins=["A-01"])
    ctx = UnitContext(session, None, count.number, "cycle_count", "wendy")
    with pytest.raises(BusinessError) as err:
        invoke("counting.record", ctx, {"count_id": count.id, "bin": "A-01", "counts": [],
                                        "user": "wendy", "tolerance": TOLERANCE})
    assert err.value.code == "count_invalid" and len(err.value.payload["details"]) == 3
    assert session.scalar(select(func.count()).select_from(CycleCountLine)
                          .where(CycleCountLine.status != "open")) == 0
    assert session.get(CycleCount, count.id).status == "counting"


def test_the_view_hides_the_book_from_counters_while_counting(session, wh):
    count = create(session, bins=["A-01"], skus=["BOLT"])
    blind = cycle_counts.count_view(session, count.number, blind=True)
    assert blind["blind"] is True and blind["lines"][0]["expected_qty"] is None
    record(session, count, "A-01", {"BOLT": 99})
    cycle_counts.review(session, count.id)
    after = cycle_counts.count_view(session, count.number, blind=True)
    assert after["blind"] is False and after["lines"][0]["expected_qty"] == D(100)
    assert after["lines"][0]["adjustments"][0]["quantity"] == D(-1)
    assert date.fromisoformat(after["frozen_at"].date().isoformat())
