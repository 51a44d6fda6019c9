"""MRP: a three-level BOM worked out by hand, reruns, firm orders, lot sizing, exceptions."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import boms, mrp, planning_data
from app.domain.mrp_inputs import Item
from app.domain.mrp_netting import economic_order_qty, lead_time_days, lot_size
from app.engine import clock
from app.engine.operators import UnitContext, invoke
from app.models.inventory import ReplenishmentRequest, Reservation, Supplier
from app.models.manufacturing import Pegging, PlannedOrder
from tests.domain.test_inventory import make_bin, make_order, make_product, receive

D = Decimal
TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


def d(day):  # a date in March 2026
    return date(2026, 3, day)


def order_for(session, product, qty, requested):
    order = make_order(session, (product, qty))
    order.requested_date = requested
    session.flush()
    return order.lines[0]


@pytest.fixture
def bike(session):
    """BIKE ← FRAME ×1, WHEEL ×2, BOLT ×4;  FRAME ← TUBE ×3 (+10 % scrap), BOLT ×2;
    WHEEL ← TUBE ×1, SPOKE ×36.  TUBE and BOLT are shared; BOLT sits on levels 1 and 2."""
    supplier = Supplier(code="S1", name="Steel Ltd")
    session.add(supplier)
    session.flush()
    make_bin(session)
    p = {sku: make_product(session, sku, lead_time_days=lead,
                           default_supplier_id=supplier.id if buy and sku != "BOLT" else None)
         for sku, lead, buy in [("BIKE", 2, False), ("FRAME", 1, False), ("WHEEL", 2, False),
                                ("TUBE", 5, True), ("BOLT", 4, True), ("SPOKE", 7, True)]}
    boms.create_bom(session, product="BIKE", lines=[
        {"component": "FRAME", "qty_per": D(1)}, {"component": "WHEEL", "qty_per": D(2)},
        {"component": "BOLT", "qty_per": D(4)}])
    boms.create_bom(session, product="FRAME", lines=[
        {"component": "TUBE", "qty_per": D(3), "scrap_percent": D(10)},
        {"component": "BOLT", "qty_per": D(2)}])
    boms.create_bom(session, product="WHEEL", lines=[
        {"component": "TUBE", "qty_per": D(1)}, {"component": "SPOKE", "qty_per": D(36)}])
    planning_data.create_work_centre(session, "WELD", "Welding", D(8))
    planning_data.set_routing(session, "FRAME", [
        {"work_centre": "WELD", "setup_minutes": D(60), "run_minutes": D(180)}])
    planning_data.set_item_planning(session, "TUBE", safety_stock=D(5))
    planning_data.set_item_planning(session, "BOLT", lot_sizing="fixed", fixed_qty=D(100))
    planning_data.set_item_planning(session, "SPOKE", lot_sizing="moq", min_order_qty=D(500),
                                    order_multiple=D(100))
    for sku, qty in [("BIKE", "3"), ("WHEEL", "4"), ("TUBE", "10")]:
        receive(session, sku=sku, qty=qty)
    so1 = order_for(session, p["BIKE"], 10, d(20))
    so2 = order_for(session, p["BIKE"], 5, d(27))
    session.commit()
    return p, so1, so2


def planned(session):
    """{(sku, due): (kind, qty, release, {(demand sku or 'SO', demand due or line id): qty})}"""
    orders = session.scalars(select(PlannedOrder).order_by(PlannedOrder.id)).all()
    by_id = {o.id: o for o in orders}
    result = {}
    for o in orders:
        pegs = {}
        for peg in o.pegging:
            if peg.demand_type == "planned_order":
                parent = by_id[peg.demand_id]
                key = (parent.product.sku, parent.due_date.day)
            else:
                key = ("SO", peg.demand_id)
            pegs[key] = peg.quantity
        result[(o.product.sku, o.due_date.day)] = (o.kind, o.quantity, o.release_date.day, pegs)
    return result


def ids_by_bucket(session):
    return {(o.product.sku, o.due_date.day): o.id
            for o in session.scalars(select(PlannedOrder).where(PlannedOrder.status == "planned"))}


def test_three_level_bom_matches_the_hand_calculation(session, bike):
    """Today is 2 March 2026 (day 0); all dates below are March.

    BIKE (code 0, lead 2, on hand 3): gross 10 on the 20th (SO1), 5 on the 27th (SO2).
      20th: net = 10 − 3 = 7  → WO 7 due 20th, release 18th;  27th: net 5 → WO 5 due 27th, rel 25th.
      Pegs: 3 of SO1 from stock, WO(20th) 7 → SO1, WO(27th) 5 → SO2.
      Explosion: on the 18th FRAME 7, WHEEL 14, BOLT 28; on the 25th FRAME 5, WHEEL 10, BOLT 20.
    FRAME (code 1, lead 1, routing WELD 60 min setup + 180 min/unit, 8 h/day):
      7 units = 1,320 min = 2.75 days → 3 days;  5 units = 960 min = 2 days (> 1 day lead time).
      WO 7 due 18th, release 15th;  WO 5 due 25th, release 23rd.
      Explosion: TUBE 7 × 3 × 1.1 = 23.1 on the 15th, 5 × 3.3 = 16.5 on the 23rd;
                 BOLT 14 on the 15th, 10 on the 23rd.
    WHEEL (code 1, lead 2, on hand 4): gross 14 on the 18th, 10 on the 25th.
      18th: net = 14 − 4 = 10 → WO 10 due 18th, rel 16th;  25th: net 10 → WO 10 due 25th, rel 23rd.
      Explosion: TUBE 10 on the 16th and 10 on the 23rd; SPOKE 360 on the 16th and the 23rd.
    TUBE (code 2, buy, lead 5, on hand 10, safety stock 5): gross 23.1 (15th), 10 (16th),
      16.5 + 10 = 26.5 (23rd).
      15th: net = 23.1 + 5 − 10 = 18.1 → PR 18.1 due 15th, rel 10th; available 5.
      16th: net = 10 + 5 − 5 = 10 → PR 10 due 16th, rel 11th;  23rd: net 26.5 → PR 26.5, rel 18th.
      Pegs (stock serves safety stock 5 first, then 5 of FRAME's 23.1): PR(15th) 18.1 → FRAME(18th);
      PR(16th) 10 → WHEEL(18th); PR(23rd) 16.5 → FRAME(25th), 10 → WHEEL(25th).
    BOLT (code 2 — after FRAME, buy, lead 4, fixed lot 100, no supplier): gross 14 (15th),
      28 (18th), 10 (23rd), 20 (25th).  15th: net 14 → one lot of 100 due 15th, rel 11th, which
      covers everything after it (86, 58, 48, 28 left).  Pegs: 14 FRAME(18th), 28 BIKE(20th),
      10 FRAME(25th), 20 BIKE(27th).  Exception: missing supplier.
    SPOKE (code 2, buy, lead 7, MOQ 500, multiple 100): gross 360 (16th), 360 (23rd).
      16th: net 360 → MOQ 500, due 16th, rel 9th, 140 left;  23rd: net 220 → 500, rel 16th.
      Pegs: PR(16th) 360 → WHEEL(18th), 140 → WHEEL(25th); PR(23rd) 220 → WHEEL(25th).
    """
    products, so1, so2 = bike
    run = mrp.run_mrp(session, started_by="test")
    session.commit()

    WO, PR = "work_order", "purchase_request"
    assert planned(session) == {
        ("BIKE", 20): (WO, D(7), 18, {("SO", so1.id): D(7)}),
        ("BIKE", 27): (WO, D(5), 25, {("SO", so2.id): D(5)}),
        ("FRAME", 18): (WO, D(7), 15, {("BIKE", 20): D(7)}),
        ("FRAME", 25): (WO, D(5), 23, {("BIKE", 27): D(5)}),
        ("WHEEL", 18): (WO, D(10), 16, {("BIKE", 20): D(10)}),
        ("WHEEL", 25): (WO, D(10), 23, {("BIKE", 27): D(10)}),
        ("TUBE", 15): (PR, D("18.1"), 10, {("FRAME", 18): D("18.1")}),
        ("TUBE", 16): (PR, D(10), 11, {("WHEEL", 18): D(10)}),
        ("TUBE", 23): (PR, D("26.5"), 18, {("FRAME", 25): D("16.5"), ("WHEEL", 25): D(10)}),
        ("BOLT", 15): (PR, D(100), 11, {("FRAME", 18): D(14), ("BIKE", 20): D(28),
                                        ("FRAME", 25): D(10), ("BIKE", 27): D(20)}),
        ("SPOKE", 16): (PR, D(500), 9, {("WHEEL", 18): D(360), ("WHEEL", 25): D(140)}),
        ("SPOKE", 23): (PR, D(500), 16, {("WHEEL", 25): D(220)}),
    }
    assert run.counts["created"] == 12 and run.counts["work_orders"] == 6
    assert run.counts["purchase_requests"] == 6 and run.counts["demand_lines"] == 2
    assert [(e["type"], e["sku"]) for e in run.exceptions] == [("missing_supplier", "BOLT")]
    tube = session.scalar(select(PlannedOrder).where(
        PlannedOrder.due_date == d(15), PlannedOrder.product_id == products["TUBE"].id))
    assert tube.supplier_id is not None and tube.run_id == run.id and tube.status == "planned"


def test_a_rerun_updates_in_place_and_changes_follow_the_demand(session, bike):
    products, so1, so2 = bike
    first = mrp.run_mrp(session)
    session.commit()
    before = planned(session)
    ids = set(session.scalars(select(PlannedOrder.id)))
    peg_ids = set(session.scalars(select(Pegging.id)))

    again = mrp.run_mrp(session)
    session.commit()
    assert planned(session) == before
    assert set(session.scalars(select(PlannedOrder.id))) == ids
    assert (again.counts["created"], again.counts["updated"], again.counts["unchanged"],
            again.counts["deleted"]) == (0, 0, 12, 0)
    # nothing changed, so nothing was written: same pegging rows, run_id of the run that planned
    assert set(session.scalars(select(Pegging.id))) == peg_ids and len(peg_ids) == 17
    assert again.counts["pegs_written"] == 0
    assert set(session.scalars(select(PlannedOrder.run_id))) == {first.id}

    # SO2 doubles: orders in the same buckets grow in place (same ids). FRAME's longer routing
    # time moves its release to the 21st, where TUBE gets a new bucket; BOLT's lot of 100 no
    # longer lasts (14 + 28 + 20 on the 21st + 40 on the 25th = 102), so a second lot comes.
    ids_before = ids_by_bucket(session)
    so2.quantity = D(10)
    session.commit()
    third = mrp.run_mrp(session)
    session.commit()
    after = planned(session)
    assert after[("BIKE", 27)][:2] == ("work_order", D(10))
    assert after[("FRAME", 25)][:3] == ("work_order", D(10), 21)  # 1,860 min → 4 days
    ids_after = ids_by_bucket(session)
    assert {k: ids_after[k] for k in ids_after.keys() & ids_before.keys()} == \
        {k: ids_before[k] for k in ids_after.keys() & ids_before.keys()}
    assert set(ids_before) - set(ids_after) == set()
    assert set(ids_after) - set(ids_before) == {("TUBE", 21), ("BOLT", 25)}
    assert after[("BOLT", 25)][:2] == ("purchase_request", D(100))
    assert (third.counts["created"], third.counts["deleted"]) == (2, 0)

    # SO2 cancelled: every order made only for it goes away
    so2.order.cancelled_at = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    session.commit()
    fourth = mrp.run_mrp(session)
    session.commit()
    assert sorted(k for k in planned(session)) == [
        ("BIKE", 20), ("BOLT", 15), ("FRAME", 18), ("SPOKE", 16), ("TUBE", 15), ("TUBE", 16),
        ("WHEEL", 18)]
    assert fourth.counts["deleted"] == 7
    assert ids_by_bucket(session)[("BIKE", 20)] == ids_before[("BIKE", 20)]


def test_firm_orders_are_scheduled_receipts_and_are_not_replanned(session, bike):
    products, so1, so2 = bike
    mrp.run_mrp(session)
    session.commit()
    bike_wo = session.scalar(select(PlannedOrder).where(
        PlannedOrder.product_id == products["BIKE"].id, PlannedOrder.due_date == d(20)))
    mrp.firm_planned_order(session, bike_wo.id)
    bike_wo.quantity = D(9)  # the planner firmed a bigger lot: 2 more than SO1 needs
    session.commit()

    run = mrp.run_mrp(session)
    session.commit()
    result = planned(session)
    # the firm 9 covers SO1 (7) and 2 of SO2, so the 27th needs only 3
    assert result[("BIKE", 20)] == ("work_order", D(9), 18, {("SO", so1.id): D(7),
                                                             ("SO", so2.id): D(2)})
    assert result[("BIKE", 27)][:3] == ("work_order", D(3), 25)
    # the firm order still explodes: FRAME for 9 on its release day
    assert result[("FRAME", 18)][1] == D(9)
    assert result[("FRAME", 18)][3] == {("BIKE", 20): D(9)}
    assert session.get(PlannedOrder, bike_wo.id).status == "firm"
    assert run.counts["planned_orders"] == len(result) - 1  # the firm one is not MRP's


def test_open_replenishment_requests_and_reservations_count(session):
    make_bin(session)
    supplier = Supplier(code="S1", name="S")
    session.add(supplier)
    session.flush()
    part = make_product(session, "PART", lead_time_days=3, default_supplier_id=supplier.id)
    receive(session, sku="PART", qty="4")
    from app.domain import inventory

    line = order_for(session, part, 10, d(12))
    inventory.reserve_order(session, line.order_id)  # 4 reserved, request for 6 due the 5th
    assert session.scalar(select(ReplenishmentRequest.quantity)) == D(6)
    other = order_for(session, part, 8, d(12))
    session.commit()

    mrp.run_mrp(session)
    session.commit()
    # demand: line 1 open 10 − 4 reserved = 6, line 2 8; supply: 0 free + request 6 → net 8
    assert planned(session) == {("PART", 12): ("purchase_request", D(8), 9,
                                               {("SO", other.id): D(8)})}


def test_open_quantity_due_dates_and_closed_orders(session):
    """A: 10, no requested date, ordered today → due today + lead time 3 = the 5th.
    B: 6 ordered, 4 picked (issued) and delivered → open 6 − max(4, 4) = 2, due the 10th.
    C: closed → no demand."""
    bin_ = make_bin(session)
    supplier = Supplier(code="S1", name="S")
    session.add(supplier)
    session.flush()
    part = make_product(session, "PART", lead_time_days=3, default_supplier_id=supplier.id)
    a = make_order(session, (part, 10)).lines[0]
    b = order_for(session, part, 6, d(10))
    b.delivered_qty = D(4)
    session.add(Reservation(order_line_id=b.id, product_id=part.id, bin_id=bin_.id,
                            quantity=D(4), status="issued"))
    c = order_for(session, part, 7, d(12))
    c.order.closed_at = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
    session.commit()

    run = mrp.run_mrp(session)
    assert run.counts["demand_lines"] == 2
    assert planned(session) == {
        ("PART", 5): ("purchase_request", D(10), 2, {("SO", a.id): D(10)}),
        ("PART", 10): ("purchase_request", D(2), 7, {("SO", b.id): D(2)})}


def test_exceptions_past_due_release_and_missing_bom(session):
    make_bin(session)
    kit = make_product(session, "KIT", lead_time_days=5)
    planning_data.set_item_planning(session, "KIT", make_or_buy="make")
    order_for(session, kit, 2, d(4))  # due in 2 days, 5 days to make
    session.commit()

    run = mrp.run_mrp(session)
    session.commit()
    wo = session.scalar(select(PlannedOrder))
    assert (wo.kind, wo.quantity, wo.release_date, wo.due_date) == \
        ("work_order", D(2), date(2026, 2, 27), d(4))
    assert sorted((e["type"], e["sku"], e["planned_order_id"]) for e in run.exceptions) == [
        ("missing_bom", "KIT", None), ("past_due_release", "KIT", wo.id)]


def test_safety_stock_alone_is_replenished_today(session):
    make_bin(session)
    make_product(session, "NUT", lead_time_days=0)
    planning_data.set_item_planning(session, "NUT", safety_stock=D(50), make_or_buy="buy",
                                    min_order_qty=D(60))
    run = mrp.run_mrp(session)
    assert planned(session) == {("NUT", 2): ("purchase_request", D(60), 2, {})}
    assert [e["type"] for e in run.exceptions] == ["missing_supplier"]


def test_eoq_from_the_horizon_demand(session):
    make_bin(session)
    supplier = Supplier(code="S1", name="S")
    session.add(supplier)
    session.flush()
    nut = make_product(session, "NUT", lead_time_days=1, default_supplier_id=supplier.id)
    planning_data.set_item_planning(session, "NUT", lot_sizing="eoq", order_cost=D(50),
                                    holding_cost=D("3.65"))
    order_for(session, nut, 90, d(10))
    mrp.run_mrp(session, horizon_days=90)
    # D = 90 × 365 / 90 = 365 a year; EOQ = √(2 × 365 × 50 / 3.65) = √10000 = 100 ≥ net 90
    assert planned(session)[("NUT", 10)][1] == D(100)


def item(**kw):
    base = dict(id=1, sku="X", make=False, lot_sizing="lot_for_lot", fixed_qty=D(0),
                min_order_qty=D(0), order_multiple=D(0), safety_stock=D(0), order_cost=D(0),
                holding_cost=D(0), annual_demand=None, lead_time=3, supplier_id=None)
    return Item(**(base | kw))


@pytest.mark.parametrize("settings, net, expected", [
    ({}, D("37.5"), D("37.5")),                                            # lot-for-lot
    ({"lot_sizing": "fixed", "fixed_qty": D(50)}, D(130), D(150)),         # whole fixed lots
    ({"lot_sizing": "fixed", "fixed_qty": D(50)}, D(50), D(50)),
    ({"lot_sizing": "moq", "min_order_qty": D(100)}, D(30), D(100)),       # MOQ
    ({"lot_sizing": "moq", "min_order_qty": D(100)}, D(130), D(130)),
    ({"order_multiple": D(25)}, D(130), D(150)),                            # multiple
    ({"min_order_qty": D(110), "order_multiple": D(25)}, D(30), D(125)),    # MOQ, then multiple
    ({"lot_sizing": "eoq", "annual_demand": D(1000), "order_cost": D(50),
      "holding_cost": D(4)}, D(30), D("158.114")),                          # EOQ √25000
    ({"lot_sizing": "eoq", "annual_demand": D(1000), "order_cost": D(50),
      "holding_cost": D(4)}, D(200), D(200)),                               # net above EOQ
])
def test_lot_sizing_rules(settings, net, expected):
    it = item(**settings)
    eoq = economic_order_qty(it, D(0), 90) if it.lot_sizing == "eoq" else None
    assert lot_size(it, net, eoq) == expected


def test_routing_extends_a_make_items_lead_time_only_when_longer():
    frame = item(make=True, lead_time=2, routing=[(D(30), D(60), D(8)), (D(0), D(30), D(4))])
    # 10 units: 630 min / 480 + 300 min / 240 = 1.3125 + 1.25 = 2.56 days → 3
    assert lead_time_days(frame, D(10)) == 3
    assert lead_time_days(frame, D(1)) == 2  # 0.1875 + 0.125 days: the lead time stands
    assert lead_time_days(item(lead_time=2, routing=[(D(0), D(9999), D(1))]), D(5)) == 2  # buy


def test_the_operator_runs_mrp(session, bike):
    result = invoke("mrp.run", UnitContext(session, None, None, "test"), {"horizon_days": 90})
    assert result["created"] == 12 and result["exceptions"] == 1
    assert result["run_id"] == session.scalar(select(func.max(PlannedOrder.run_id)))


@pytest.mark.postgres_only
def test_concurrent_runs_queue_and_leave_one_set_of_orders(app, session, bike):
    from app.extensions import db
    from tests.postgres.test_reservation_race import in_threads

    runs = in_threads(app, 4, lambda i: mrp.run_mrp(db.session).counts["created"])
    assert sorted(runs) == [0, 0, 0, 12]  # the first one creates, the others find them
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(PlannedOrder)) == 12
    assert session.scalar(select(func.count()).select_from(Pegging)) == 17
