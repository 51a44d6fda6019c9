"""The stock ledger: receipts and adjustments as append-only rows, and the per-bin level cache.

Every movement is a StockLedger row naming the document that caused it; StockLevel.on_hand is a
cache of the ledger's sum per (product, bin) that `rebuild_levels` recomputes identically.
"""
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import Conflict, Invalid, NotFound
from app.models.inventory import Bin, Product, Reservation, StockLedger, StockLevel, Warehouse
from app.models.types import ZERO

LEDGER_KINDS = ("receipt", "issue", "adjustment", "return", "transfer")


@dataclass
class Movement:
    """What a receipt or adjustment wrote: its ledger rows and the bin's level afterwards."""

    product: Product
    bin: Bin
    rows: list[StockLedger]
    level: StockLevel
    replayed: bool = False


# ---------------------------------------------------------------- look-ups

def get_product(session, sku: str, *, field: str = "sku") -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"product {sku!r} not found",
                       [{"field": field, "message": f"unknown product {sku!r}"}])
    return product


def locate(session, *, sku: str, warehouse: str, bin: str) -> tuple[Product, Bin]:
    """Product and bin by their codes; every unknown one is named in the NotFound details."""
    problems = []
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        problems.append({"field": "sku", "message": f"unknown product {sku!r}"})
    found_wh = session.scalar(select(Warehouse).where(Warehouse.code == warehouse))
    found_bin = None
    if found_wh is None:
        problems.append({"field": "warehouse", "message": f"unknown warehouse {warehouse!r}"})
    else:
        found_bin = session.scalar(select(Bin).where(Bin.warehouse_id == found_wh.id,
                                                     Bin.code == bin))
        if found_bin is None:
            problems.append({"field": "bin",
                             "message": f"no bin {bin!r} in warehouse {warehouse!r}"})
    if problems:
        raise NotFound("; ".join(p["message"] for p in problems), problems)
    return product, found_bin


def locked_level(session, product_id: int, bin_: Bin) -> StockLevel:
    """The (product, bin) level row, locked; created at zero if the bin never held the product."""
    stmt = (select(StockLevel)
            .where(StockLevel.product_id == product_id, StockLevel.bin_id == bin_.id)
            .with_for_update().execution_options(populate_existing=True))
    level = session.scalar(stmt)
    if level is not None:
        return level
    try:
        # A concurrent first receipt into the same bin may win the unique key: then use its row.
        with session.begin_nested():
            level = StockLevel(product_id=product_id, bin_id=bin_.id,
                               warehouse_id=bin_.warehouse_id, on_hand=ZERO, reserved=ZERO)
            session.add(level)
    except IntegrityError:
        level = session.scalar(stmt)
    return level


# ---------------------------------------------------------------- receipts

def _serials_on_hand(session, product_id: int, serials: list[str]) -> list[str]:
    rows = session.execute(
        select(StockLedger.serial)
        .where(StockLedger.product_id == product_id, StockLedger.serial.in_(serials))
        .group_by(StockLedger.serial)
        .having(func.sum(StockLedger.quantity) > 0))
    return sorted(r[0] for r in rows)


def _check_tracking(session, product: Product, quantity: Decimal, batch, serials) -> list[dict]:
    problems = []
    if product.tracking == "serial":
        if not serials:
            problems.append({"field": "serials", "message":
                             f"{product.sku} is serial-tracked: give one serial per unit"})
        elif quantity != quantity.to_integral_value() or len(serials) != quantity:
            problems.append({"field": "serials",
                             "message": f"{len(serials)} serials given for quantity {quantity}"})
        elif len(set(serials)) != len(serials):
            problems.append({"field": "serials", "message": "serials repeat"})
        else:
            on_hand = _serials_on_hand(session, product.id, serials)
            if on_hand:
                problems.append({"field": "serials",
                                 "message": f"already on hand: {', '.join(on_hand)}"})
    elif serials:
        problems.append({"field": "serials", "message": f"{product.sku} is not serial-tracked"})
    if product.tracking == "batch" and not batch:
        problems.append({"field": "batch",
                         "message": f"{product.sku} is batch-tracked: give a batch"})
    return problems


def _booked_rows(session, product, bin_, quantity, doc_type, doc_id) -> list[StockLedger]:
    """Rows a document already booked for this product and bin (a replay returns them)."""
    rows = list(session.scalars(
        select(StockLedger).where(StockLedger.doc_type == doc_type, StockLedger.doc_id == doc_id,
                                  StockLedger.product_id == product.id,
                                  StockLedger.bin_id == bin_.id).order_by(StockLedger.id)))
    if rows and sum((r.quantity for r in rows), ZERO) != quantity:
        raise Conflict(f"{doc_type} {doc_id} already booked {product.sku} in this bin "
                       "with another quantity",
                       [{"field": "reference", "message": "already used with another quantity"}])
    return rows


def receive(session, *, sku: str, warehouse: str, bin: str, quantity: Decimal,
            batch: str | None = None, serials: list[str] | None = None,
            expiry: date | None = None, doc_type: str = "receipt", doc_id: str | None = None,
            user: str | None = None, kind: str = "receipt") -> Movement:
    """Book goods into a bin: one ledger row (one per serial for serial-tracked products).

    A receipt repeated with the same doc_id (same product and bin) returns the rows booked the
    first time instead of booking the goods twice.
    """
    product, bin_ = locate(session, sku=sku, warehouse=warehouse, bin=bin)
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise Invalid("quantity must be positive",
                      [{"field": "quantity", "message": "must be greater than 0"}])
    if kind not in LEDGER_KINDS:
        raise Invalid(f"unknown ledger kind {kind!r}", [{"field": "kind", "message": "unknown"}])
    if not product.stock_tracked:
        raise Invalid(f"{sku} is not stock-tracked",
                      [{"field": "sku", "message": "product is not stock-tracked"}])
    if doc_id is not None:
        existing = _booked_rows(session, product, bin_, quantity, doc_type, doc_id)
        if existing:
            level = locked_level(session, product.id, bin_)
            return Movement(product, bin_, existing, level, replayed=True)
    if product.tracking == "serial":
        # Serialise receipts of one serial-tracked product so a serial cannot arrive twice.
        session.scalar(select(Product.id).where(Product.id == product.id).with_for_update())
    problems = _check_tracking(session, product, quantity, batch, serials)
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)

    doc_id = doc_id or uuid.uuid4().hex
    level = locked_level(session, product.id, bin_)
    common = dict(product_id=product.id, bin_id=bin_.id, kind=kind, batch=batch, expiry=expiry,
                  doc_type=doc_type, doc_id=doc_id, created_by=user)
    if product.tracking == "serial":
        rows = [StockLedger(quantity=Decimal(1), serial=s, **common) for s in serials]
    else:
        rows = [StockLedger(quantity=quantity, **common)]
    session.add_all(rows)
    level.on_hand = level.on_hand + quantity
    session.flush()
    return Movement(product, bin_, rows, level)


# ---------------------------------------------------------------- adjustments

def adjust(session, *, sku: str, warehouse: str, bin: str, quantity_delta: Decimal, reason: str,
           user: str | None, serials: list[str] | None = None, batch: str | None = None,
           doc_id: str | None = None) -> Movement:
    """Correct a bin's stock (count difference, damage): never below zero nor below reserved.

    Serial-tracked products name the serials that appear or disappear. An adjustment repeated
    with the same doc_id (same product and bin) returns the rows booked the first time.
    """
    product, bin_ = locate(session, sku=sku, warehouse=warehouse, bin=bin)
    delta = Decimal(quantity_delta)
    problems = []
    if delta == 0:
        problems.append({"field": "quantity_delta", "message": "must not be 0"})
    if not (reason or "").strip():
        problems.append({"field": "reason", "message": "give a reason"})
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)
    if doc_id is not None:
        existing = _booked_rows(session, product, bin_, delta, "adjustment", doc_id)
        if existing:
            return Movement(product, bin_, existing, locked_level(session, product.id, bin_),
                            replayed=True)
    if product.tracking == "serial":
        # The lock receive() takes: a serial cannot appear twice through a concurrent receipt.
        session.scalar(select(Product.id).where(Product.id == product.id).with_for_update())
        problems = _check_adjusted_serials(session, product, bin_, delta, serials)
    elif serials:
        problems = [{"field": "serials", "message": f"{sku} is not serial-tracked"}]
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)

    level = locked_level(session, product.id, bin_)
    after = level.on_hand + delta
    if after < 0:
        raise Invalid(f"only {level.on_hand} on hand in {warehouse}/{bin}",
                      [{"field": "quantity_delta",
                        "message": f"would leave {after} on hand (no negative stock)"}])
    if after < level.reserved:
        raise Invalid(f"{level.reserved} of {sku} are reserved in {warehouse}/{bin}",
                      [{"field": "quantity_delta",
                        "message": f"would leave {after} on hand, below the {level.reserved} "
                                   "reserved"}])
    common = dict(product_id=product.id, bin_id=bin_.id, kind="adjustment", batch=batch,
                  doc_type="adjustment", doc_id=doc_id or uuid.uuid4().hex,
                  note=reason.strip()[:500], created_by=user)
    if product.tracking == "serial":
        unit = Decimal(1) if delta > 0 else Decimal(-1)
        rows = [StockLedger(quantity=unit, serial=s, **common) for s in serials]
    else:
        rows = [StockLedger(quantity=delta, **common)]
    session.add_all(rows)
    level.on_hand = after
    session.flush()
    return Movement(product, bin_, rows, level)


def _check_adjusted_serials(session, product, bin_, delta, serials) -> list[dict]:
    count = abs(delta)
    if not serials or count != count.to_integral_value() or len(serials) != count \
            or len(set(serials)) != len(serials):
        return [{"field": "serials", "message": f"give {count} distinct serials"}]
    if delta > 0:
        on_hand = _serials_on_hand(session, product.id, serials)
        return [{"field": "serials", "message": f"already on hand: {', '.join(on_hand)}"}] \
            if on_hand else []
    in_bin = set(session.scalars(
        select(StockLedger.serial)
        .where(StockLedger.product_id == product.id, StockLedger.bin_id == bin_.id,
               StockLedger.serial.in_(serials))
        .group_by(StockLedger.serial).having(func.sum(StockLedger.quantity) > 0)))
    missing = sorted(set(serials) - in_bin)
    return [{"field": "serials", "message": f"not in this bin: {', '.join(missing)}"}] \
        if missing else []


# ---------------------------------------------------------------- the cache

def rebuild_levels(session) -> list[dict]:
    """Recompute every level from the ledger (on_hand) and active reservations (reserved).

    Returns the corrections made; an empty list means the cache already matched.
    """
    on_hand = {(p, b): q for p, b, q in session.execute(
        select(StockLedger.product_id, StockLedger.bin_id, func.sum(StockLedger.quantity))
        .group_by(StockLedger.product_id, StockLedger.bin_id))}
    reserved = {(p, b): q for p, b, q in session.execute(
        select(Reservation.product_id, Reservation.bin_id, func.sum(Reservation.quantity))
        .where(Reservation.status == "active")
        .group_by(Reservation.product_id, Reservation.bin_id))}
    levels = {(lv.product_id, lv.bin_id): lv for lv in session.scalars(
        select(StockLevel)
        .order_by(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.bin_id)
        .with_for_update().execution_options(populate_existing=True))}
    corrections = []
    for key in sorted(set(on_hand) | set(reserved) | set(levels)):
        level = levels.get(key)
        if level is None:
            bin_ = session.get(Bin, key[1])
            level = StockLevel(product_id=key[0], bin_id=key[1], warehouse_id=bin_.warehouse_id,
                               on_hand=ZERO, reserved=ZERO)
            session.add(level)
        for field, source in (("on_hand", on_hand), ("reserved", reserved)):
            want = Decimal(source.get(key) or ZERO)
            have = getattr(level, field)
            if have is None or Decimal(have) != want:
                corrections.append({"product_id": key[0], "bin_id": key[1], "field": field,
                                    "was": have, "now": want})
                setattr(level, field, want)
    session.flush()
    return corrections


def ledger_entries(session, *, sku: str | None = None, limit: int = 50) -> list[dict]:
    """The newest ledger rows first, optionally for one product."""
    stmt = (select(StockLedger, Product.sku, Warehouse.code, Bin.code)
            .join(Product, Product.id == StockLedger.product_id)
            .join(Bin, Bin.id == StockLedger.bin_id)
            .join(Warehouse, Warehouse.id == Bin.warehouse_id)
            .order_by(StockLedger.id.desc()).limit(limit))
    if sku is not None:
        stmt = stmt.where(StockLedger.product_id == get_product(session, sku).id)
    return [{"id": row.id, "sku": product_sku, "warehouse": wh_code, "bin": bin_code,
             "quantity": row.quantity, "kind": row.kind, "batch": row.batch,
             "serial": row.serial, "expiry": row.expiry, "doc_type": row.doc_type,
             "doc_id": row.doc_id, "note": row.note, "created_by": row.created_by, "at": row.at}
            for row, product_sku, wh_code, bin_code in session.execute(stmt)]
