"""MRP: the run (load → net → write, see mrp_inputs / mrp_netting / mrp_output) and its results.

A run is set-based: a handful of queries load every fact, netting happens in memory, planned
orders and pegging are written in bulk. Runs queue on one advisory lock (PostgreSQL), and a
rerun updates the previous run's planned orders in place instead of adding new ones, so running
twice leaves the same orders. Firm and released orders are scheduled receipts, never rewritten.
"""
from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain.bom_structure import MRP_LOCK, CycleError, serialise
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.master_data import page_of
from app.domain.mrp_inputs import load
from app.domain.mrp_netting import net_requirements
from app.domain.mrp_output import write_plan
from app.models.inventory import Product
from app.models.manufacturing import PLANNED_KINDS, PLANNED_STATUSES, MrpRun, PlannedOrder
from app.models.types import utcnow

DEFAULT_HORIZON = 90
MAX_HORIZON = 730
BUCKETS = ("day",)


def run_mrp(session, *, horizon_days: int = DEFAULT_HORIZON, bucket: str = "day",
            today: date | None = None, started_by: str | None = None) -> MrpRun:
    """Plan every stock-tracked item over `horizon_days` daily buckets from today.

    Returns the MrpRun row: counts (created/updated/unchanged/deleted planned orders, work
    orders, purchase requests, pegs, demand lines) and the exceptions (past-due release,
    missing BOM, missing supplier), each naming the item and, where it has one, the order.
    """
    problems = []
    if not 1 <= int(horizon_days) <= MAX_HORIZON:
        problems.append({"field": "horizon_days",
                         "message": f"must be between 1 and {MAX_HORIZON}"})
    if bucket not in BUCKETS:
        problems.append({"field": "bucket", "message": "only daily buckets (day) are supported"})
    if problems:
        raise Invalid("invalid MRP run", problems)
    serialise(session, MRP_LOCK)
    started = utcnow()
    today = today or started.date()
    run = MrpRun(started_at=started, plan_date=today, horizon_days=int(horizon_days),
                 bucket=bucket, started_by=started_by)
    session.add(run)
    session.flush()

    inputs = load(session, today, run.horizon_days)
    try:
        plan = net_requirements(inputs.items, inputs.structure, today, run.horizon_days)
    except CycleError as err:  # only when BOM rows were written around app.domain.boms
        raise Invalid("the BOM structure has a cycle", [
            {"field": "boms", "message": f"cycle through products {err.path}"}]) from None
    written = write_plan(session, run.id, plan, inputs.existing)

    ids = written.pop("ids")
    for exc in plan.exceptions:
        if exc["planned_order_id"] is not None:
            exc["planned_order_id"] = ids[exc["planned_order_id"]]
    kinds = Counter(order.kind for order in plan.orders)
    run.counts = {"planned_orders": len(plan.orders), **written,
                  "work_orders": kinds["work_order"],
                  "purchase_requests": kinds["purchase_request"],
                  "items_planned": plan.items_planned, "demand_lines": inputs.demand_lines,
                  "exceptions": len(plan.exceptions)}
    run.exceptions = plan.exceptions
    run.finished_at = utcnow()
    session.flush()
    return run


def get_run(session, run_id: int) -> MrpRun:
    run = session.get(MrpRun, run_id)
    if run is None:
        raise NotFound(f"MRP run {run_id} not found")
    return run


def list_planned_orders(session, *, kind: str | None = None, status: str | None = None,
                        product: str | None = None, page: int = 1, per_page: int = 50) -> dict:
    """Planned orders by due date, filtered by kind, status and product SKU; paged."""
    if kind is not None and kind not in PLANNED_KINDS:
        raise Invalid("invalid filter", [{"field": "kind", "message": "unknown kind"}])
    if status is not None and status not in PLANNED_STATUSES:
        raise Invalid("invalid filter", [{"field": "status", "message": "unknown status"}])
    stmt = select(PlannedOrder).options(selectinload(PlannedOrder.pegging),
                                        selectinload(PlannedOrder.product))
    if kind is not None:
        stmt = stmt.where(PlannedOrder.kind == kind)
    if status is not None:
        stmt = stmt.where(PlannedOrder.status == status)
    if product is not None:
        stmt = stmt.join(Product, Product.id == PlannedOrder.product_id).where(
            Product.sku == product)
    return page_of(session, stmt.order_by(PlannedOrder.due_date), PlannedOrder.id, page, per_page)


def firm_planned_order(session, order_id: int) -> PlannedOrder:
    """A planner freezes MRP's proposal: later runs count it as a scheduled receipt and no
    longer change it (idempotent for an order that is already firm)."""
    order = session.scalar(select(PlannedOrder).where(PlannedOrder.id == order_id)
                           .with_for_update())
    if order is None:
        raise NotFound(f"planned order {order_id} not found")
    if order.status not in ("planned", "firm"):
        raise Conflict(f"planned order {order_id} is {order.status}")
    order.status = "firm"
    session.flush()
    return order
