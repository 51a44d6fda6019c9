"""Shipping operators: pick list, pick confirmation and packing (with the warehouse form's data),
carrier booking and delivery."""
from app.domain import carriers, shipping
from app.domain.errors import Invalid
from app.engine.operators import BusinessError, UnitContext, operator


@operator("shipping.create_pick_list")
def create_pick_list(ctx: UnitContext, order_id):
    """Pick list for the order's active reservations: {shipment_id, number, lines}."""
    return shipping.create_pick_list(ctx.session, order_id, user=ctx.actor)


@operator("shipping.confirm_pick", errors=("pick_mismatch",))
def confirm_pick(ctx: UnitContext, shipment_id, confirmations, user=None):
    """Confirm the scanned pick and issue the stock; a mismatch routes back to picking."""
    try:
        result = shipping.confirm_pick(ctx.session, shipment_id, confirmations, user or ctx.actor)
    except Invalid as err:
        raise BusinessError("pick_mismatch", err.message, {"details": err.details or []}) from err
    return {"shipment_id": result["shipment_id"], "number": result["number"],
            "picked_by": result["picked_by"]}


@operator("shipping.pack")
def pack(ctx: UnitContext, shipment_id, parcels):
    """Record parcels and weights: {shipment_id, status, weight_kg, parcels}."""
    result = shipping.pack(ctx.session, shipment_id, parcels)
    return {k: result[k] for k in ("shipment_id", "status", "weight_kg", "parcels")}


@operator("shipping.book_carrier")
def book_carrier(ctx: UnitContext, shipment_id, carrier="demo-post"):
    """Book the packed shipment once (label PDF kept on it): {tracking_number, carrier}."""
    result = carriers.book(ctx.session, shipment_id, carrier)
    return {"shipment_id": result["shipment_id"], "tracking_number": result["tracking_number"],
            "carrier": result["carrier"]}


@operator("shipping.mark_delivered")
def mark_delivered(ctx: UnitContext, shipment_id):
    """Delivered (once): {shipment_id, order_id, fully_delivered}."""
    return shipping.mark_delivered(ctx.session, shipment_id=shipment_id)
