"""Shipping: pick list (by location, FEFO/FIFO, serials to scan) -> confirmed pick (stock issued)
-> packed (parcels, weights) -> booked with a carrier (app.domain.carriers) -> delivered.

Every step is a no-op when replayed on a shipment that already went past it.
"""
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import selectinload

from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.numbering import next_number
from app.models.inventory import Bin, Product, Reservation, StockLedger, StockLevel, Warehouse
from app.models.sales import SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import ZERO, utcnow

QTY_PLACES = Decimal("0.001")  # Quantity columns keep 3 decimals


# --- pick list -------------------------------------------------------------------------------

def create_pick_list(session, order_id, user=None) -> dict:
    """A shipment in "picking" with a line per active reservation not yet on a pick list."""
    order = session.execute(
        locked(select(SalesOrder).where(SalesOrder.id == order_id))
    ).scalar_one_or_none()  # the order lock makes two concurrent calls build one pick list
    if order is None:
        raise NotFound(f"order {order_id} not found")
    on_a_pick_list = (
        select(ShipmentLine.id).join(Shipment)
        .where(ShipmentLine.reservation_id == Reservation.id, Shipment.order_id == order.id,
               Shipment.status != "cancelled").exists())
    # One statement for the reservations to pick and what the pick path and the list show.
    todo = session.execute(
        select(Reservation.id, Reservation.order_line_id, Reservation.product_id,
               Reservation.bin_id, Reservation.quantity, SalesOrderLine.line_no,
               Product.sku, Product.tracking, Bin.code.label("bin_code"),
               Warehouse.code.label("warehouse_code"))
        .join(SalesOrderLine, SalesOrderLine.id == Reservation.order_line_id)
        .join(Product, Product.id == Reservation.product_id)
        .join(Bin, Bin.id == Reservation.bin_id)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .where(SalesOrderLine.order_id == order.id, Reservation.status == "active",
               ~on_a_pick_list)
        .order_by(Reservation.id)
    ).all()
    if not todo:
        existing = session.scalars(
            select(Shipment).where(Shipment.order_id == order.id, Shipment.status == "picking")
            .order_by(Shipment.id.desc())
        ).first()
        if existing is None:
            raise Conflict(f"order {order.number} has no active reservations to pick")
        return pick_list(session, existing)

    shipment = Shipment(number=next_number(session, "shipment", utcnow().year, "SH"),
                        order_id=order.id, status="picking")
    session.add(shipment)
    source = {}  # ShipmentLine -> its reservation row (order line no, sku, bin, warehouse)
    # Pick path: warehouse, then bin, then product.
    for res in sorted(todo, key=lambda r: (r.warehouse_code, r.bin_code, r.sku, r.id)):
        if res.tracking == "batch":
            session.flush()  # so this batch allocation sees what this pick list claimed so far
            new = [_line(res, qty, batch=batch) for batch, qty in _allocate_batches(session, res)]
        elif res.tracking == "serial":
            serials = _serials_on_hand(session, res.product_id, res.bin_id)
            if len(serials) < res.quantity:
                raise Conflict(f"order line {res.line_no} ({res.sku}): {len(serials)} serials "
                               f"on hand in the bin, {res.quantity} reserved")
            new = [_line(res, res.quantity, serials=serials)]
        else:
            new = [_line(res, res.quantity)]
        for line in new:
            shipment.lines.append(line)
            source[line] = res
    session.flush()
    return pick_list(session, shipment, {
        line.id: (res.line_no, res.sku, res.bin_code, res.warehouse_code)
        for line, res in source.items()})


def pick_list(session, shipment: Shipment, info: dict | None = None) -> dict:
    """What the warehouse task form shows (and confirm_pick expects back)."""
    numbered = _numbered(shipment)
    if info is None:
        info = _line_info(session, [ln.id for _, ln in numbered])
    return {"shipment_id": shipment.id, "number": shipment.number,
            "lines": [_line_view(line, no, info[line.id]) for no, line in numbered]}


def _line(res, qty, *, batch=None, serials=None) -> ShipmentLine:
    return ShipmentLine(order_line_id=res.order_line_id, product_id=res.product_id,
                        bin_id=res.bin_id, reservation_id=res.id, quantity=qty,
                        batch=batch, serials=serials)


def _allocate_batches(session, res) -> list[tuple[str, Decimal]]:
    """FEFO (earliest expiry first), FIFO (first receipt) among equal or missing expiries.
    ``res``: the reservation (id, product_id, bin_id, quantity) and its product's ``sku``."""
    rows = session.execute(
        select(StockLedger.batch, func.sum(StockLedger.quantity), func.min(StockLedger.expiry),
               func.min(StockLedger.at))
        .where(StockLedger.product_id == res.product_id, StockLedger.bin_id == res.bin_id,
               StockLedger.batch.is_not(None))
        .group_by(StockLedger.batch)
    ).all()
    claimed = dict(session.execute(  # on pick lists not confirmed yet (not in the ledger yet)
        select(ShipmentLine.batch, func.sum(ShipmentLine.quantity)).join(Shipment)
        .where(ShipmentLine.product_id == res.product_id, ShipmentLine.bin_id == res.bin_id,
               ShipmentLine.batch.is_not(None), Shipment.status == "picking",
               Shipment.picked_at.is_(None))
        .group_by(ShipmentLine.batch)
    ).all())
    rows.sort(key=lambda r: (r[2] or date.max, r[3], r[0]))
    need, picks = Decimal(res.quantity), []
    for batch, on_hand, _expiry, _first in rows:
        free = Decimal(on_hand or 0) - Decimal(claimed.get(batch) or 0)
        take = min(free, need)
        if take > 0:
            picks.append((batch, take))
            need -= take
        if need == 0:
            return picks
    raise Conflict(f"{res.sku}: batches in bin {res.bin_id} cover {res.quantity - need} "
                   f"of {res.quantity} reserved")


def _serials_on_hand(session, product_id: int, bin_id: int) -> list[str]:
    return list(session.scalars(
        select(StockLedger.serial)
        .where(StockLedger.product_id == product_id, StockLedger.bin_id == bin_id,
               StockLedger.serial.is_not(None))
        .group_by(StockLedger.serial)
        .having(func.sum(StockLedger.quantity) > 0)
        .order_by(func.min(StockLedger.at), StockLedger.serial)
    ))


# --- pick confirmation: the stock leaves -----------------------------------------------------

def confirm_pick(session, shipment_id, confirmations, user) -> dict:
    """Check the scanned quantities/serials against the pick list, then issue the stock."""
    shipment = locked_shipment(session, shipment_id)
    if shipment.picked_at is not None:
        return {**pick_list(session, shipment), "picked_by": shipment.picked_by}
    if shipment.status != "picking":
        raise Conflict(f"shipment {shipment.number} is {shipment.status}")
    numbered = _numbered(shipment)
    scanned = _check_confirmations(session, numbered, confirmations)

    # One statement locks the bins' level rows, in the order every writer uses
    # (product_id, warehouse_id, bin_id; see app.domain.reservations).
    pairs = sorted({(ln.product_id, ln.bin_id) for _, ln in numbered})
    levels = {(lv.product_id, lv.bin_id): lv for lv in session.scalars(locked(
        select(StockLevel).where(tuple_(StockLevel.product_id, StockLevel.bin_id).in_(pairs))
        .order_by(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.bin_id)))}
    # Only now, with the bins locked, is "still on hand" a fact another pick cannot change.
    gone = []
    for _, ln in numbered:
        index, _qty, serials = scanned[ln.id]
        on_hand = set(_serials_on_hand(session, ln.product_id, ln.bin_id)) if serials else set()
        gone += [{"field": f"confirmations[{index}].serials",
                  "message": f"serial {s} is no longer on hand in the bin"}
                 for s in serials if s not in on_hand]
    if gone:
        raise Invalid("pick does not match what is on hand", gone)

    reservations = {r.id: r for r in session.scalars(locked(
        select(Reservation).where(Reservation.id.in_({ln.reservation_id for _, ln in numbered}))
        .order_by(Reservation.id)))}
    for _, ln in numbered:
        res = reservations.get(ln.reservation_id)
        if res is None or res.status != "active":
            raise Conflict(f"reservation {ln.reservation_id} is no longer active; "
                           "create a new pick list")
    now, who = utcnow(), _username(user)
    issues = []
    for _, ln in numbered:
        level = levels.get((ln.product_id, ln.bin_id))
        if level is None or level.reserved < ln.quantity or level.on_hand < ln.quantity:
            raise Conflict(f"stock level of product {ln.product_id} in bin {ln.bin_id} "
                           f"does not hold {ln.quantity}")
        level.on_hand -= ln.quantity
        level.reserved -= ln.quantity
        serials = scanned[ln.id][2]
        issues += [dict(product_id=ln.product_id, bin_id=ln.bin_id, kind="issue", batch=ln.batch,
                        serial=serial, quantity=-(Decimal(1) if serial else ln.quantity),
                        expiry=None, doc_type="shipment", doc_id=shipment.number, note=None,
                        created_by=who, at=now)
                   for serial in serials or [None]]
        if serials:
            ln.serials = serials
    if issues:  # one executemany, not an INSERT ... RETURNING per row
        session.execute(insert(StockLedger), issues)
    for res in reservations.values():
        res.status, res.closed_at = "issued", now
    shipment.picked_by, shipment.picked_at = who, now
    session.flush()
    return {**pick_list(session, shipment), "picked_by": who}


def _check_confirmations(session, numbered, confirmations) -> dict:
    """{line_id: (index, quantity, serials)} or Invalid naming every mismatch."""
    if not isinstance(confirmations, list):
        raise Invalid("confirmations must be a list",
                      [{"field": "confirmations", "message": "must be a list"}])
    lines = {ln.id: (no, ln) for no, ln in numbered}
    errors, seen, all_serials = [], {}, set()

    def err(field, message):
        errors.append({"field": field, "message": message})

    for i, conf in enumerate(confirmations):
        at = f"confirmations[{i}]"
        if not isinstance(conf, dict):
            err(at, "must be an object")
            continue
        raw_id = conf.get("shipment_line_id", conf.get("line_id"))
        try:
            line_id = int(raw_id)
        except (TypeError, ValueError):
            err(f"{at}.line_id", "missing or not a number")
            continue
        if line_id not in lines:
            err(f"{at}.line_id", f"line {line_id} is not on this pick list")
            continue
        if line_id in seen:
            err(f"{at}.line_id", f"line {line_id} confirmed twice")
            continue
        no, ln = lines[line_id]
        qty = _decimal(conf.get("quantity"))
        if qty is None:
            err(f"{at}.quantity", "missing or not a number")
        elif qty != ln.quantity:
            err(f"{at}.quantity", f"picked {qty}, pick list line {no} says {ln.quantity}")
        serials = conf.get("serials") or []
        if ln.serials is None:
            if serials:
                err(f"{at}.serials", "this product is not serial-tracked")
        elif not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
            err(f"{at}.serials", "must be a list of serial numbers")
            serials = []
        else:
            if len(serials) != len(set(serials)) or all_serials & set(serials):
                err(f"{at}.serials", "a serial is scanned twice")
            if len(serials) != ln.quantity:
                err(f"{at}.serials", f"{len(serials)} serials scanned for {ln.quantity} pieces")
            unknown = [s for s in serials if s not in ln.serials]
            if unknown:
                err(f"{at}.serials", f"not on the pick list for this bin: {', '.join(unknown)}")
            all_serials |= set(serials)
        seen[line_id] = (i, qty, serials if ln.serials is not None else [])
    for line_id, (no, ln) in lines.items():
        if line_id not in seen:
            err("confirmations", f"pick list line {no} (line_id {line_id}) is not confirmed")
    if errors:
        raise Invalid("pick does not match the pick list", errors)
    return seen


# --- packing ---------------------------------------------------------------------------------

def pack(session, shipment_id, parcels) -> dict:
    """Record the parcels and their weights; may be redone until the shipment is booked."""
    shipment = locked_shipment(session, shipment_id)
    if shipment.status not in ("picking", "packed"):
        raise Conflict(f"shipment {shipment.number} is {shipment.status}")
    if shipment.picked_at is None:
        raise Conflict(f"shipment {shipment.number}: confirm the pick before packing")
    errors, weights = [], []
    if not isinstance(parcels, list) or not parcels:
        errors.append({"field": "parcels", "message": "at least one parcel is needed"})
        parcels = []
    for i, parcel in enumerate(parcels):
        unknown = sorted(set(parcel) - {"weight_kg"}) if isinstance(parcel, dict) else []
        weight = _decimal(parcel.get("weight_kg")) if isinstance(parcel, dict) else None
        if unknown:
            errors.append({"field": f"parcels[{i}]", "message": f"unknown fields {unknown}"})
        if weight is None or weight <= 0:
            errors.append({"field": f"parcels[{i}].weight_kg",
                           "message": "must be a positive number"})
        elif weight != weight.quantize(QTY_PLACES) or weight >= Decimal("1e11"):
            errors.append({"field": f"parcels[{i}].weight_kg",
                           "message": "at most 3 decimal places and 11 digits"})
        else:
            weights.append(weight.quantize(QTY_PLACES))
    if errors:
        raise Invalid("parcels are not valid", errors)
    shipment.parcels = [{"weight_kg": str(w)} for w in weights]
    shipment.weight_kg = sum(weights, ZERO)
    shipment.status = "packed"
    session.flush()
    return {"shipment_id": shipment.id, "number": shipment.number, "status": shipment.status,
            "parcels": shipment.parcels, "weight_kg": shipment.weight_kg}


# --- delivery --------------------------------------------------------------------------------

def mark_delivered(session, *, shipment_id=None, tracking_number=None, at=None,
                   allowance_percent: Decimal = ZERO) -> dict:
    """The carrier delivered: add the shipped quantities to the order lines' delivered_qty once."""
    if (shipment_id is None) == (tracking_number is None):
        raise Invalid("give a shipment id or a tracking number", [
            {"field": "shipment_id",
             "message": "give exactly one of shipment_id, tracking_number"}])
    query = locked(select(Shipment))
    query = (query.where(Shipment.id == shipment_id) if shipment_id is not None
             else query.where(Shipment.tracking_number == tracking_number))
    shipment = session.execute(query).scalar_one_or_none()
    if shipment is None:
        raise NotFound(f"shipment {shipment_id or tracking_number} not found")
    if shipment.status != "delivered":
        if shipment.status != "booked":
            raise Conflict(f"shipment {shipment.number} is {shipment.status}, not booked")
        per_line = defaultdict(lambda: ZERO)
        for ln in shipment.lines:
            per_line[ln.order_line_id] += ln.quantity
        order_lines = session.scalars(locked(
            select(SalesOrderLine).where(SalesOrderLine.id.in_(per_line))
            .order_by(SalesOrderLine.id))).all()
        for ol in order_lines:
            limit = ol.quantity * (1 + Decimal(allowance_percent) / 100)
            if ol.delivered_qty + per_line[ol.id] > limit:
                raise Conflict(f"order line {ol.line_no}: delivering {per_line[ol.id]} on top of "
                               f"{ol.delivered_qty} exceeds the ordered {ol.quantity}")
        for ol in order_lines:
            ol.delivered_qty += per_line[ol.id]
        shipment.status, shipment.delivered_at = "delivered", _moment(at)
        session.flush()
    remaining = session.scalar(
        select(func.count()).select_from(SalesOrderLine)
        .where(SalesOrderLine.order_id == shipment.order_id,
               SalesOrderLine.delivered_qty < SalesOrderLine.quantity))
    backorder_cancelled = session.scalar(select(SalesOrder.backorder_cancelled_at).where(
        SalesOrder.id == shipment.order_id)) is not None
    # backorder_open: something is left to ship and the customer still wants it.
    return {"shipment_id": shipment.id, "order_id": shipment.order_id,
            "fully_delivered": remaining == 0,
            "backorder_open": remaining > 0 and not backorder_cancelled}


def cancel_open_pick_lists(session, order_id: int) -> list[str]:
    """An order cancelled while being picked: its pick lists are void (their batch lines no
    longer hold the batches)."""
    open_lists = list(session.scalars(locked(select(Shipment).where(
        Shipment.order_id == order_id, Shipment.status == "picking"))))
    for shipment in open_lists:
        shipment.status = "cancelled"
    session.flush()
    return [s.number for s in open_lists]


# --- read side -------------------------------------------------------------------------------

def order_shipments(session, order_id) -> list[dict]:
    """Shipments of an order for the order page, oldest first."""
    if session.get(SalesOrder, order_id) is None:
        raise NotFound(f"order {order_id} not found")
    shipments = session.scalars(
        select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)
        .options(selectinload(Shipment.lines))).all()
    info = _line_info(session, [ln.id for s in shipments for ln in s.lines])
    return [{"shipment_id": s.id, "number": s.number, "status": s.status, "carrier": s.carrier,
             "tracking_number": s.tracking_number, "weight_kg": s.weight_kg,
             "parcels": s.parcels or [], "picked_by": s.picked_by, "picked_at": s.picked_at,
             "shipped_at": s.shipped_at, "delivered_at": s.delivered_at,
             "lines": [_line_view(ln, no, info[ln.id]) for no, ln in _numbered(s)]}
            for s in shipments]


# --- helpers ---------------------------------------------------------------------------------

def locked_shipment(session, shipment_id) -> Shipment:
    shipment = session.execute(
        locked(select(Shipment).where(Shipment.id == shipment_id))
    ).scalar_one_or_none()
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


def locked(stmt):
    """FOR UPDATE, re-reading rows the session already holds (their values may be stale)."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def _numbered(shipment: Shipment) -> list[tuple[int, ShipmentLine]]:
    # Lines are created in pick-path order, so id order is the pick list order.
    return list(enumerate(sorted(shipment.lines, key=lambda ln: ln.id), start=1))


def _line_info(session, line_ids) -> dict[int, tuple]:
    """{shipment line id: (order line no, sku, bin code, warehouse code)} in one statement."""
    if not line_ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in session.execute(
        select(ShipmentLine.id, SalesOrderLine.line_no, Product.sku, Bin.code, Warehouse.code)
        .join(SalesOrderLine, SalesOrderLine.id == ShipmentLine.order_line_id)
        .join(Product, Product.id == ShipmentLine.product_id)
        .join(Bin, Bin.id == ShipmentLine.bin_id)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .where(ShipmentLine.id.in_(line_ids)))}


def _line_view(line: ShipmentLine, line_no: int, info: tuple) -> dict:
    order_line_no, sku, bin_code, warehouse_code = info
    return {"line_id": line.id, "line_no": line_no, "order_line_no": order_line_no,
            "sku": sku, "bin": bin_code, "warehouse": warehouse_code,
            "quantity": line.quantity, "batch": line.batch,
            "serials": list(line.serials) if line.serials is not None else None}


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))  # str() first: a float's shortest repr, not its binary noise
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _moment(at) -> datetime:
    if at is None:
        return utcnow()
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise Invalid("at is not a date-time", [{"field": "at", "message": "ISO 8601"}])
    if at.tzinfo is None:
        raise Invalid("at needs a time zone", [{"field": "at", "message": "include a time zone"}])
    return at


def _username(user) -> str | None:
    return getattr(user, "username", user)
