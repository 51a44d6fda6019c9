"""KPIs on small data sets whose figures are worked out by hand in the comments.

The process KPIs run real orders through order_lifecycle with the clock moved; fulfilment,
turnover and DSO are built from model rows, so every date is exact."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from app.domain import kpis
from app.domain.errors import Invalid
from app.engine import clock
from app.models.finance import JournalEntry, JournalLine
from app.models.inventory import StockLedger
from app.models.sales import ItemPrice, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from tests import factories
from tests.e2e.test_order_to_cash import pay, place

UTC = timezone.utc
MONDAY = date(2026, 3, 2)


def at(day, hour=0, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def d(text):
    return Decimal(text)


# ------------------------------------------------------------------ period and helpers

def test_period_defaults_to_twelve_weeks_and_refuses_bad_ranges():
    p = kpis.period(today=date(2026, 3, 4))  # a Wednesday
    assert (p.start, p.end) == (date(2025, 12, 15), date(2026, 3, 4))
    assert len(kpis.weeks(p)) == 12
    with pytest.raises(Invalid) as err:
        kpis.period(date(2026, 3, 5), date(2026, 3, 4))
    assert err.value.details == [{"field": "from", "message": "must be on or before 'to'"}]
    with pytest.raises(Invalid):
        kpis.period(date(2025, 1, 1), date(2026, 3, 4))


def test_weeks_are_mondays_clipped_to_the_period():
    p = kpis.Period(date(2026, 3, 4), date(2026, 3, 10))
    assert [(monday, q.start, q.end) for monday, q in kpis.weeks(p)] == [
        (date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 9), date(2026, 3, 10))]


def test_percentiles_interpolate_between_ranks():
    assert kpis.percentile([3600, 7200, 36000], "0.5") == 7200
    assert kpis.percentile([2, 18], "0.9") == d("16.4")
    assert kpis.percentile([], "0.5") is None


# ------------------------------------------------------------------ process KPIs

@pytest.fixture
def week_of_orders(frozen_clock, o2c):
    """Mon 2026-03-02 09:00 (clock frozen before the demo stock is booked):
    A (C-1001, 2 chairs): placed Mon 09:00, approved by sam Mon 11:00, picked Mon 14:00,
      delivered Tue 14:00, paid Thu 14:00 -> closed after 77 h.
    B (C-1004, 3 desks, over its credit limit): placed Mon 10:00 -> credit hold, released by carl
      Mon 16:00 -> general manager; gina approves Wed 10:00 (approval round of 42 h).
    C (C-1004, 1 desk): placed Wed 12:00 -> credit hold, left there.
    """
    def travel_to(day, hour):
        clock.travel(at(day, hour) - clock.now())

    a = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 2)])["number"]
    travel_to(2, 10)
    b = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])["number"]
    assert o2c.get(b)["status"] == "credit_hold"
    travel_to(2, 11)
    assert o2c.complete("sam", a, "approve_supervisor", {"decision": "approve"}).status_code == 200
    travel_to(2, 14)
    assert o2c.pick_and_pack(a).status_code == 200
    travel_to(2, 16)
    assert o2c.complete("carl", b, "credit_review",
                        {"decision": "release", "reason": "prepaid"}).status_code == 200
    travel_to(3, 14)
    [shipment] = o2c.get(a)["shipments"]
    assert o2c.message("shipment_delivered", a,
                       {"tracking_number": shipment["tracking_number"]}).status_code == 200
    travel_to(4, 10)
    assert o2c.complete("gina", b, "approve_manager", {"decision": "approve"}).status_code == 200
    travel_to(4, 12)
    c = place(o2c, "C-1004", [("FUR-DESK-1400", 1)])["number"]
    assert o2c.get(c)["status"] == "credit_hold"
    travel_to(5, 14)
    [invoice] = o2c.get(a)["invoices"]
    pay(o2c, "BANK-A", invoice["total"], invoice["number"])
    assert o2c.get(a)["status"] == "completed"
    return o2c


def test_cycle_times_per_step_and_end_to_end(week_of_orders):
    result = kpis.order_cycle_time(week_of_orders.session, kpis.Period(MONDAY, date(2026, 3, 8)))
    assert (result["count"], result["p50"], result["p90"]) == (1, d("77.00"), d("77.00"))
    steps = {s["node_id"]: (s["count"], s["p50"], s["p90"]) for s in result["steps"]}
    assert steps["wait_payment"] == (1, d("48.00"), d("48.00"))  # invoiced Tue 14:00, paid Thu
    assert steps["wait_delivery"] == (1, d("24.00"), d("24.00"))  # shipped Mon 14:00
    assert steps["approve_manager"] == (1, d("42.00"), d("42.00"))
    assert steps["credit_review"] == (1, d("6.00"), d("6.00"))
    assert steps["pick_pack"] == (1, d("3.00"), d("3.00"))
    assert steps["approve_supervisor"] == (1, d("2.00"), d("2.00"))
    assert steps["check_credit"] == (3, d("0.00"), d("0.00"))  # service tasks take no time
    assert "credit_hold" not in steps and "approval" not in steps  # gateways, call activity
    assert [s["node_id"] for s in result["steps"][:6]] == [
        "wait_payment", "approve_manager", "wait_delivery", "credit_review", "pick_pack",
        "approve_supervisor"]
    [week] = result["series"]
    assert (week["week"], week["count"], week["p50"]) == (MONDAY, 1, d("77.00"))


def test_approval_lead_time_per_round(week_of_orders):
    result = kpis.approval_lead_time(week_of_orders.session, kpis.Period(MONDAY, date(2026, 3, 8)))
    # rounds of 2 h (A) and 42 h (B, requested when the hold was released Mon 16:00):
    # p50 = 2 + 0.5 x 40, p90 = 2 + 0.9 x 40
    assert (result["count"], result["p50"], result["p90"]) == (2, d("22.00"), d("38.00"))
    earlier = kpis.approval_lead_time(week_of_orders.session, kpis.Period(MONDAY, MONDAY))
    assert (earlier["count"], earlier["p50"]) == (1, d("2.00"))


def test_orders_on_credit_hold_at_the_end_and_per_week(week_of_orders):
    session = week_of_orders.session
    p = kpis.Period(MONDAY, date(2026, 3, 8))
    now = clock.now()  # Thu 14:00: C is still on hold, B was released
    assert kpis.credit_hold(session, p, now) == {
        "value": 1, "entered": 2, "unit": "orders",
        "series": [{"week": MONDAY, "value": 1, "entered": 2}]}
    assert kpis.credit_hold(session, p, at(2, 12))["value"] == 1  # Mon noon: B
    assert kpis.credit_hold(session, p, at(3, 12))["value"] == 0  # Tue noon: none


def test_compute_puts_everything_together(week_of_orders):
    result = kpis.compute(week_of_orders.session, kpis.Period(MONDAY, date(2026, 3, 8)))
    assert result["weeks"] == [MONDAY]
    assert result["period"] == {"from": MONDAY, "to": date(2026, 3, 8), "days": 7}
    assert result["credit_hold"]["value"] == 1
    assert result["approval_lead_time"]["count"] == 2
    assert result["customer_satisfaction"] == {"value": None, "note": "n/a until feedback exists"}
    rows = kpis.csv_rows(result)
    assert rows[0] == ["kpi", "week", "dimension", "value", "unit"]
    assert ["order_cycle_time_p50", "", "", "77.00", "hours"] in rows
    assert ["step_cycle_time_p90", "2026-03-02", "approve_manager", "42.00", "hours"] in rows
    assert ["orders_on_credit_hold", "2026-03-02", "", "1", "orders"] in rows
    assert kpis.to_csv(result).startswith("kpi,week,dimension,value,unit\r\n")


# ------------------------------------------------------------------ fulfilment

def _order(session, cust, product, number, quantities, *, requested=None, created=None,
           cancelled=False):
    order = SalesOrder(number=number, customer_id=cust.id, currency="CNY", requested_date=requested,
                       created_at=created or at(1), cancelled_at=at(1) if cancelled else None)
    order.lines = [SalesOrderLine(line_no=i, product_id=product.id, quantity=d(q),
                                  list_price=d("1"), unit_price=d("1"), amount=d(q),
                                  tax_rate=d("0"), tax_amount=d("0"), pricing_source="test")
                   for i, q in enumerate(quantities, start=1)]
    session.add(order)
    session.flush()
    return order


def _deliver(session, order, bin_id, quantities, when, status="delivered"):
    shipment = Shipment(number=f"SH-{order.number}-{when:%d%H}", order_id=order.id, status=status,
                        delivered_at=when if status == "delivered" else None)
    shipment.lines = [ShipmentLine(order_line_id=line.id, product_id=line.product_id,
                                   bin_id=bin_id, quantity=d(q))
                      for line, q in zip(order.lines, quantities) if q]
    session.add(shipment)
    session.flush()


def test_fulfilment_rate_counts_orders_delivered_complete_by_their_due_time(session):
    pl = factories.price_list(session)
    cust = factories.customer(session, "C-1", pl)
    product = factories.product(session, "P-1")
    bin_id = factories.warehouse(session).bins[0].id
    o1 = _order(session, cust, product, "O1", ["10"], requested=date(2026, 3, 4))
    _deliver(session, o1, bin_id, ["10"], at(4, 15))                      # week 1: on time
    o2 = _order(session, cust, product, "O2", ["10"], requested=date(2026, 3, 5))
    _deliver(session, o2, bin_id, ["6"], at(3, 9))
    _deliver(session, o2, bin_id, ["4"], at(6, 9))                        # week 1: late rest
    o3 = _order(session, cust, product, "O3", ["5"],
                created=datetime(2026, 2, 27, 9, tzinfo=UTC))           # due Fri 6th 09:00
    _deliver(session, o3, bin_id, ["5"], at(6, 8))                        # week 1: on time
    o4 = _order(session, cust, product, "O4", ["3", "2"], requested=date(2026, 3, 10))
    _deliver(session, o4, bin_id, ["3", "1"], at(9, 12))                  # week 2: incomplete
    _deliver(session, o4, bin_id, [None, "1"], at(9, 13), status="booked")  # not delivered
    o5 = _order(session, cust, product, "O5", ["1"], requested=date(2026, 3, 12), cancelled=True)
    _deliver(session, o5, bin_id, ["1"], at(11))                          # cancelled: left out
    o6 = _order(session, cust, product, "O6", ["1"], requested=date(2026, 3, 20))
    _deliver(session, o6, bin_id, ["1"], at(11))                          # due after the period
    _order(session, cust, product, "O7", ["1"], requested=date(2026, 3, 14))  # not due yet
    o8 = _order(session, cust, product, "O8", ["2"], requested=date(2026, 3, 15))
    _deliver(session, o8, bin_id, ["2"], at(12))                          # week 2: early, done
    session.commit()

    result = kpis.fulfilment_rate(session, kpis.Period(MONDAY, date(2026, 3, 15)), 7, at(13, 12))
    assert (result["on_time"], result["due"], result["value"]) == (3, 5, d("0.6000"))
    assert [(w["week"], w["on_time"], w["due"], w["value"]) for w in result["series"]] == [
        (MONDAY, 2, 3, d("0.6667")), (date(2026, 3, 9), 1, 2, d("0.5000"))]
    # A week later O7 is overdue and undelivered: a miss.
    later = kpis.fulfilment_rate(session, kpis.Period(MONDAY, date(2026, 3, 15)), 7, at(20))
    assert (later["on_time"], later["due"]) == (3, 6)
    # With 2 days' grace O3 was due Sun 1st: outside the period.
    short = kpis.fulfilment_rate(session, kpis.Period(MONDAY, date(2026, 3, 8)), 2, at(20))
    assert (short["on_time"], short["due"]) == (1, 2)


# ------------------------------------------------------------------ inventory turnover

def _move(session, product, bin_id, qty, kind, when):
    session.add(StockLedger(product_id=product.id, bin_id=bin_id, quantity=d(qty), kind=kind,
                            at=when))


def test_inventory_turnover_days_per_product_group(session):
    pl = factories.price_list(session, "STD")
    chair = factories.product(session, "CHAIR", price="100", pl=pl, item_group="furniture")
    desk = factories.product(session, "DESK", price="50", pl=pl, item_group="furniture")
    pen = factories.product(session, "PEN", price="10", pl=pl)  # no group
    session.add(ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=d("90"),
                          min_qty=d("100")))  # a quantity break: not the valuation price
    later = factories.price_list(session, "LATER")
    session.add(ItemPrice(price_list_id=later.id, product_id=chair.id, unit_price=d("999")))
    bin_id = factories.warehouse(session).bins[0].id
    _move(session, chair, bin_id, "10", "receipt", datetime(2026, 2, 20, tzinfo=UTC))
    _move(session, chair, bin_id, "-4", "issue", at(5))      # Thu 00:00
    _move(session, desk, bin_id, "20", "receipt", at(4))     # Wed 00:00
    _move(session, desk, bin_id, "-1", "adjustment", at(6))  # Fri 00:00, not an issue
    _move(session, pen, bin_id, "5", "receipt", datetime(2026, 2, 1, tzinfo=UTC))
    _move(session, pen, bin_id, "-5", "issue", at(7))        # Sat 00:00
    session.commit()
    assert kpis.valuation_prices(session) == {chair.id: d("100"), desk.id: d("50"),
                                              pen.id: d("10")}

    result = kpis.inventory_turnover(session, kpis.Period(MONDAY, date(2026, 3, 15)), at(20))
    groups = {g["group"]: g for g in result["groups"]}
    assert list(groups) == ["(no group)", "furniture"]
    furniture = groups["furniture"]
    # week 1 value-days: chair 100 x (10 x 3 d + 6 x 4 d) = 5400; desk 50 x (20 x 2 d + 19 x 3 d)
    # = 4850; issued 4 x 100 = 400 -> 10250 / 400 = 25.6 days; average stock 10250 / 7 days.
    week1, week2 = furniture["series"]
    assert (week1["days"], week1["issued_value"], week1["average_stock_value"]) == (
        d("25.6"), d("400.00"), d("1464.29"))
    # week 2: chair 6 x 100 + desk 19 x 50 = 1550 all week, nothing issued
    assert (week2["days"], week2["issued_value"], week2["average_stock_value"]) == (
        None, d("0.00"), d("1550.00"))
    # the fortnight: (10250 + 7 x 1550) / 400 = 52.75 -> 52.8
    assert (furniture["days"], furniture["average_stock_value"]) == (d("52.8"), d("1507.14"))
    pens = groups["(no group)"]
    # 10 x 5 pens for 5 days = 250 value-days; issued 50 -> 5 days
    assert (pens["series"][0]["days"], pens["series"][0]["average_stock_value"]) == (
        d("5.0"), d("35.71"))


# ------------------------------------------------------------------ DSO

def _posting(session, doc_type, when, debit="0", credit="0"):
    entry = JournalEntry(doc_type=doc_type, doc_id=1, posted_at=when)
    entry.lines = [JournalLine(account="accounts_receivable", debit=d(debit), credit=d(credit)),
                   JournalLine(account="other", debit=d(credit), credit=d(debit))]
    session.add(entry)


def test_days_sales_outstanding(session):
    _posting(session, "invoice", datetime(2026, 2, 20, tzinfo=UTC), debit="1000")  # opening
    _posting(session, "invoice", at(3), debit="2000")
    _posting(session, "payment", at(4), credit="1500")
    _posting(session, "credit_note", at(6), credit="200")
    _posting(session, "invoice", at(10), debit="5000")  # after the period
    session.commit()
    p = kpis.Period(MONDAY, date(2026, 3, 8))
    # receivables 1000 + 2000 - 1500 - 200 = 1300; credit sales 2000 - 200 = 1800; 7 days
    result = kpis.days_sales_outstanding(session, p, at(20))
    assert (result["receivables"], result["credit_sales"], result["value"]) == (
        d("1300"), d("1800"), d("5.1"))
    assert result["series"][0]["value"] == d("5.1")
    # Thursday noon: 1500 outstanding of 2000 sold in 3.5 days
    midweek = kpis.days_sales_outstanding(session, p, at(5, 12))
    assert (midweek["receivables"], midweek["credit_sales"], midweek["value"]) == (
        d("1500"), d("2000"), d("2.6"))
    assert kpis.days_sales_outstanding(session, kpis.Period(date(2026, 3, 16), date(2026, 3, 22)),
                                       at(20))["value"] is None  # no sales: no DSO
