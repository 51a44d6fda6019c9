"""Operators for stock: reserve an order's lines, release them, retry after goods arrived.

The shortage path is modelled with the result's ``complete`` flag (a gateway), not an error:
a partial reservation is a normal outcome that leaves open replenishment requests behind.
"""
from app.domain import inventory
from app.engine.operators import UnitContext, operator


@operator("inventory.reserve")
def reserve(ctx: UnitContext, order_id: int):
    """Hard-reserve stock for the order's lines; shortfalls become replenishment requests."""
    return inventory.reserve_order(ctx.session, int(order_id))


@operator("inventory.release")
def release(ctx: UnitContext, order_id: int):
    """Give the order's reserved stock back and cancel its open replenishment requests."""
    result = inventory.release_order(ctx.session, int(order_id))
    return {"order_id": int(order_id), "released": result["released"],
            "cancelled_requests": result["cancelled_requests"]}


@operator("inventory.retry_reservation")
def retry_reservation(ctx: UnitContext, order_id: int):
    """Reserve again what is still missing (after goods for the order's requests arrived)."""
    return inventory.reserve_order(ctx.session, int(order_id))
