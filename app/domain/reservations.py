"""Hard reservations of stock for sales order lines, and the replenishment requests for shortfalls.

Concurrency: an order's row is locked first (one writer per order), then the StockLevel rows of
its products in the fixed order (product_id, warehouse_id, bin_id), before anything is read.
Two orders for the last unit therefore queue on the same row: one gets it, the other goes short.
"""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, tuple_

from app.domain.errors import NotFound
from app.models.inventory import (
    Bin,
    Product,
    ReplenishmentRequest,
    Reservation,
    StockLevel,
    Warehouse,
    in_sellable_bin,
)
from app.models.sales import SalesOrder, SalesOrderLine
from app.models.types import ZERO, utcnow

# Reservations that still hold (active) or were turned into an issue (issued) cover a line.
COVERING = ("active", "issued")


def _locked_order(session, order_id: int) -> SalesOrder:
    order = session.scalar(select(SalesOrder).where(SalesOrder.id == order_id)
                           .with_for_update().execution_options(populate_existing=True))
    if order is None:
        raise NotFound(f"order {order_id} not found",
                       [{"field": "order_id", "message": f"unknown order {order_id}"}])
    return order


def _lock_levels(session, where) -> list[StockLevel]:
    """Lock level rows in the one fixed order every writer uses."""
    return list(session.scalars(
        select(StockLevel).where(where)
        .order_by(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.bin_id)
        .with_for_update().execution_options(populate_existing=True)))


def _picking_order(session, levels: list[StockLevel]) -> list[StockLevel]:
    """Bins are drawn from by warehouse code, then bin code: the same order on every run."""
    if not levels:
        return []
    codes = {bin_id: (wh_code, bin_code) for bin_id, wh_code, bin_code in session.execute(
        select(Bin.id, Warehouse.code, Bin.code)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .where(Bin.id.in_({lv.bin_id for lv in levels}), Bin.sellable.is_(True)))}
    # Quarantine bins are locked like the others (one lock order) but never drawn from.
    return sorted((lv for lv in levels if lv.bin_id in codes),
                  key=lambda lv: (codes[lv.bin_id], lv.bin_id))


def _sum_by_line(session, line_ids, statuses) -> dict[int, Decimal]:
    if not line_ids:
        return {}
    return dict(session.execute(
        select(Reservation.order_line_id, func.sum(Reservation.quantity))
        .where(Reservation.order_line_id.in_(line_ids), Reservation.status.in_(statuses))
        .group_by(Reservation.order_line_id)).all())


def reserve_order(session, order_id: int) -> dict:
    """Reserve what each stock-tracked line still lacks; request replenishment for the rest.

    A rerun reserves only what is still missing and keeps one open request per line with the
    current shortfall, so repeating it (or retrying after goods arrived) is safe.
    """
    order = _locked_order(session, order_id)
    lines = [ln for ln in order.lines if ln.product.stock_tracked]
    line_ids = [ln.id for ln in lines]
    product_ids = sorted({ln.product_id for ln in lines})
    levels = _lock_levels(session, StockLevel.product_id.in_(product_ids)) if product_ids else []
    by_product: dict[int, list[StockLevel]] = {}
    for level in _picking_order(session, levels):
        by_product.setdefault(level.product_id, []).append(level)

    covered = _sum_by_line(session, line_ids, COVERING)
    held = {(r.order_line_id, r.bin_id): r for r in session.scalars(
        select(Reservation).where(Reservation.order_line_id.in_(line_ids),
                                  Reservation.status == "active"))} if line_ids else {}
    open_requests = _open_requests(session, line_ids)
    today = utcnow().date()

    reserved, short = [], []
    for line in lines:
        need = line.quantity - Decimal(covered.get(line.id) or ZERO)
        added = ZERO
        for level in by_product.get(line.product_id, []):
            if need - added <= 0:
                break
            take = min(level.on_hand - level.reserved, need - added)
            if take <= 0:
                continue
            level.reserved = level.reserved + take
            added += take
            existing = held.get((line.id, level.bin_id))
            if existing is not None:
                existing.quantity = existing.quantity + take
            else:
                held[(line.id, level.bin_id)] = Reservation(
                    order_line_id=line.id, product_id=line.product_id, bin_id=level.bin_id,
                    quantity=take, status="active")
                session.add(held[(line.id, level.bin_id)])
        total = Decimal(covered.get(line.id) or ZERO) + added
        if total > 0:
            reserved.append({"line_no": line.line_no, "sku": line.product.sku,
                             "quantity": total, "added": added})
        shortfall = max(need - added, ZERO)
        request = _settle_request(session, line, shortfall, open_requests.get(line.id), today)
        if shortfall > 0:
            short.append({"line_no": line.line_no, "sku": line.product.sku,
                          "short_qty": shortfall, "request_id": request.id})
    session.flush()
    # Something reserved and not yet issued: a "partial" order can ship it now.
    pickable = any(r.status == "active" and r.quantity > 0 for r in held.values())
    return {"complete": not short, "pickable": pickable, "reserved": reserved, "short": short}


def _open_requests(session, line_ids) -> dict[int, ReplenishmentRequest]:
    if not line_ids:
        return {}
    return {r.order_line_id: r for r in session.scalars(
        select(ReplenishmentRequest)
        .where(ReplenishmentRequest.order_line_id.in_(line_ids),
               ReplenishmentRequest.status == "open")
        .with_for_update())}


def _settle_request(session, line, shortfall, request, today):
    """Keep the line's one open request equal to its shortfall; close it when none is left."""
    if shortfall <= 0:
        if request is not None:
            request.status, request.closed_at = "cancelled", utcnow()
        return None
    if request is None:
        request = ReplenishmentRequest(
            product_id=line.product_id, order_line_id=line.id, quantity=shortfall,
            supplier_id=line.product.default_supplier_id, status="open",
            due_date=today + timedelta(days=line.product.lead_time_days or 0))
        session.add(request)
        session.flush()  # the caller reports its id
    elif request.quantity != shortfall:
        request.quantity = shortfall
    return request


def release_order(session, order_id: int) -> dict:
    """Give back the order's active reservations and cancel its open requests (idempotent)."""
    order = _locked_order(session, order_id)
    line_by_id = {ln.id: ln for ln in order.lines}
    active = list(session.scalars(
        select(Reservation).where(Reservation.order_line_id.in_(list(line_by_id)),
                                  Reservation.status == "active")
        .order_by(Reservation.id))) if line_by_id else []
    pairs = sorted({(r.product_id, r.bin_id) for r in active})
    levels = {(lv.product_id, lv.bin_id): lv for lv in _lock_levels(
        session, tuple_(StockLevel.product_id, StockLevel.bin_id).in_(pairs))} if pairs else {}
    now = utcnow()
    released = []
    for r in active:
        level = levels[(r.product_id, r.bin_id)]
        level.reserved = level.reserved - r.quantity
        r.status, r.closed_at = "released", now
        line = line_by_id[r.order_line_id]
        released.append({"line_no": line.line_no, "sku": line.product.sku, "bin_id": r.bin_id,
                         "quantity": r.quantity})
    cancelled = []
    for request in _open_requests(session, list(line_by_id)).values():
        request.status, request.closed_at = "cancelled", now
        cancelled.append(request.id)
    session.flush()
    return {"released": released, "cancelled_requests": sorted(cancelled)}


def order_reservations(session, order_id: int) -> list[dict]:
    """Every reservation of the order (any status) for the order page."""
    rows = session.execute(
        select(Reservation, SalesOrderLine.line_no, Product.sku, Bin.code, Warehouse.code)
        .join(SalesOrderLine, SalesOrderLine.id == Reservation.order_line_id)
        .join(Product, Product.id == Reservation.product_id)
        .join(Bin, Bin.id == Reservation.bin_id)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .where(SalesOrderLine.order_id == order_id)
        .order_by(SalesOrderLine.line_no, Warehouse.code, Bin.code, Reservation.id))
    return [{"id": r.id, "line_no": line_no, "sku": sku, "warehouse": wh, "bin": bin_code,
             "quantity": r.quantity, "status": r.status}
            for r, line_no, sku, bin_code, wh in rows]


def fulfil_requests(session, product_id: int) -> list[int]:
    """Mark open requests received, oldest first, while free stock covers them.

    Stops at the first request that does not fit, so an older order is never overtaken. Returns
    the ids of the orders whose requests were fulfilled (each once, oldest first); their
    processes then retry the reservation.
    """
    requests = list(session.scalars(
        select(ReplenishmentRequest)
        .where(ReplenishmentRequest.product_id == product_id,
               ReplenishmentRequest.status == "open")
        .order_by(ReplenishmentRequest.created_at, ReplenishmentRequest.id)
        .with_for_update()))
    if not requests:
        return []
    free = session.scalar(
        select(func.sum(StockLevel.on_hand - StockLevel.reserved))
        .where(StockLevel.product_id == product_id, in_sellable_bin()))
    free = Decimal(free or ZERO)
    order_of_line = dict(session.execute(
        select(SalesOrderLine.id, SalesOrderLine.order_id)
        .where(SalesOrderLine.id.in_([r.order_line_id for r in requests if r.order_line_id]))
    ).all())
    now, orders = utcnow(), []
    for request in requests:
        if request.quantity > free:
            break
        free -= request.quantity
        request.status, request.closed_at = "received", now
        order_id = order_of_line.get(request.order_line_id)
        if order_id is not None and order_id not in orders:
            orders.append(order_id)
    session.flush()
    return orders
