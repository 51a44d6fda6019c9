"""Partial shipment and backorder: an order whose shipping policy is "partial" ships what is in
stock, bills that shipment, and goes round again for the rest when goods arrive."""
from decimal import Decimal

from sqlalchemy import select

from app.models.finance import Invoice
from app.models.inventory import ReplenishmentRequest
from tests.e2e.test_order_to_cash import pay, place

LINES = [("FUR-TABLE-MTG", 3), ("FUR-CHAIR-ERG", 2)]  # 2 tables on hand, chairs plenty


def receive_tables(o2c, quantity, reference):
    response = o2c.call("wendy", "post", "/api/stock/receipts", json={
        "sku": "FUR-TABLE-MTG", "warehouse": "SH-MAIN", "bin": "A-01",
        "quantity": str(quantity), "reference": reference})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def shipped(order):
    return [{line["sku"]: line["quantity"] for line in s["lines"]} for s in order["shipments"]]


def test_partial_policy_ships_what_is_there_and_backorders_the_rest(o2c):
    created = place(o2c, "C-1003", LINES)  # the key account ships partially by default
    number = created["number"]
    o2c.approve(number)
    order = o2c.get(number)
    assert order["shipping_policy"] == "partial"
    assert order["status"] == "picking"
    pick = o2c.task_data(number, "pick_pack")["pick"]
    assert sorted((ln["sku"], ln["quantity"]) for ln in pick["lines"]) == [
        ("FUR-CHAIR-ERG", "2.000"), ("FUR-TABLE-MTG", "2.000")]

    o2c.deliver_current_shipment(number)
    order = o2c.get(number)
    assert order["status"] == "backordered"
    assert "wait_goods" in [w["node_id"] for w in order["process"]["waiting_at"]]
    [first_invoice] = order["invoices"]
    delivered = {ln["sku"]: ln["delivered_qty"] for ln in order["lines"]}
    assert delivered == {"FUR-TABLE-MTG": "2.000", "FUR-CHAIR-ERG": "2.000"}
    assert o2c.stock("FUR-TABLE-MTG")["totals"]["on_order"] == "1.000"
    # The customer pays the first invoice while the backorder waits: nothing waits for the
    # payment yet, but it is recorded and counts when the order gets there.
    pay(o2c, "BANK-BO-1", first_invoice["total"], first_invoice["number"])

    receive_tables(o2c, 1, "GRN-BO-1")
    order = o2c.get(number)
    assert order["status"] == "backordered"  # part delivered, the rest being picked
    pick = o2c.task_data(number, "pick_pack")["pick"]
    assert [(ln["sku"], ln["quantity"]) for ln in pick["lines"]] == [("FUR-TABLE-MTG", "1.000")]
    o2c.deliver_current_shipment(number)

    order = o2c.get(number)
    assert order["status"] == "awaiting_payment"
    assert len(order["shipments"]) == 2 and len(order["invoices"]) == 2
    assert all(ln["delivered_qty"] == ln["quantity"] == ln["invoiced_qty"]
               for ln in order["lines"])
    billed = sum(Decimal(inv["total"]) for inv in order["invoices"])
    assert billed == Decimal(created["total"])  # each unit billed once, nothing missing
    numbers = sorted(inv["number"] for inv in order["invoices"])
    assert int(numbers[1].rsplit("-", 1)[1]) == int(numbers[0].rsplit("-", 1)[1]) + 1  # gap-free
    assert first_invoice["number"] == numbers[0]

    second = next(inv for inv in order["invoices"] if inv["number"] == numbers[1])
    assert Decimal(second["total"]) + Decimal(first_invoice["total"]) == billed
    pay(o2c, "BANK-BO-2", second["total"], second["number"])
    assert o2c.get(number)["status"] == "completed"


def test_complete_policy_ships_nothing_until_everything_is_there(o2c):
    number = place(o2c, "C-1001", LINES)["number"]
    o2c.approve(number)
    order = o2c.get(number)
    assert order["shipping_policy"] == "complete"
    assert order["status"] == "awaiting_stock" and order["shipments"] == []
    assert o2c.task(number, "pick_pack") is None


def test_the_order_may_ask_for_partial_shipment_itself(o2c):
    number = place(o2c, "C-1001", LINES, shipping_policy="partial")["number"]
    o2c.approve(number)
    assert o2c.get(number)["status"] == "picking"
    bad = o2c.order("C-1001", LINES, shipping_policy="whenever")
    assert bad.status_code == 422 and "shipping_policy" in str(bad.get_json()["details"])


def test_nothing_in_stock_waits_even_when_partial_is_allowed(o2c):
    receive_nothing = place(o2c, "C-1003", [("ELE-PRN-A3", 3)])["number"]  # 1 on hand
    o2c.approve(receive_nothing)
    assert o2c.get(receive_nothing)["status"] == "picking"  # the one printer ships
    other = place(o2c, "C-1003", [("ELE-PRN-A3", 2)])["number"]  # none left
    o2c.approve(other)
    order = o2c.get(other)
    assert order["status"] == "awaiting_stock" and order["shipments"] == []


def test_cancelling_the_backorder_keeps_what_shipped_billed(o2c):
    created = place(o2c, "C-1003", LINES)
    number = created["number"]
    o2c.approve(number)
    o2c.deliver_current_shipment(number)
    [invoice] = o2c.get(number)["invoices"]

    response = o2c.message("order_cancelled", number, {"reason": "no longer needed"})
    assert response.status_code == 200
    order = o2c.get(number)
    assert order["status"] == "awaiting_payment"  # not cancelled: two tables and chairs shipped
    assert order["backorder_cancelled_at"] and order["end_reason"] == "no longer needed"
    o2c.session.expire_all()
    requests = o2c.session.scalars(select(ReplenishmentRequest)).all()
    assert [r.status for r in requests] == ["cancelled"]
    assert o2c.stock("FUR-TABLE-MTG")["totals"]["on_order"] == "0.000"

    receive_tables(o2c, 5, "GRN-LATE")  # arrives later: the order no longer takes it
    assert len(o2c.get(number)["shipments"]) == 1
    pay(o2c, "BANK-PART", invoice["total"], invoice["number"])
    order = o2c.get(number)
    assert order["status"] == "completed"
    assert o2c.session.scalar(select(Invoice.total)) == Decimal(invoice["total"])


def test_dunning_after_a_long_backorder_counts_from_the_first_invoice(o2c, runtime,
                                                                       frozen_clock):
    """Terms 60 days (the key account): the backorder takes 80 days, so the first invoice is
    overdue when the last one is issued, and its reminder goes out at once."""
    from datetime import timedelta

    from app.engine import clock, jobs

    number = place(o2c, "C-1003", LINES)["number"]
    o2c.approve(number)
    o2c.deliver_current_shipment(number)
    [first] = o2c.get(number)["invoices"]
    clock.travel(timedelta(days=80))
    receive_tables(o2c, 1, "GRN-LATE-1")
    o2c.deliver_current_shipment(number)
    jobs.run_until_idle(runtime)
    invoices = {inv["number"]: inv for inv in o2c.get(number)["invoices"]}
    assert invoices[first["number"]]["dunning_level"] == 1  # due + 7 days passed long ago
    second = next(n for n in invoices if n != first["number"])
    assert invoices[second]["dunning_level"] == 0  # not due yet: not dunned


def test_cancelling_while_the_partial_shipment_travels_drops_the_backorder(o2c, runtime):
    from app.engine import jobs

    number = place(o2c, "C-1003", LINES)["number"]
    o2c.approve(number)
    assert o2c.pick_and_pack(number).status_code == 200  # 2 tables + 2 chairs on the truck
    response = o2c.message("order_cancelled", number, {"reason": "project stopped"})
    assert response.status_code == 200
    o2c.session.expire_all()
    assert [r.status for r in o2c.session.scalars(select(ReplenishmentRequest))] == ["cancelled"]
    [shipment] = o2c.get(number)["shipments"]
    assert o2c.message("shipment_delivered", number,
                       {"tracking_number": shipment["tracking_number"]}).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "awaiting_payment"  # no loop back for the third table
    assert order["backorder_cancelled_at"] and len(order["shipments"]) == 1
    jobs.run_until_idle(runtime)
    assert [r["origin"] for r in o2c.get(number)["returns"]] == ["cancellation"]
