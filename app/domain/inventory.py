"""Inventory's public surface: availability, receipts that fulfil waiting requests, and the
ledger and reservation functions (kept in stock_ledger.py and reservations.py).

Availability (erp-rules.md, "Stock: availability and reservation"):
    available = on_hand − reserved
    projected = on_hand + on_order − reserved
on_order is the sum of the product's OPEN replenishment requests. Requests name no warehouse,
so on_order and projected are product totals; per warehouse there is on_hand/reserved/available.
Open work orders (planned) and reservations for production join the formula when they exist.
"""
from decimal import Decimal

from sqlalchemy import func, select

from app.domain.reservations import (  # noqa: F401  (public surface)
    fulfil_requests,
    order_reservations,
    release_order,
    reserve_order,
)
from app.domain.stock_ledger import (  # noqa: F401  (public surface)
    Movement,
    adjust,
    get_product,
    ledger_entries,
    locate,
    rebuild_levels,
    receive,
)
from app.models.inventory import Bin, ReplenishmentRequest, StockLevel, Warehouse
from app.models.types import ZERO


def availability(session, sku: str) -> dict:
    """On hand, reserved and available per warehouse (with its bins), and the product totals."""
    product = get_product(session, sku)
    rows = session.execute(
        select(StockLevel, Warehouse.code, Warehouse.name, Bin.code, Bin.sellable)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Bin, Bin.id == StockLevel.bin_id)
        .where(StockLevel.product_id == product.id)
        .order_by(Warehouse.code, Bin.code))
    warehouses: dict[str, dict] = {}
    for level, wh_code, wh_name, bin_code, sellable in rows:
        wh = warehouses.setdefault(wh_code, {"warehouse": wh_code, "name": wh_name,
                                             "on_hand": ZERO, "reserved": ZERO,
                                             "available": ZERO, "bins": []})
        # Quarantine (returned, not yet inspected) is on hand but never available.
        available = level.on_hand - level.reserved if sellable else ZERO
        wh["on_hand"] += level.on_hand
        wh["reserved"] += level.reserved
        wh["available"] += available
        wh["bins"].append({"bin": bin_code, "on_hand": level.on_hand, "reserved": level.reserved,
                           "available": available, "sellable": sellable})

    on_order = Decimal(session.scalar(
        select(func.sum(ReplenishmentRequest.quantity))
        .where(ReplenishmentRequest.product_id == product.id,
               ReplenishmentRequest.status == "open")) or ZERO)
    on_hand = sum((w["on_hand"] for w in warehouses.values()), ZERO)
    reserved = sum((w["reserved"] for w in warehouses.values()), ZERO)
    available = sum((w["available"] for w in warehouses.values()), ZERO)
    return {
        "sku": product.sku, "name": product.name, "unit": product.unit,
        "warehouses": list(warehouses.values()),
        "totals": {"on_hand": on_hand, "reserved": reserved, "available": available,
                   "on_order": on_order, "projected": available + on_order},
    }


def level_summary(movement: Movement) -> dict:
    """The bin a movement touched, as it stands now."""
    level = movement.level
    return {"warehouse": movement.bin.warehouse.code, "bin": movement.bin.code,
            "on_hand": level.on_hand, "reserved": level.reserved,
            "available": level.on_hand - level.reserved}


def receive_for_requests(session, **receipt) -> dict:
    """Receive goods (see `receive`), then fulfil the open requests they now cover.

    Returns the ledger row ids, the bin's new level (in `levels`) and the ids of the orders
    whose requests were fulfilled; the caller tells those orders' processes to retry their
    reservation.
    """
    movement = receive(session, **receipt)
    return {"sku": movement.product.sku, "ledger_ids": [r.id for r in movement.rows],
            "replayed": movement.replayed, "levels": [level_summary(movement)],
            "fulfilled_orders": fulfil_requests(session, movement.product.id)}


def adjust_stock(session, **adjustment) -> dict:
    """Adjust (see `adjust`) and report the ledger row ids and the bin's new level."""
    movement = adjust(session, **adjustment)
    return {"sku": movement.product.sku, "ledger_ids": [r.id for r in movement.rows],
            "replayed": movement.replayed, "levels": [level_summary(movement)]}
