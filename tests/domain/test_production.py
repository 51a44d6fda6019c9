"""Production: work orders from BOM and routing, material issue (FEFO, shortages), operations,
inspection rounds (rework, scrap), finished goods into stock; supply planning for a short order."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain import boms, planning_data, production, stock_ledger, supply
from app.domain.errors import Conflict, Invalid
from app.models.inventory import StockLedger, StockLevel, Supplier
from app.models.manufacturing import Pegging
from app.models.procurement import PurchaseOrder, SupplierPrice, WorkOrder
from app.models.sales import SalesOrder, SalesOrderLine
from tests import factories as f


@pytest.fixture
def plant(session):
    supplier = Supplier(code="SUP-1", name="Parts Co", lead_time_days=4)
    session.add(supplier)
    session.flush()
    f.warehouse(session, "WH", bins=("A-01", "A-02"))
    pl = f.price_list(session)
    glue = f.product(session, "GLUE", default_supplier_id=supplier.id, tracking="batch")
    leg = f.product(session, "LEG", default_supplier_id=supplier.id)
    f.product(session, "TABLE", price="300", pl=pl, lead_time_days=2)
    for item, price in ((glue, "3"), (leg, "8")):
        session.add(SupplierPrice(supplier_id=supplier.id, product_id=item.id,
                                  unit_price=Decimal(price)))
    boms.create_bom(session, product="TABLE", lines=[
        {"component": "LEG", "qty_per": Decimal(4)},
        {"component": "GLUE", "qty_per": Decimal("0.1"), "scrap_percent": Decimal(10)}])
    planning_data.create_work_centre(session, "WC-1", "Bench")
    planning_data.set_routing(session, "TABLE", [
        {"work_centre": "WC-1", "description": "Glue legs", "run_minutes": "5"},
        {"work_centre": "WC-1", "description": "Sand", "run_minutes": "2"}])
    for batch, qty, expiry in (("G-LATE", 5, date(2027, 6, 1)), ("G-SOON", 1, date(2026, 9, 1))):
        stock_ledger.receive(session, sku="GLUE", warehouse="WH", bin="A-01",
                             quantity=Decimal(qty), batch=batch, expiry=expiry)
    stock_ledger.receive(session, sku="LEG", warehouse="WH", bin="A-02", quantity=Decimal(10))
    session.flush()
    return f.customer(session, "C-1", pl)


def table_order(session, customer, qty):
    table = session.scalar(select(f.Product).where(f.Product.sku == "TABLE"))
    order = SalesOrder(number="SO-1", customer_id=customer.id, currency="CNY", lines=[
        SalesOrderLine(line_no=1, product_id=table.id, quantity=Decimal(qty),
                       list_price=Decimal(300), unit_price=Decimal(300), amount=Decimal(300),
                       tax_rate=Decimal(0), tax_amount=Decimal(0), pricing_source="test")])
    session.add(order)
    session.flush()
    return order


def new_work_order(session, qty=3):
    table = session.scalar(select(f.Product).where(f.Product.sku == "TABLE"))
    return production.create_work_order(session, product_id=table.id, quantity=Decimal(qty),
                                        due_date=date.today() + timedelta(days=2))


def test_a_work_order_takes_its_bom_and_routing(session, plant):
    wo = new_work_order(session)
    assert [(m.product.sku, m.required_qty) for m in wo.materials] == [
        ("LEG", Decimal("12.000")), ("GLUE", Decimal("0.330"))]  # 3 × 0.1 × 1.1
    assert [(o.seq, o.description, o.status) for o in wo.operations] == [
        (10, "Glue legs", "pending"), (20, "Sand", "pending")]


def test_materials_issue_first_expiring_first_and_shortages_stay_open(session, plant):
    wo = new_work_order(session, qty=3)
    result = production.issue_materials(session, wo.id)
    assert result["complete"] is False and wo.status == "materials_short"
    assert result["short"] == [{"sku": "LEG", "short_qty": "2.000"}]  # 10 legs for 12
    glue = session.scalars(select(StockLedger).where(StockLedger.kind == "issue",
                                                     StockLedger.batch.is_not(None))).all()
    assert [(r.batch, r.quantity) for r in glue] == [("G-SOON", Decimal("-0.330"))]
    stock_ledger.receive(session, sku="LEG", warehouse="WH", bin="A-02", quantity=Decimal(5))
    assert production.issue_materials(session, wo.id)["complete"] is True
    assert production.issue_materials(session, wo.id)["issued"] == []  # nothing twice
    levels = {lv.product.sku if hasattr(lv, "product") else lv.product_id: lv.on_hand
              for lv in session.scalars(select(StockLevel))}
    assert sorted(levels.values()) == [Decimal("3.000"), Decimal("5.670")]


def test_operations_inspection_rework_and_completion(session, plant):
    wo = new_work_order(session, qty=1)
    production.issue_materials(session, wo.id)
    for _ in range(2):
        step = production.next_operation(session, wo.id)
        production.complete_operation(session, wo.id, step["operation"]["operation_id"],
                                      user="pete")
    assert production.next_operation(session, wo.id)["done"] and wo.status == "inspection"
    with pytest.raises(Invalid):
        production.record_inspection(session, wo.id, result="fail", user="quinn")
    production.record_inspection(session, wo.id, result="fail", outcome="rework", user="quinn")
    with pytest.raises(Conflict):
        production.complete(session, wo.id)
    production.start_rework(session, wo.id)
    production.start_rework(session, wo.id)  # a replay does not add a round
    assert wo.rework_count == 1 and {o.status for o in wo.operations} == {"pending"}
    for _ in range(2):
        step = production.next_operation(session, wo.id)
        production.complete_operation(session, wo.id, step["operation"]["operation_id"],
                                      user="pete")
    production.next_operation(session, wo.id)
    assert production.record_inspection(session, wo.id, result="pass", user="quinn")["round"] == 2
    first = production.complete(session, wo.id)
    again = production.complete(session, wo.id)
    assert again["replayed"] and again["ledger_ids"] == first["ledger_ids"]
    assert wo.status == "completed" and wo.completed_qty == 1


def test_a_scrapped_work_order_puts_nothing_into_stock(session, plant):
    wo = new_work_order(session, qty=1)
    production.issue_materials(session, wo.id)
    for _ in range(2):
        step = production.next_operation(session, wo.id)
        production.complete_operation(session, wo.id, step["operation"]["operation_id"], user="p")
    production.next_operation(session, wo.id)
    production.record_inspection(session, wo.id, result="fail", outcome="scrap", user="q",
                                 note="cracked")
    assert production.scrap(session, wo.id, user="q", reason="cracked")["scrapped_qty"] == "1.000"
    assert session.scalar(select(StockLedger).where(StockLedger.doc_type == "work_order",
                                                    StockLedger.quantity > 0)) is None


def test_planning_for_a_short_order_makes_and_buys_once(session, plant):
    order = table_order(session, plant, 3)  # 12 legs needed, 10 on hand; glue enough
    result = supply.plan_for_order(session, order.id, user="system")
    assert [(d["type"], d["process_id"]) for d in result["documents"]] == [
        ("work_order", "production"), ("purchase_order", "procurement")]
    wo = session.scalar(select(WorkOrder))
    po = session.scalar(select(PurchaseOrder))
    assert wo.quantity == 3 and po.lines[0].product.sku == "LEG"
    assert po.lines[0].quantity == 2 and po.requested_by == "system"
    pegs = {(p.planned_order_id, p.demand_type, p.quantity) for p in
            session.scalars(select(Pegging))}
    assert pegs == {(wo.planned_order_id, "sales_order_line", Decimal("3.000")),
                    (po.planned_order_id, "planned_order", Decimal("2.000"))}
    assert supply.demand_served_by(session, po.planned_order_id) == {
        "sales_orders": [], "work_orders": [wo.number]}
    assert supply.demand_served_by(session, wo.planned_order_id)["sales_orders"] == ["SO-1"]
    assert supply.plan_for_order(session, order.id)["documents"] == []  # under way already
