"""Supply for demand: release MRP's planned orders into purchase requests and work orders, plan
the supply a short sales order waits for, and say which demand a supply serves.

Every purchase or work order hangs off a PlannedOrder (MRP's, or one made here in status
`released`) whose Pegging rows name the sales order lines or parent work orders it serves; that
is how receipts and completions find whom to tell.

Short sales order line (plan_for_order), per line:
    short = quantity − max(delivered, issued) − active reservations   (MRP's open demand)
    still to plan = short − quantity pegged to it on released (open) supply
MRP proposals pegged to the line are released first; what is still missing gets a new purchase
request (buy item: at least the supplier's MOQ, whole packs) or a work order (make item), whose
components are netted at item level:
    component short = open work orders' unissued needs − (on hand − reserved) − open supply
and bought or made in turn, pegged to the work order's planned order.
"""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from app.domain import production, purchasing
from app.domain.errors import Conflict, Invalid, NotFound
from app.models.inventory import Product, Reservation, StockLevel, Supplier, in_sellable_bin
from app.models.manufacturing import Bom, ItemPlanning, Pegging, PlannedOrder
from app.models.procurement import PO_OPEN, WO_OPEN, PurchaseOrder, WorkOrder
from app.models.sales import SalesOrder, SalesOrderLine
from app.models.types import ZERO, utcnow

PROCESS_OF = {"purchase_order": "procurement", "work_order": "production"}
MAX_LEVELS = 20  # BOM cycles are refused on entry; this only bounds a corrupt structure


# ---------------------------------------------------------------- documents

def document_of(session, planned_order_id: int) -> PurchaseOrder | WorkOrder | None:
    return session.scalar(select(PurchaseOrder).where(
        PurchaseOrder.planned_order_id == planned_order_id)) or session.scalar(
        select(WorkOrder).where(WorkOrder.planned_order_id == planned_order_id))


def describe(doc: PurchaseOrder | WorkOrder) -> dict:
    """The document and the process that drives it (process id, business key, start data)."""
    if isinstance(doc, PurchaseOrder):
        kind, data = "purchase_order", {"purchase_order_id": doc.id, "po_number": doc.number}
    else:
        kind, data = "work_order", {"work_order_id": doc.id, "wo_number": doc.number}
    return {"type": kind, "id": doc.id, "number": doc.number, "status": doc.status,
            "planned_order_id": doc.planned_order_id, "process_id": PROCESS_OF[kind],
            "business_key": doc.number, "start_data": data}


def _is_make(session, product: Product) -> bool:
    setting = session.scalar(select(ItemPlanning.make_or_buy).where(
        ItemPlanning.product_id == product.id))
    if setting:
        return setting == "make"
    return session.scalar(select(Bom.id).where(Bom.product_id == product.id,
                                               Bom.active.is_(True)).limit(1)) is not None


def _create_document(session, planned: PlannedOrder, user, created: list, level: int = 0):
    """The purchase request or work order for a planned order (a work order's short
    components get their own supply, recorded in `created` too)."""
    if planned.kind == "purchase_request":
        product = session.get(Product, planned.product_id)
        doc = purchasing.create_purchase_order(
            session, supplier_id=planned.supplier_id or product.default_supplier_id,
            product_id=planned.product_id, quantity=planned.quantity, due_date=planned.due_date,
            planned_order_id=planned.id, requested_by=user)
        created.append(describe(doc))
        return doc
    doc = production.create_work_order(
        session, product_id=planned.product_id, quantity=planned.quantity,
        due_date=planned.due_date, release_date=utcnow().date(), planned_order_id=planned.id,
        released_by=user)
    created.append(describe(doc))
    _plan_components(session, doc, planned, user, created, level + 1)
    return doc


def release_planned_order(session, planned_order_id: int, user: str | None = None) -> dict:
    """Turn a planned (or firm) order into a purchase request or a work order, once: releasing
    it again returns the same document with created=False."""
    planned = session.scalar(select(PlannedOrder).where(PlannedOrder.id == int(planned_order_id))
                             .with_for_update().execution_options(populate_existing=True))
    if planned is None:
        raise NotFound(f"planned order {planned_order_id} not found")
    doc = document_of(session, planned.id)
    if doc is not None:
        return {"planned_order_id": planned.id, "created": False, "document": describe(doc),
                "documents": []}
    if planned.status not in ("planned", "firm"):
        raise Conflict(f"planned order {planned.id} is {planned.status}")
    created: list[dict] = []
    _create_document(session, planned, user, created)  # the document first, then its parts'
    planned.status = "released"
    session.flush()
    return {"planned_order_id": planned.id, "created": True, "document": created[0],
            "documents": created}


def release_many(session, planned_order_ids: list[int], user: str | None = None) -> list[dict]:
    problems = []
    results = []
    for i, planned_id in enumerate(sorted(set(int(p) for p in planned_order_ids))):
        try:
            with session.begin_nested():
                results.append(release_planned_order(session, planned_id, user))
        except (NotFound, Conflict, Invalid) as err:
            problems.append({"field": f"planned_order_ids[{i}]",
                             "message": f"{planned_id}: {err.message}"})
    if problems:
        raise Invalid("some planned orders cannot be released", problems)
    return results


# ---------------------------------------------------------------- planning for an order

def _free_stock(session, product_id: int) -> Decimal:
    return Decimal(session.scalar(select(func.sum(StockLevel.on_hand - StockLevel.reserved))
                                  .where(StockLevel.product_id == product_id,
                                         in_sellable_bin())) or ZERO)


def _line_shortfalls(session, order: SalesOrder) -> list[tuple[SalesOrderLine, Decimal]]:
    lines = [ln for ln in order.lines if ln.product.stock_tracked]
    covered = {line_id: (Decimal(active or ZERO), Decimal(issued or ZERO))
               for line_id, active, issued in session.execute(
                   select(Reservation.order_line_id,
                          func.sum(case((Reservation.status == "active", Reservation.quantity),
                                        else_=0)),
                          func.sum(case((Reservation.status == "issued", Reservation.quantity),
                                        else_=0)))
                   .where(Reservation.order_line_id.in_([ln.id for ln in lines]))
                   .group_by(Reservation.order_line_id))} if lines else {}
    result = []
    for line in lines:
        active, issued = covered.get(line.id, (ZERO, ZERO))
        short = line.quantity - max(line.delivered_qty or ZERO, issued) - active
        if short > 0:
            result.append((line, short))
    return result


def _pegged_orders(session, demand_type: str, demand_id: int, statuses) -> list[tuple]:
    return session.execute(
        select(PlannedOrder, Pegging.quantity)
        .join(Pegging, Pegging.planned_order_id == PlannedOrder.id)
        .where(Pegging.demand_type == demand_type, Pegging.demand_id == demand_id,
               PlannedOrder.status.in_(statuses))
        .order_by(PlannedOrder.due_date, PlannedOrder.id)
        .with_for_update(of=PlannedOrder)).all()


def _new_supply(session, product: Product, needed: Decimal, demand_type: str, demand_id: int,
                user, created: list, level: int) -> PlannedOrder:
    """A released planned order for `needed` pegged to the demand, and its document."""
    if level > MAX_LEVELS:
        raise Invalid(f"the BOM of {product.sku} is deeper than {MAX_LEVELS} levels")
    today = utcnow().date()
    if _is_make(session, product):
        kind, quantity, supplier_id, lead = "work_order", needed, None, product.lead_time_days
    else:
        supplier = session.get(Supplier, product.default_supplier_id) \
            if product.default_supplier_id else None
        if supplier is None:
            raise Invalid(f"{product.sku} is bought but has no default supplier",
                          [{"field": "sku", "message": f"{product.sku} has no supplier"}])
        kind, supplier_id = "purchase_request", supplier.id
        quantity = purchasing.order_quantity(supplier, needed)
        lead = supplier.lead_time_days or product.lead_time_days
    planned = PlannedOrder(kind=kind, product_id=product.id, quantity=quantity,
                           release_date=today, due_date=today + timedelta(days=lead or 0),
                           status="released", supplier_id=supplier_id)
    planned.pegging = [Pegging(demand_type=demand_type, demand_id=demand_id, quantity=needed)]
    session.add(planned)
    session.flush()
    _create_document(session, planned, user, created, level)
    return planned


def _plan_components(session, wo: WorkOrder, planned: PlannedOrder, user, created: list,
                     level: int) -> None:
    for material in wo.materials:
        component = material.product
        if not component.stock_tracked:
            continue
        needs = production.outstanding_material(session, component.id)
        coming = purchasing.open_quantity(session, component.id) + \
            production.open_quantity(session, component.id)
        short = min(needs - _free_stock(session, component.id) - coming,
                    material.required_qty - material.issued_qty)
        if short > 0:
            _new_supply(session, component, short, "planned_order", planned.id, user, created,
                        level)


def plan_for_order(session, order_id: int, user: str | None = None) -> dict:
    """Create or reuse the supply the order's short lines wait for, pegged to those lines.

    Returns {order_id, order_number, lines: [{line_no, sku, short_qty, planned_qty}],
    documents: [every purchase request / work order created now, with the process to start]}.
    Calling it again creates nothing for lines whose supply is already under way.
    """
    order = session.scalar(select(SalesOrder).where(SalesOrder.id == int(order_id))
                           .with_for_update().execution_options(populate_existing=True))
    if order is None:
        raise NotFound(f"order {order_id} not found")
    created: list[dict] = []
    lines = []
    for line, short in _line_shortfalls(session, order):
        for planned, _qty in _pegged_orders(session, "sales_order_line", line.id,
                                            ("planned", "firm")):
            if document_of(session, planned.id) is None:  # MRP proposed it: release it
                _create_document(session, planned, user, created)
            planned.status = "released"
        session.flush()
        under_way = sum((qty for _planned, qty in _pegged_orders(
            session, "sales_order_line", line.id, ("released",))), ZERO)
        still = short - under_way
        if still > 0:
            _new_supply(session, line.product, still, "sales_order_line", line.id, user,
                        created, 0)
        lines.append({"line_no": line.line_no, "sku": line.product.sku,
                      "short_qty": str(short), "planned_qty": str(max(still, ZERO))})
    session.flush()
    return {"order_id": order.id, "order_number": order.number, "lines": lines,
            "documents": created}


# ---------------------------------------------------------------- who waits for a supply

def demand_served_by(session, planned_order_id: int | None) -> dict:
    """Sales order numbers and parent work order numbers the planned order is pegged to."""
    if planned_order_id is None:
        return {"sales_orders": [], "work_orders": []}
    pegs = session.execute(select(Pegging.demand_type, Pegging.demand_id).where(
        Pegging.planned_order_id == planned_order_id)).all()
    line_ids = [d for t, d in pegs if t == "sales_order_line"]
    parent_ids = [d for t, d in pegs if t == "planned_order"]
    orders = sorted(set(session.scalars(
        select(SalesOrder.number).join(SalesOrderLine, SalesOrderLine.order_id == SalesOrder.id)
        .where(SalesOrderLine.id.in_(line_ids), SalesOrder.cancelled_at.is_(None),
               SalesOrder.closed_at.is_(None))))) if line_ids else []
    work_orders = sorted(set(session.scalars(
        select(WorkOrder.number).where(WorkOrder.planned_order_id.in_(parent_ids),
                                       WorkOrder.status.in_(WO_OPEN))))) if parent_ids else []
    return {"sales_orders": orders, "work_orders": work_orders}


def open_documents(session) -> dict:
    """Counts of open purchase and work orders (for reports and tests)."""
    return {"purchase_orders": session.scalar(select(func.count()).select_from(PurchaseOrder)
                                              .where(PurchaseOrder.status.in_(PO_OPEN))),
            "work_orders": session.scalar(select(func.count()).select_from(WorkOrder)
                                          .where(WorkOrder.status.in_(WO_OPEN)))}
