"""Operators for the sales order itself: validation, credit, decisions."""
from app.domain import credit, inventory, orders, shipping
from app.engine.operators import UnitContext, operator


@operator("orders.validate")
def validate_order(ctx: UnitContext, order_id):
    """Re-check the order against today's master data (entry already checked it once)."""
    orders.link_process(ctx.session, order_id, ctx.instance_id)
    problems = orders.revalidate(ctx.session, order_id)
    return {"valid": not problems, "problems": problems}


@operator("orders.check_credit")
def check_credit(ctx: UnitContext, order_id):
    figures = credit.check_credit(ctx.session, order_id)
    return {key: figures[key] for key in ("hold", "exposure", "limit", "reason")}


@operator("orders.approve")
def approve(ctx: UnitContext, order_id, approved_by):
    order = orders.approve(ctx.session, order_id, approved_by)
    return {"approved_by": order.approved_by}


@operator("orders.reject")
def reject(ctx: UnitContext, order_id, reason):
    orders.reject(ctx.session, order_id, reason or "rejected")
    return {"rejected": True}


@operator("orders.cancel")
def cancel(ctx: UnitContext, order_id, reason):
    """Cancel before shipment: reservations and open replenishment requests are released."""
    order = orders.cancel(ctx.session, order_id, reason or "cancelled")
    _release_open_work(ctx.session, order.id)
    return {"cancelled": True}


@operator("orders.cancel_open_quantity")
def cancel_open_quantity(ctx: UnitContext, order_id, reason):
    """Cancel what has not shipped: the whole order, or after a partial shipment the backorder.
    Reservations and open replenishment requests are released either way."""
    result = drop_open_quantity(ctx.session, int(order_id), reason or "cancelled")
    return {"shipped_any": result["shipped_any"], "backorder": result["backorder"],
            "released": result["released"]}


def drop_open_quantity(session, order_id: int, reason: str) -> dict:
    """What a cancellation does to the part not shipped: the order (or only its backorder) is
    cancelled, its reservations and requests released, its open pick lists voided."""
    result = orders.cancel_open_quantity(session, order_id, reason)
    return {**result, "released": _release_open_work(session, order_id)}


def _release_open_work(session, order_id: int) -> list:
    """Reservations and open requests released, open pick lists voided: what was released."""
    released = inventory.release_order(session, order_id)["released"]
    shipping.cancel_open_pick_lists(session, order_id)
    return released


@operator("orders.close")
def close(ctx: UnitContext, order_id):
    orders.close(ctx.session, order_id)
    return {"closed": True}
