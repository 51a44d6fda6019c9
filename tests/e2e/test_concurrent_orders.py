"""20 orders approved at the same moment for 10 units: exactly 10 reserved, none negative."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import inventory
from app.engine.runtime import Actor
from app.models.inventory import ReplenishmentRequest, StockLevel
from tests.postgres.test_concurrency import in_threads

pytestmark = pytest.mark.postgres_only


def test_twenty_orders_for_ten_units(app, o2c):
    inventory.receive(o2c.session, sku="FUR-CAB-3D", warehouse="SH-MAIN", bin="A-05",
                      quantity=Decimal(2), doc_id="top-up", user="wendy")
    o2c.session.commit()
    assert o2c.stock("FUR-CAB-3D")["totals"]["available"] == "10.000"
    numbers = [o2c.order("C-1001", [("FUR-CAB-3D", 1)]).get_json()["number"] for _ in range(20)]
    task_ids = [o2c.task(n, "approve_supervisor").id for n in numbers]
    sam = Actor("sam", frozenset({"sales_supervisor"}))

    in_threads(app, 20, lambda i, rt: rt.complete_task(task_ids[i], {"decision": "approve"},
                                                       sam).id)

    statuses = sorted(o2c.get(n)["status"] for n in numbers)
    assert statuses.count("picking") == 10 and statuses.count("awaiting_stock") == 10
    totals = o2c.stock("FUR-CAB-3D")["totals"]
    assert (totals["reserved"], totals["available"]) == ("10.000", "0.000")
    o2c.session.expire_all()
    assert o2c.session.scalar(select(func.count()).select_from(StockLevel).where(
        (StockLevel.reserved > StockLevel.on_hand) | (StockLevel.on_hand < 0))) == 0
    assert o2c.session.scalar(select(func.count()).select_from(ReplenishmentRequest).where(
        ReplenishmentRequest.status == "open")) == 10
