"""What happens to returned goods: receipt into quarantine, inspection, repair, credit.

- Receipt books the goods into the warehouse's returns bin (code RETURNS, created on first use)
  with ``stock_ledger.receive`` (kind and doc_type "return", doc_id "<RMA>/<line>"). They are on
  hand there, in a bin that is not sellable: reservation, availability, MRP and material issue
  leave them alone until inspection moves them to a sellable bin.
- Inspection, one outcome per return:
  restock     → goods moved (a pair of "transfer" rows) to the bin they were shipped from or
                the one named; credit note follows;
  scrap       → a write-off row; credit note follows;
  repair      → a repair order; the goods stay in the returns bin until it is done: repaired
                goods go back to the customer (an "issue" row; the customer keeps them, no
                credit), goods that cannot be repaired are written off and credited;
  replacement → the defective goods are written off and a zero-priced replacement sales order
                (source "replacement", external_ref = the RMA number) is created; the caller
                starts its order_lifecycle, which reserves, picks, ships and tracks it like any
                order. No credit note: the original invoice stays valid for the replacement.
  Every ledger row of a return has doc_type "return" and a doc_id starting with its number.
- Credit: app.domain.credit_notes, for the received quantities, against the original invoices.
Each step is a no-op when replayed on a return that already went past it.
"""
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import credit_notes
from app.domain.errors import Conflict, Invalid
from app.domain.numbering import next_number
from app.domain.returns import claimed_serials, locked_return, parse_quantity, shipped
from app.domain.stock_ledger import locked_level, receive
from app.models.inventory import Bin, Product, StockLedger, Warehouse
from app.models.returns import RETURN_OUTCOMES, RepairOrder, ReturnLine, ReturnRequest
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import ZERO, utcnow

RETURNS_BIN = "RETURNS"
CREDITED_OUTCOMES = ("restock", "scrap")  # and repair when the goods cannot be repaired


# ----------------------------------------------------------------- receipt

def receive_goods(session, return_id: int, lines: list[dict], *, user: str | None,
                  warehouse: str | None = None, note: str | None = None) -> dict:
    """Book what arrived ([{"line_no", "quantity", "serials"?, "batch"?}], return line
    numbers; lines left out arrived with nothing) into quarantine. Invalid names each mismatch."""
    ret = locked_return(session, return_id)
    if ret.received_at is not None:
        return receipt_summary(session, ret)
    if ret.approved_at is None or ret.rejected_at is not None:
        raise Conflict(f"return {ret.number} is not approved")
    todo, problems = _checked_receipt(session, ret, lines)
    wh = _receiving_warehouse(session, ret, warehouse, problems)
    if problems:
        raise Invalid("the receipt does not match the return", details=problems)
    quarantine = returns_bin(session, wh)
    with session.begin_nested():  # a refusal from the ledger leaves nothing half-booked
        for line, qty, serials, batch in todo:
            line.received_qty, line.received_serials, line.batch = qty, serials or None, batch
            order_line = session.get(SalesOrderLine, line.order_line_id)
            order_line.returned_qty = (order_line.returned_qty or ZERO) + qty
            product = session.get(Product, line.product_id)
            if not product.stock_tracked:
                continue  # nothing to book (a service, a non-stock item)
            receive(session, sku=product.sku, warehouse=wh.code, bin=quarantine.code,
                    quantity=qty, batch=batch, serials=serials or None,
                    expiry=_expiry(session, product.id, batch), doc_type="return",
                    doc_id=f"{ret.number}/{line.line_no}", user=user, kind="return")
        ret.received_at, ret.received_by = utcnow(), user
        ret.receipt_note, ret.quarantine_bin_id = (note or None), quarantine.id
    return receipt_summary(session, ret)


def _checked_receipt(session, ret: ReturnRequest, lines) -> tuple[list, list[dict]]:
    by_no = {ln.line_no: ln for ln in ret.lines}
    todo, problems, seen = [], [], set()
    for index, given in enumerate(lines or []):
        at = f"lines[{index}]"
        line, qty = by_no.get(given.get("line_no")), parse_quantity(given.get("quantity"))
        if line is None or line.line_no in seen:
            problems.append({"field": f"{at}.line_no", "message": "not a line of this return"
                             if line is None else "line repeated"})
            continue
        seen.add(line.line_no)
        if qty is None or qty < 0 or qty > line.quantity:
            problems.append({"field": f"{at}.quantity", "message":
                             f"between 0 and the {line.quantity.normalize():f} approved"})
            continue
        if qty == 0:
            continue
        product = session.get(Product, line.product_id)
        serials = list(given.get("serials") or [])
        problems += _receipt_serial_problems(session, ret, line, product, qty, serials, at)
        batch = given.get("batch") or None
        if product.tracking == "batch" and not batch:
            batch = _only_batch_shipped(session, line.order_line_id)
            if batch is None:
                problems.append({"field": f"{at}.batch", "message": "give the batch"})
        todo.append((line, qty, serials, batch))
    if not problems and not todo:
        problems.append({"field": "lines", "message": "nothing received: give the quantities"})
    return todo, problems


def _receipt_serial_problems(session, ret, line, product, qty, serials, at) -> list[dict]:
    field = f"{at}.serials"
    if product.tracking != "serial":
        return [{"field": field, "message": f"{product.sku} is not serial-tracked"}] \
            if serials else []
    if len(serials) != qty or len(set(serials)) != len(serials):
        return [{"field": field, "message": f"scan {qty.normalize():f} distinct serials"}]
    if line.serials:
        expected = set(line.serials)
    else:
        order_id = session.get(SalesOrderLine, line.order_line_id).order_id
        sent = shipped(session, order_id, delivered_only=False).get(line.order_line_id)
        expected = (sent[1] if sent else set()) - claimed_serials(session, line.order_line_id,
                                                                  except_return_id=ret.id)
    unexpected = sorted(set(serials) - expected)
    return [{"field": field, "message": f"not expected on this return: {', '.join(unexpected)}"}] \
        if unexpected else []


def _only_batch_shipped(session, order_line_id: int) -> str | None:
    batches = set(session.scalars(select(ShipmentLine.batch).where(
        ShipmentLine.order_line_id == order_line_id, ShipmentLine.batch.is_not(None))))
    return batches.pop() if len(batches) == 1 else None


def _expiry(session, product_id: int, batch: str | None):
    if not batch:
        return None
    return session.scalar(select(func.min(StockLedger.expiry)).where(
        StockLedger.product_id == product_id, StockLedger.batch == batch))


def _shipped_from(session, order_line_id: int) -> Bin | None:
    """The bin the order line was picked from (its first shipment line)."""
    bin_id = session.scalar(
        select(ShipmentLine.bin_id).join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(ShipmentLine.order_line_id == order_line_id, Shipment.picked_at.is_not(None))
        .order_by(ShipmentLine.id).limit(1))
    return session.get(Bin, bin_id) if bin_id else None


def _receiving_warehouse(session, ret, code, problems) -> Warehouse | None:
    if code:
        found = session.scalar(select(Warehouse).where(Warehouse.code == code))
        if found is None:
            problems.append({"field": "warehouse", "message": f"unknown warehouse {code!r}"})
        return found
    for line in ret.lines:
        origin = _shipped_from(session, line.order_line_id)
        if origin is not None:
            return session.get(Warehouse, origin.warehouse_id)
    problems.append({"field": "warehouse", "message": "name the receiving warehouse"})
    return None


def returns_bin(session, warehouse: Warehouse) -> Bin:
    """The warehouse's returns (quarantine) bin, created on first use."""
    stmt = select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.code == RETURNS_BIN)
    found = session.scalar(stmt)
    if found is None:
        try:
            with session.begin_nested():  # a concurrent first return may create it too
                found = Bin(warehouse_id=warehouse.id, code=RETURNS_BIN, sellable=False)
                session.add(found)
        except IntegrityError:
            found = session.scalar(stmt)
    return found


def receipt_summary(session, ret: ReturnRequest) -> dict:
    return {"return_number": ret.number, "received_at": ret.received_at,
            "lines": [{"line_no": ln.line_no, "sku": session.get(Product, ln.product_id).sku,
                       "received_qty": ln.received_qty, "serials": ln.received_serials or []}
                      for ln in ret.lines]}


# ----------------------------------------------------------------- stock moves of a return

def _book(session, ret, line, bin_: Bin, sign: int, *, kind: str, step: str, note: str,
          user: str | None) -> None:
    """Ledger rows for the line's received goods in ``bin_`` (+ in, − out) and the bin's level."""
    qty = line.received_qty
    level = locked_level(session, line.product_id, bin_)
    if sign < 0 and level.on_hand - qty < level.reserved:
        raise Invalid(f"orders reserved {level.reserved.normalize():f} in the returns bin",
                      details=[{"field": "outcome", "message":
                                f"{level.reserved.normalize():f} of the goods in "
                                f"{bin_.code} are reserved by orders meanwhile; move "
                                "those reservations first"}])
    common = dict(product_id=line.product_id, bin_id=bin_.id, kind=kind, batch=line.batch,
                  expiry=_expiry(session, line.product_id, line.batch), doc_type="return",
                  doc_id=f"{ret.number}/{line.line_no}/{step}", note=note[:500],
                  created_by=user)
    if line.received_serials:
        session.add_all([StockLedger(quantity=Decimal(sign), serial=s, **common)
                         for s in line.received_serials])
    else:
        session.add(StockLedger(quantity=sign * qty, **common))
    level.on_hand = level.on_hand + sign * qty
    session.flush()  # the CHECKs (no negative stock, reserved ≤ on hand) hold here


def _in_stock(session, lines: list[ReturnLine]) -> list[ReturnLine]:
    """The lines whose goods were booked into the returns bin (stock-tracked products)."""
    return [ln for ln in lines if session.get(Product, ln.product_id).stock_tracked]


def _lock_order(bins: list[Bin]) -> list[Bin]:
    return sorted(bins, key=lambda b: (b.warehouse_id, b.id))  # the order every writer uses


def _restock(session, ret, line, target: Bin, user) -> None:
    quarantine = session.get(Bin, ret.quarantine_bin_id)
    for bin_ in _lock_order([quarantine, target]):
        locked_level(session, line.product_id, bin_)
    where = f"{target.warehouse.code}/{target.code}"
    _book(session, ret, line, quarantine, -1, kind="transfer", step="restock",
          note=f"restocked to {where} after inspection of {ret.number}", user=user)
    _book(session, ret, line, target, +1, kind="transfer", step="restock",
          note=f"restocked from the returns bin after inspection of {ret.number}", user=user)


def _write_off(session, ret, line, user, why: str) -> None:
    _book(session, ret, line, session.get(Bin, ret.quarantine_bin_id), -1, kind="adjustment",
          step="write-off", note=f"written off ({why}), return {ret.number}", user=user)


# ----------------------------------------------------------------- inspection

def inspect(session, return_id: int, outcome: str, *, user: str | None, note: str | None = None,
            warehouse: str | None = None, bin: str | None = None) -> dict:
    ret = locked_return(session, return_id)
    if ret.inspected_at is not None:
        return inspection_summary(session, ret)
    if ret.received_at is None:
        raise Conflict(f"return {ret.number} has not been received")
    if outcome not in RETURN_OUTCOMES:
        raise Invalid("unknown outcome", details=[
            {"field": "outcome", "message": f"one of {', '.join(RETURN_OUTCOMES)}"}])
    received = [ln for ln in ret.lines if ln.received_qty > 0]
    stocked = _in_stock(session, received)
    targets = _restock_targets(session, stocked, warehouse, bin) if outcome == "restock" else {}
    with session.begin_nested():  # goods reserved meanwhile refuse it: nothing half-booked
        if outcome == "restock":
            for line in stocked:
                _restock(session, ret, line, targets[line.id], user)
        elif outcome in ("scrap", "replacement"):
            for line in stocked:
                _write_off(session, ret, line, user, "scrapped after inspection"
                           if outcome == "scrap" else "defective, replaced")
        elif outcome == "repair":
            session.add(RepairOrder(number=next_number(session, "repair", utcnow().year, "RO"),
                                    return_id=ret.id, status="open"))
        if outcome == "replacement":
            ret.replacement_order_id = _replacement_order(session, ret, received, user).id
        ret.outcome, ret.inspected_by, ret.inspected_at = outcome, user, utcnow()
        ret.inspection_note = note or None
    return inspection_summary(session, ret)


def _restock_targets(session, lines, warehouse, bin_code) -> dict[int, Bin]:
    """{return line id: the bin its goods go back to}: the one named, else where they left."""
    named = _named_bin(session, warehouse, bin_code)
    targets = {}
    for line in lines:
        targets[line.id] = named or _shipped_from(session, line.order_line_id)
        if targets[line.id] is None:
            raise Invalid("where should the goods go?", details=[
                {"field": "bin", "message": "name the warehouse and bin"}])
    return targets


def _named_bin(session, warehouse, bin_code) -> Bin | None:
    if not warehouse and not bin_code:
        return None
    found = session.scalar(select(Bin).join(Warehouse, Warehouse.id == Bin.warehouse_id).where(
        Warehouse.code == (warehouse or ""), Bin.code == (bin_code or "")))
    if found is None:
        raise Invalid("unknown restock location", details=[
            {"field": "bin", "message": f"no bin {bin_code!r} in warehouse {warehouse!r}"
             if warehouse and bin_code else "give both the warehouse and the bin, or neither"}])
    return found


def _replacement_order(session, ret, received, user) -> SalesOrder:
    """A zero-priced order for the same goods; the original invoice covers them."""
    original = session.get(SalesOrder, ret.order_id)
    now = utcnow()
    order = SalesOrder(number=next_number(session, "sales_order", now.year, "SO"),
                       customer_id=original.customer_id, external_ref=ret.number,
                       source="replacement", currency=original.currency,
                       ship_to=original.ship_to, created_by=user, created_at=now,
                       net_total=ZERO, tax_total=ZERO, total=ZERO)
    for line_no, line in enumerate(received, start=1):
        billed = session.get(SalesOrderLine, line.order_line_id)
        order.lines.append(SalesOrderLine(
            line_no=line_no, product_id=line.product_id, quantity=line.received_qty,
            list_price=billed.list_price, discount_percent=Decimal(100), unit_price=ZERO,
            amount=ZERO, tax_rate=billed.tax_rate, tax_amount=ZERO,
            pricing_source=f"free replacement under {ret.number}"))
    session.add(order)
    session.flush()
    return order


def replacement_process_data(session, order: SalesOrder) -> dict:
    """order_lifecycle's start data for a replacement order (as app.api.order_flow gives it)."""
    customer = session.get(Customer, order.customer_id)
    return {"order_id": order.id, "order_number": order.number, "amount": float(order.total),
            "vip": customer.type == "vip", "created_by": order.created_by or "",
            "customer_code": customer.code}


def inspection_summary(session, ret: ReturnRequest) -> dict:
    repair = session.scalar(select(RepairOrder).where(RepairOrder.return_id == ret.id))
    replacement = session.get(SalesOrder, ret.replacement_order_id) \
        if ret.replacement_order_id else None
    return {"return_number": ret.number, "outcome": ret.outcome,
            "credit_due": ret.outcome in CREDITED_OUTCOMES,
            "repair_order": repair.number if repair else None,
            "replacement_order": replacement.number if replacement else None}


# ----------------------------------------------------------------- repair

def complete_repair(session, return_id: int, repaired: bool, *, user: str | None,
                    note: str | None = None) -> dict:
    """Repaired: the goods leave for the customer (an issue row). Not repairable: written off."""
    ret = locked_return(session, return_id)
    repair = session.scalar(select(RepairOrder).where(RepairOrder.return_id == ret.id)
                            .with_for_update())
    if repair is None:
        raise Conflict(f"return {ret.number} has no repair order")
    if repair.status == "open":
        quarantine = session.get(Bin, ret.quarantine_bin_id)
        for line in _in_stock(session, [ln for ln in ret.lines if ln.received_qty > 0]):
            if repaired:
                _book(session, ret, line, quarantine, -1, kind="issue", step="repaired",
                      note=f"repaired under {repair.number}, sent back to the customer",
                      user=user)
            else:
                _write_off(session, ret, line, user, f"not repairable, {repair.number}")
        now = utcnow()
        repair.status = "repaired" if repaired else "not_repairable"
        repair.completed_by, repair.completed_at, repair.note = user, now, note or None
        repair.shipped_back_at = now if repaired else None
        session.flush()
    return {"repair_order": repair.number, "repaired": repair.status == "repaired"}


# ----------------------------------------------------------------- credit

def credit(session, return_id: int, *, user: str | None) -> dict:
    """Credit notes for the received goods (once); refused for goods the customer keeps."""
    ret = locked_return(session, return_id)
    if ret.credited_at is None:
        repair = session.scalar(select(RepairOrder).where(RepairOrder.return_id == ret.id))
        kept = ret.outcome == "replacement" or (repair is not None
                                                 and repair.status != "not_repairable")
        if ret.inspected_at is None or kept:
            raise Conflict(f"return {ret.number} is not to be credited (outcome {ret.outcome})")
        credit_notes.credit_returned_goods(
            session, ret, {ln.order_line_id: ln.received_qty for ln in ret.lines
                           if ln.received_qty > 0}, user=user)
        ret.credited_at = utcnow()
        session.flush()
    notes = credit_notes.credit_notes_of_return(session, ret.id)
    return {"credit_notes": [n.number for n in notes],
            "total": sum((n.total for n in notes), ZERO)}
