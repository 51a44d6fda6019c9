"""Make and buy end to end: a short sales order gets a work order and purchase orders, which are
approved by amount, received (through the stock API and through the receiving task), issued,
made, inspected and put into stock; the sales order then resumes by itself and ships.
Timers by moving the clock."""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain import boms, catalog, planning_data
from app.engine import clock, jobs
from app.engine.operators import UnitContext
from app.models.engine import EngineCommand, HumanTask, ProcessInstance
from app.models.inventory import Product, StockLedger, Supplier
from app.models.manufacturing import Pegging, PlannedOrder
from app.models.procurement import GoodsReceipt, PurchaseOrder, SupplierPrice, WorkOrder
from app.models.shipping import Notification, Outbox
from service_tasks import supply as supply_operators
from tests.e2e.test_order_to_cash import place, ship_and_deliver

LIFECYCLE = Path(__file__).parents[2] / "processes" / "order_lifecycle.bpmn"
EXTRA_STAFF = {"bea": "purchasing", "pete": "production", "quinn": "quality",
               "paula": "planner"}


@pytest.fixture
def shop(o2c, make_user):
    """The demo company plus a buyer, shop floor, quality and a planner, and a stool that is
    made in-house from a seat (cheap, batch-tracked) and a base (dear), neither in stock."""
    for name, group in EXTRA_STAFF.items():
        o2c.tokens[name] = make_user(name, group)[1]
    session = o2c.session
    supplier = session.scalar(select(Supplier).where(Supplier.code == "SUP-LIANFENG"))
    for sku, name, tracking, price in (("SPR-SEAT", "Stool seat", "batch", "100"),
                                       ("SPR-BASE", "Stool base, cast aluminium", "none", "3000")):
        catalog.create_product(session, {"sku": sku, "name": name, "item_group": "spare_parts",
                                         "unit": "pcs", "weight_kg": "2", "lead_time_days": 7,
                                         "default_supplier": "SUP-LIANFENG", "tracking": tracking,
                                         "tax_rate": "0.13", "saleable": False})
        product = session.scalar(select(Product).where(Product.sku == sku))
        session.add(SupplierPrice(supplier_id=supplier.id, product_id=product.id,
                                  unit_price=Decimal(price)))
    catalog.create_product(session, {"sku": "FUR-STOOL", "name": "Lab stool", "unit": "pcs",
                                     "item_group": "office_furniture", "weight_kg": "6",
                                     "lead_time_days": 5, "default_supplier": "SUP-LIANFENG",
                                     "tax_rate": "0.13"})
    catalog.add_item_price(session, "STANDARD", {"sku": "FUR-STOOL", "unit_price": "900"})
    boms.create_bom(session, product="FUR-STOOL", lines=[
        {"component": "SPR-SEAT", "qty_per": Decimal(1)},
        {"component": "SPR-BASE", "qty_per": Decimal(1)},
        {"component": "SPR-GASLIFT", "qty_per": Decimal(1)}])  # 30 in stock
    planning_data.set_routing(session, "FUR-STOOL", [
        {"work_centre": "WC-ASSY", "description": "Assemble", "setup_minutes": "10",
         "run_minutes": "5"},
        {"work_centre": "WC-TEST", "description": "Load test", "run_minutes": "2"}])
    session.commit()
    return o2c


def run(o2c):
    from app.api.services import runtime

    return jobs.run_until_idle(runtime())


def lead_wired_planning() -> bool:
    return "supply.plan_for_order" in LIFECYCLE.read_text()


def plan_supply(o2c, number):
    """Until the order lifecycle calls supply.plan_for_order itself, do what its service task
    will do, in a unit of its own; afterwards the lifecycle already did it."""
    if not lead_wired_planning():
        order = o2c.order_row(number)
        ctx = UnitContext(o2c.session, order.process_instance_id, number, "order_lifecycle",
                          "system")
        result = supply_operators.plan_for_order(ctx, order.id)
        o2c.session.commit()
        run(o2c)
        return result
    run(o2c)
    return None


def task_of(o2c, business_key, node_id):
    o2c.session.expire_all()
    return o2c.session.scalar(select(HumanTask).where(
        HumanTask.business_key == business_key, HumanTask.node_id == node_id,
        HumanTask.state == "open"))


def complete(o2c, user, business_key, node_id, data):
    task = task_of(o2c, business_key, node_id)
    assert task is not None, f"no open {node_id} for {business_key}"
    response = o2c.call(user, "post", f"/api/tasks/{task.id}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()
    run(o2c)
    return response


def po_for(o2c, sku) -> PurchaseOrder:
    o2c.session.expire_all()
    return o2c.session.scalars(select(PurchaseOrder).join(PurchaseOrder.lines)
                               .join(Product).where(Product.sku == sku)
                               .order_by(PurchaseOrder.id.desc())).first()


def work_order(o2c, sku) -> WorkOrder:
    o2c.session.expire_all()
    return o2c.session.scalars(select(WorkOrder).join(Product, Product.id == WorkOrder.product_id)
                               .where(Product.sku == sku).order_by(WorkOrder.id.desc())).first()


def perform_operations(o2c, wo_number, count):
    for _ in range(count):
        complete(o2c, "pete", wo_number, "perform_operation", {"done": True})


def receipt_via_api(o2c, po_number, sku, quantity, reference, **extra):
    return o2c.call("wendy", "post", "/api/stock/receipts", json={
        "sku": sku, "warehouse": "SH-MAIN", "bin": "A-04", "quantity": str(quantity),
        "reference": reference, "purchase_order": po_number, **extra})


def test_a_short_make_item_is_made_from_bought_parts_and_the_order_resumes_and_ships(shop):
    o2c = shop
    number = place(o2c, "C-1001", [("FUR-STOOL", 4)])["number"]  # 4,068.00: supervisor tier
    assert o2c.complete("sam", number, "approve_supervisor",
                        {"decision": "approve"}).status_code == 200
    assert o2c.get(number)["status"] == "awaiting_stock"

    plan_supply(o2c, number)
    wo = work_order(o2c, "FUR-STOOL")
    assert (wo.quantity, wo.status) == (Decimal("4.000"), "materials_short")
    assert [(m.product.sku, m.required_qty, m.issued_qty) for m in wo.materials] == [
        ("SPR-SEAT", Decimal("4.000"), 0), ("SPR-BASE", Decimal("4.000"), 0),
        ("SPR-GASLIFT", Decimal("4.000"), Decimal("4.000"))]  # in stock: issued at once
    seat_po, base_po = po_for(o2c, "SPR-SEAT"), po_for(o2c, "SPR-BASE")
    line_id = o2c.order_row(number).lines[0].id
    pegs = o2c.session.scalars(select(Pegging)).all()
    assert {(p.planned_order_id, p.demand_type, p.demand_id) for p in pegs} == {
        (wo.planned_order_id, "sales_order_line", line_id),
        (seat_po.planned_order_id, "planned_order", wo.planned_order_id),
        (base_po.planned_order_id, "planned_order", wo.planned_order_id)}
    # approval by amount through the purchase DMN: seats 452.00 → finance, bases 13,560 → GM
    assert (seat_po.total, base_po.total) == (Decimal("452.00"), Decimal("13560.00"))
    assert task_of(o2c, seat_po.number, "approve_purchase_finance").candidate_groups == ["finance"]
    assert task_of(o2c, base_po.number, "approve_purchase_finance") is None
    assert task_of(o2c, base_po.number, "approve_manager").candidate_groups == ["general_manager"]
    refused = o2c.call("fran", "post", "/api/tasks/"
                       f"{task_of(o2c, base_po.number, 'approve_manager').id}/complete",
                       json={"data": {"decision": "approve"}})
    assert refused.status_code == 403
    complete(o2c, "fran", seat_po.number, "approve_purchase_finance", {"decision": "approve"})
    complete(o2c, "gina", base_po.number, "approve_manager", {"decision": "approve"})
    mails = {row.key: row.payload for row in o2c.session.scalars(select(Outbox))}
    assert seat_po.number in mails[f"purchase_order:{seat_po.number}"]["body"]
    assert mails[f"purchase_order:{base_po.number}"]["to"] == [
        "orders@lianfeng-furniture.example.com"]

    # seats arrive through the stock API, naming the PO (with their batch)
    response = receipt_via_api(o2c, seat_po.number, "SPR-SEAT", 4, "DN-SEAT-1", batch="S-0415")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["goods_receipt"].startswith("GR-")
    assert task_of(o2c, seat_po.number, "receive_goods") is None  # the message took it
    run(o2c)
    assert work_order(o2c, "FUR-STOOL").status == "materials_short"  # bases still missing
    assert o2c.get(number)["status"] == "awaiting_stock"

    # bases arrive at the warehouse, booked in the receiving task
    complete(o2c, "wendy", base_po.number, "receive_goods",
             {"delivery_note": "DN-BASE-7", "lines": [{"line_no": 1, "quantity": 4}]})
    assert po_for(o2c, "SPR-BASE").status == "received"
    wo = work_order(o2c, "FUR-STOOL")
    assert wo.status == "in_progress"
    ledger = o2c.session.scalars(select(StockLedger).where(
        StockLedger.doc_type == "goods_receipt").order_by(StockLedger.id)).all()
    assert [(r.quantity, r.batch) for r in ledger] == [(Decimal("4.000"), "S-0415"),
                                                      (Decimal("4.000"), None)]

    # one shop-floor task per routing operation, then quality
    task = task_of(o2c, wo.number, "perform_operation")
    assert task.candidate_groups == ["production"] and "Assemble" in task.instructions
    perform_operations(o2c, wo.number, 2)
    assert task_of(o2c, wo.number, "perform_operation") is None
    complete(o2c, "quinn", wo.number, "inspect_quality", {"result": "pass"})
    assert work_order(o2c, "FUR-STOOL").status == "completed"

    order = o2c.get(number)
    assert order["status"] == "picking", order["process"]
    assert sum(Decimal(r["quantity"]) for r in order["reservations"]) == 4
    assert ship_and_deliver(o2c, number)["status"] == "awaiting_payment"


def test_quality_fail_sends_the_work_order_back_then_it_passes(shop):
    o2c = shop
    planned = PlannedOrder(kind="work_order", product_id=o2c.session.scalar(
        select(Product.id).where(Product.sku == "FUR-CHAIR-ERG")), quantity=Decimal(2),
        release_date=date.today(), due_date=date.today() + timedelta(days=3), status="firm")
    o2c.session.add(planned)
    o2c.session.commit()
    on_hand = Decimal(o2c.stock("FUR-CHAIR-ERG")["totals"]["on_hand"])
    released = o2c.call("paula", "post", f"/api/mrp/planned-orders/{planned.id}/release")
    assert released.status_code == 201, released.get_json()
    document = released.get_json()["document"]
    assert document["type"] == "work_order" and document["process_instance_id"]
    wo_number = document["number"]

    again = o2c.call("paula", "post", f"/api/mrp/planned-orders/{planned.id}/release")
    assert again.status_code == 200 and again.get_json()["document"]["number"] == wo_number
    assert o2c.session.scalar(select(func.count()).select_from(WorkOrder)) == 1
    assert o2c.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_id == "production")) == 1
    assert o2c.call("alice", "post", f"/api/mrp/planned-orders/{planned.id}/release"
                    ).status_code == 403

    perform_operations(o2c, wo_number, 2)
    assert o2c.call("pete", "post", f"/api/tasks/{task_of(o2c, wo_number, 'inspect_quality').id}"
                    "/complete", json={"data": {"result": "pass"}}).status_code == 403
    complete(o2c, "quinn", wo_number, "inspect_quality",
             {"result": "fail", "outcome": "rework", "inspection_note": "wobbly base"})
    task = task_of(o2c, wo_number, "perform_operation")
    assert "Rework, round 1" in task.instructions
    perform_operations(o2c, wo_number, 2)
    complete(o2c, "quinn", wo_number, "inspect_quality", {"result": "pass"})

    detail = o2c.call("alice", "get", f"/api/work-orders/{wo_number}").get_json()
    assert detail["status"] == "completed" and detail["rework_count"] == 1
    assert [(i["round"], i["result"], i["outcome"]) for i in detail["inspections"]] == [
        (1, "fail", "rework"), (2, "pass", "accept")]
    assert Decimal(o2c.stock("FUR-CHAIR-ERG")["totals"]["on_hand"]) == on_hand + 2
    assert Decimal(o2c.stock("SPR-GASLIFT")["totals"]["on_hand"]) == 28  # 30 − 2 issued


def test_quality_fail_scraps_the_lot_and_tells_the_process_owners(shop):
    o2c = shop
    chair = o2c.session.scalar(select(Product.id).where(Product.sku == "FUR-CHAIR-ERG"))
    planned = PlannedOrder(kind="work_order", product_id=chair, quantity=Decimal(3),
                           release_date=date.today(), due_date=date.today(), status="planned")
    o2c.session.add(planned)
    o2c.session.commit()
    on_hand = Decimal(o2c.stock("FUR-CHAIR-ERG")["totals"]["on_hand"])
    response = o2c.call("paula", "post", "/api/mrp/planned-orders/release",
                        json={"planned_order_ids": [planned.id]})
    assert response.status_code == 200, response.get_json()
    wo_number = response.get_json()["items"][0]["document"]["number"]
    perform_operations(o2c, wo_number, 2)
    complete(o2c, "quinn", wo_number, "inspect_quality",
             {"result": "fail", "outcome": "scrap", "inspection_note": "cracked frames"})

    wo = work_order(o2c, "FUR-CHAIR-ERG")
    assert (wo.status, wo.scrapped_qty) == ("scrapped", Decimal("3.000"))
    assert o2c.session.get(PlannedOrder, planned.id).status == "closed"
    instance = o2c.session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_key == wo_number))
    assert instance.status == "completed"  # an end state, not an incident
    [notice] = o2c.session.scalars(select(Notification).where(
        Notification.group_name == "process_owner")).all()
    assert wo_number in notice.subject and "cracked frames" in notice.body
    assert Decimal(o2c.stock("FUR-CHAIR-ERG")["totals"]["on_hand"]) == on_hand


def test_a_late_supplier_is_chased_after_the_due_date_and_not_before(shop, frozen_clock):
    o2c = shop
    monitor = o2c.session.scalar(select(Product).where(Product.sku == "ELE-MON-27"))
    due = frozen_clock.date() + timedelta(days=10)
    planned = PlannedOrder(kind="purchase_request", product_id=monitor.id, quantity=Decimal(20),
                           release_date=frozen_clock.date(), due_date=due, status="planned",
                           supplier_id=monitor.default_supplier_id)
    o2c.session.add(planned)
    o2c.session.commit()
    po_number = o2c.call("paula", "post", f"/api/mrp/planned-orders/{planned.id}/release"
                         ).get_json()["document"]["number"]
    # 20 × 1,379.40 + 13% = 31,174.44: the general manager's tier; paula requested it
    po = po_for(o2c, "ELE-MON-27")
    assert (po.total, po.requested_by) == (Decimal("31174.44"), "paula")
    assert task_of(o2c, po_number, "approve_manager").excluded_users == ["paula"]
    complete(o2c, "gina", po_number, "approve_manager", {"decision": "approve"})
    assert task_of(o2c, po_number, "receive_goods") is not None

    clock.travel(datetime.combine(due, time(23, 0), timezone.utc) - clock.now())
    run(o2c)
    assert task_of(o2c, po_number, "chase_supplier") is None  # due today: not late yet
    clock.travel(timedelta(hours=10, minutes=1))  # 09:01 the morning after
    run(o2c)
    chase = task_of(o2c, po_number, "chase_supplier")
    assert chase is not None and chase.candidate_groups == ["purchasing"]
    assert task_of(o2c, po_number, "receive_goods") is not None  # still expecting the goods
    complete(o2c, "bea", po_number, "chase_supplier",
             {"supplier_answer": "shipped yesterday", "promised_date": str(due + timedelta(2))})
    assert po_for(o2c, "ELE-MON-27").chased[0]["note"] == "shipped yesterday"

    complete(o2c, "wendy", po_number, "receive_goods",
             {"delivery_note": "HX-5531", "lines": [{"line_no": 1, "quantity": 12}]})
    assert po_for(o2c, "ELE-MON-27").status == "partially_received"
    complete(o2c, "wendy", po_number, "receive_goods",
             {"delivery_note": "HX-5532", "lines": [{"line_no": 1, "quantity": 8}]})
    assert po_for(o2c, "ELE-MON-27").status == "received"
    instance = o2c.session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_key == po_number))
    assert instance.status == "completed"


def test_rejected_purchase_request_closes_and_small_ones_go_to_finance(shop):
    o2c = shop
    toner = o2c.session.scalar(select(Product).where(Product.sku == "CON-TONER-K"))
    planned = PlannedOrder(kind="purchase_request", product_id=toner.id, quantity=Decimal(10),
                           release_date=date.today(), due_date=date.today() + timedelta(7),
                           status="planned", supplier_id=toner.default_supplier_id)
    o2c.session.add(planned)
    o2c.session.commit()
    po_number = o2c.call("paula", "post", f"/api/mrp/planned-orders/{planned.id}/release"
                         ).get_json()["document"]["number"]
    assert task_of(o2c, po_number, "approve_manager") is None
    complete(o2c, "fran", po_number, "approve_purchase_finance",
             {"decision": "reject", "comment": "enough toner in Beijing"})
    po = po_for(o2c, "CON-TONER-K")
    assert (po.status, po.closed_reason) == ("rejected", "enough toner in Beijing")
    assert o2c.session.get(PlannedOrder, planned.id).status == "closed"


def test_a_replayed_receipt_books_nothing_twice(shop):
    o2c = shop
    number = place(o2c, "C-1001", [("FUR-STOOL", 2)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    plan_supply(o2c, number)
    again = plan_supply(o2c, number)  # planning again finds the supply under way
    if again is not None:
        assert again["documents"] == []
    assert o2c.session.scalar(select(func.count()).select_from(WorkOrder)) == 1
    seat_po = po_for(o2c, "SPR-SEAT")
    complete(o2c, "fran", seat_po.number, "approve_purchase_finance", {"decision": "approve"})
    first = receipt_via_api(o2c, seat_po.number, "SPR-SEAT", 2, "DN-9", batch="S-1")
    replay = receipt_via_api(o2c, seat_po.number, "SPR-SEAT", 2, "DN-9", batch="S-1")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json()["replayed"] is True
    assert replay.get_json()["ledger_ids"] == first.get_json()["ledger_ids"]
    run(o2c)
    assert o2c.session.scalar(select(func.count()).select_from(GoodsReceipt)) == 1
    assert Decimal(o2c.stock("SPR-SEAT")["totals"]["on_hand"]) == 0  # issued to the WO at once
    messages = o2c.session.scalars(select(EngineCommand.key).where(
        EngineCommand.kind == "message")).all()
    assert sorted(messages) == [f"message:materials_received:{first.get_json()['goods_receipt']}"
                                f":{work_order(o2c, 'FUR-STOOL').number}"]
    over = receipt_via_api(o2c, seat_po.number, "SPR-SEAT", 1, "DN-10", batch="S-1")
    assert over.status_code == 409  # the PO is received in full
