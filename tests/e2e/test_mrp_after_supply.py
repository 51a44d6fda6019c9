"""Supply planned for a short order counts once in MRP: the order line's replenishment request
and the purchase request pegged to it are the same goods."""
from decimal import Decimal

from sqlalchemy import select

from app.domain import mrp_inputs
from app.engine import clock
from app.models.inventory import Product
from app.models.manufacturing import PlannedOrder


def test_mrp_counts_the_order_s_supply_once(o2c):
    response = o2c.order("C-1001", [("FUR-TABLE-MTG", 3)])  # 2 on hand
    number = response.get_json()["number"]
    assert o2c.complete("gina", number, "approve_manager", {"decision": "approve"}
                        ).status_code == 200
    assert o2c.get(number)["status"] == "awaiting_stock"
    o2c.session.expire_all()
    table = o2c.session.scalar(select(Product.id).where(Product.sku == "FUR-TABLE-MTG"))
    [released] = o2c.session.scalars(select(PlannedOrder).where(
        PlannedOrder.product_id == table, PlannedOrder.status == "released")).all()

    inputs = mrp_inputs.load(o2c.session, clock.now().date(), 90)
    receipts = inputs.items[table].receipts
    assert sum((qty for _, qty, _ in receipts), Decimal(0)) == released.quantity
