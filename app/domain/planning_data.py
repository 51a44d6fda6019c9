"""Planning master data next to the BOMs: item planning settings, work centres and routings.

Settings are validated as a whole (every problem at once); the low-level code is not a setting —
app.domain.boms keeps it current.
"""
from decimal import Decimal

from sqlalchemy import select

from app.domain.errors import Conflict, Invalid, NotFound
from app.models.inventory import Product
from app.models.manufacturing import (
    LOT_SIZING,
    MAKE_OR_BUY,
    ItemPlanning,
    Routing,
    RoutingOperation,
    WorkCentre,
)
from app.models.types import ZERO

SETTINGS = ("make_or_buy", "lot_sizing", "fixed_qty", "min_order_qty", "order_multiple",
            "safety_stock", "order_cost", "holding_cost", "annual_demand", "lead_time_days")
QUANTITIES = ("fixed_qty", "min_order_qty", "order_multiple", "safety_stock", "order_cost",
              "holding_cost", "annual_demand")


def _product(session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"product {sku!r} not found")
    return product


def set_item_planning(session, product: str, **settings) -> ItemPlanning:
    """Create or change a product's MRP settings (only the ones given change)."""
    problems = [{"field": k, "message": "unknown field"}
                for k in sorted(set(settings) - set(SETTINGS))]
    item = _product(session, product)
    row = session.get(ItemPlanning, item.id) or ItemPlanning(
        product_id=item.id, lot_sizing="lot_for_lot", fixed_qty=ZERO, min_order_qty=ZERO,
        order_multiple=ZERO, safety_stock=ZERO, order_cost=ZERO, holding_cost=ZERO,
        low_level_code=0)
    merged = {k: getattr(row, k) for k in SETTINGS} | {k: v for k, v in settings.items()
                                                       if k in SETTINGS}
    if merged["make_or_buy"] not in (None, *MAKE_OR_BUY):
        problems.append({"field": "make_or_buy", "message": f"one of {', '.join(MAKE_OR_BUY)}"})
    if merged["lot_sizing"] not in LOT_SIZING:
        problems.append({"field": "lot_sizing", "message": f"one of {', '.join(LOT_SIZING)}"})
    for name in QUANTITIES:
        value = merged[name]
        if value is not None and Decimal(value) < 0:
            problems.append({"field": name, "message": "must not be negative"})
    if merged["lead_time_days"] is not None and not 0 <= merged["lead_time_days"] <= 3650:
        problems.append({"field": "lead_time_days", "message": "must be between 0 and 3650"})
    if merged["lot_sizing"] == "fixed" and not (merged["fixed_qty"] or ZERO) > 0:
        problems.append({"field": "fixed_qty", "message": "a fixed lot size needs fixed_qty > 0"})
    if merged["lot_sizing"] == "eoq":
        for name in ("order_cost", "holding_cost"):
            if not (merged[name] or ZERO) > 0:
                problems.append({"field": name, "message": "EOQ needs a cost above 0"})
    if merged["lot_sizing"] == "moq" and not (merged["min_order_qty"] or ZERO) > 0:
        problems.append({"field": "min_order_qty",
                         "message": "an MOQ rule needs min_order_qty > 0"})
    if problems:
        raise Invalid("invalid planning settings", problems)
    for name, value in merged.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def create_work_centre(session, code: str, name: str, hours_per_day=Decimal("8")) -> WorkCentre:
    if session.scalar(select(WorkCentre.id).where(WorkCentre.code == code)):
        raise Conflict(f"work centre {code} exists",
                       [{"field": "code", "message": "already exists"}])
    if not Decimal("0") < Decimal(hours_per_day) <= 24:
        raise Invalid("invalid work centre",
                      [{"field": "hours_per_day", "message": "must be above 0 and at most 24"}])
    centre = WorkCentre(code=code, name=name, hours_per_day=Decimal(hours_per_day))
    session.add(centre)
    session.flush()
    return centre


def set_routing(session, product: str, operations: list[dict], name: str = "standard") -> Routing:
    """Replace the product's active routing: [{work_centre: code, setup_minutes, run_minutes
    (per unit), description}], in sequence order."""
    item = _product(session, product)
    codes = {op.get("work_centre") for op in operations}
    centres = dict(session.execute(select(WorkCentre.code, WorkCentre.id)
                                   .where(WorkCentre.code.in_(codes))).all())
    problems = []
    if not operations:
        problems.append({"field": "operations", "message": "a routing needs an operation"})
    for i, op in enumerate(operations):
        if op.get("work_centre") not in centres:
            problems.append({"field": f"operations[{i}].work_centre",
                             "message": f"unknown work centre {op.get('work_centre')!r}"})
        for key in ("setup_minutes", "run_minutes"):
            if Decimal(op.get(key) or 0) < 0:
                problems.append({"field": f"operations[{i}].{key}",
                                 "message": "must not be negative"})
    if problems:
        raise Invalid("invalid routing", problems)
    for old in session.scalars(select(Routing).where(Routing.product_id == item.id,
                                                     Routing.active.is_(True))):
        old.active = False
    routing = Routing(product_id=item.id, name=name, operations=[
        RoutingOperation(seq=(i + 1) * 10, work_centre_id=centres[op["work_centre"]],
                         description=op.get("description"),
                         setup_minutes=Decimal(op.get("setup_minutes") or 0),
                         run_minutes=Decimal(op.get("run_minutes") or 0))
        for i, op in enumerate(operations)])
    session.add(routing)
    session.flush()
    return routing
