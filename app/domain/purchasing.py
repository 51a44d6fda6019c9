"""Purchasing: purchase requests and orders, their approval facts, the order sent to the supplier
(an e-mail through the outbox), goods receipts with batch/serial into the stock ledger, and the
supplier chase.

A purchase request is a PurchaseOrder in status `requested`; approval turns it into an order
(`approved`), sending it to the supplier into `ordered`. Receipts are keyed by (PO, reference):
a replayed receipt returns the first one and books nothing twice.
"""
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.domain import stock_ledger
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.master_data import page_of
from app.domain.numbering import next_number
from app.domain.outbox import enqueue_email
from app.models.inventory import (
    Bin,
    Product,
    StockLedger,
    StockLevel,
    Supplier,
    Warehouse,
    in_sellable_bin,
)
from app.models.manufacturing import PlannedOrder
from app.models.procurement import (
    PO_OPEN,
    PO_STATUSES,
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    SupplierPrice,
)
from app.models.types import ZERO, utcnow

CENT = Decimal("0.01")
QTY = Decimal("0.001")
# A PO is late the morning after its due date: the chase timer fires then.
CHASE_TIME = time(9, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------- look-ups

def get_purchase_order(session, po_id: int, *, lock: bool = False) -> PurchaseOrder:
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == int(po_id))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    po = session.scalar(stmt)
    if po is None:
        raise NotFound(f"purchase order {po_id} not found")
    return po


def by_number(session, number: str) -> PurchaseOrder:
    po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))
    if po is None:
        raise NotFound(f"purchase order {number} not found",
                       [{"field": "purchase_order", "message": f"unknown purchase order {number}"}])
    return po


def list_purchase_orders(session, *, status: str | None = None, supplier: str | None = None,
                         page: int = 1, per_page: int = 50) -> dict:
    if status is not None and status not in PO_STATUSES:
        raise Invalid("invalid filter", [{"field": "status", "message": "unknown status"}])
    stmt = select(PurchaseOrder).options(selectinload(PurchaseOrder.lines))
    if status is not None:
        stmt = stmt.where(PurchaseOrder.status == status)
    if supplier is not None:
        stmt = stmt.join(Supplier, Supplier.id == PurchaseOrder.supplier_id).where(
            Supplier.code == supplier)
    return page_of(session, stmt.order_by(PurchaseOrder.due_date), PurchaseOrder.id, page,
                   per_page)


def default_bin(session, product_id: int) -> Bin:
    """Where goods of a product go: the bin holding most of it, else the first bin of the first
    active warehouse (the main one in the demo company)."""
    bin_id = session.scalar(
        select(StockLevel.bin_id).where(StockLevel.product_id == product_id,
                                        StockLevel.on_hand > 0, in_sellable_bin())
        .order_by(StockLevel.on_hand.desc(), StockLevel.bin_id).limit(1))
    if bin_id is None:
        bin_id = session.scalar(
            select(Bin.id).join(Warehouse, Warehouse.id == Bin.warehouse_id)
            .where(Warehouse.active.is_(True), Bin.sellable.is_(True))
            .order_by(Warehouse.id, Bin.code).limit(1))
    if bin_id is None:
        raise Invalid("no warehouse bin to receive into",
                      [{"field": "warehouse", "message": "create a warehouse with a bin"}])
    return session.get(Bin, bin_id)


def supplier_price(session, supplier_id: int, product_id: int, quantity: Decimal) -> Decimal:
    """The supplier's price for the quantity (highest break at or below it); else the last price
    paid to that supplier; a product never priced is refused (the approval needs an amount)."""
    price = session.scalar(
        select(SupplierPrice.unit_price)
        .where(SupplierPrice.supplier_id == supplier_id, SupplierPrice.product_id == product_id,
               SupplierPrice.min_qty <= quantity)
        .order_by(SupplierPrice.min_qty.desc()).limit(1))
    if price is None:
        price = session.scalar(
            select(PurchaseOrderLine.unit_price)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrder.supplier_id == supplier_id,
                   PurchaseOrderLine.product_id == product_id)
            .order_by(PurchaseOrderLine.id.desc()).limit(1))
    if price is None:
        sku = session.get(Product, product_id).sku
        raise Invalid(f"no purchase price for {sku}",
                      [{"field": "sku", "message": f"{sku} has no supplier price"}])
    return Decimal(price)


def order_quantity(supplier: Supplier, needed: Decimal) -> Decimal:
    """What to order for `needed`: at least the supplier's MOQ, in whole packs."""
    qty = max(Decimal(needed), supplier.min_order_qty or ZERO)
    pack = supplier.pack_size or ZERO
    if pack > 0:
        qty = (qty / pack).to_integral_value(rounding=ROUND_CEILING) * pack
    return qty.quantize(QTY)


# ---------------------------------------------------------------- the request

def create_purchase_order(session, *, supplier_id: int, product_id: int, quantity: Decimal,
                          due_date: date, planned_order_id: int | None = None,
                          requested_by: str | None = None) -> PurchaseOrder:
    """A purchase request (status `requested`) for one product, priced from the supplier."""
    supplier = session.get(Supplier, supplier_id) if supplier_id else None
    if supplier is None or not supplier.active:
        sku = session.get(Product, product_id).sku
        raise Invalid(f"{sku} has no active supplier",
                      [{"field": "supplier", "message": f"no active supplier for {sku}"}])
    product = session.get(Product, product_id)
    quantity = Decimal(quantity).quantize(QTY)
    unit_price = supplier_price(session, supplier.id, product.id, quantity)
    amount = (quantity * unit_price).quantize(CENT, ROUND_HALF_UP)
    tax = (amount * (product.tax_rate or ZERO)).quantize(CENT, ROUND_HALF_UP)
    po = PurchaseOrder(
        number=next_number(session, "purchase_order", utcnow().year, "PO"),
        supplier_id=supplier.id, planned_order_id=planned_order_id, status="requested",
        net_total=amount, tax_total=tax, total=amount + tax, due_date=due_date,
        receive_bin_id=default_bin(session, product.id).id, requested_by=requested_by,
        lines=[PurchaseOrderLine(line_no=1, product_id=product.id, quantity=quantity,
                                 unit_price=unit_price, amount=amount,
                                 tax_rate=product.tax_rate or ZERO, received_qty=ZERO)])
    session.add(po)
    session.flush()
    return po


def approval_request(po: PurchaseOrder) -> dict:
    """What the approval call activity needs (the same inputs as a sales order's approval)."""
    return {"order_id": po.id, "order_number": po.number, "amount": float(po.total),
            "vip": False, "created_by": po.requested_by or "system"}


def record_approval(session, po_id: int, approved_by: str) -> PurchaseOrder:
    po = get_purchase_order(session, po_id, lock=True)
    if po.status == "requested":
        po.status, po.approved_by, po.approved_at = "approved", approved_by, utcnow()
    elif po.status in ("rejected", "cancelled"):
        raise Conflict(f"purchase order {po.number} is {po.status}")
    session.flush()
    return po


def reject(session, po_id: int, reason: str) -> PurchaseOrder:
    """Rejected requests close their planned order, so MRP plans the need again."""
    po = get_purchase_order(session, po_id, lock=True)
    if po.status in ("requested", "approved"):
        po.status, po.closed_reason = "rejected", (reason or "rejected")[:2000]
        _close_planned(session, po.planned_order_id)
    elif po.status != "rejected":
        raise Conflict(f"purchase order {po.number} is {po.status}")
    session.flush()
    return po


def _close_planned(session, planned_order_id: int | None) -> None:
    if planned_order_id is not None:
        planned = session.get(PlannedOrder, planned_order_id)
        if planned is not None:
            planned.status = "closed"


def chase_at(po: PurchaseOrder) -> str:
    """When the PO counts as late: the morning after its due date (ISO, for the timer)."""
    return datetime.combine(po.due_date + timedelta(days=1), CHASE_TIME).isoformat()


def document_text(po: PurchaseOrder) -> str:
    lines = "\n".join(
        f"{ln.line_no:>3}  {ln.product.sku:<16} {ln.quantity:>12} {ln.product.unit:<6}"
        f" x {ln.unit_price:>12} = {ln.amount:>12}" for ln in po.lines)
    return (f"Purchase order {po.number}\n\nTo: {po.supplier.name}\n"
            f"Deliver by: {po.due_date.isoformat()}\n\n{lines}\n\n"
            f"Net {po.net_total} + tax {po.tax_total} = total {po.total} {po.currency}\n"
            f"Please quote {po.number} on the delivery note.")


def issue(session, po_id: int) -> dict:
    """Send the approved order to the supplier (once: the e-mail's outbox key is the PO)."""
    po = get_purchase_order(session, po_id, lock=True)
    if po.status == "approved":
        po.status, po.ordered_at = "ordered", utcnow()
    elif po.status not in ("ordered", "partially_received", "received"):
        raise Conflict(f"purchase order {po.number} is {po.status}; only approved orders go out")
    mail = enqueue_email(session, key=f"purchase_order:{po.number}",
                         to=[po.supplier.email] if po.supplier.email else [],
                         subject=f"Purchase order {po.number}", body=document_text(po))
    session.flush()
    return {"purchase_order_id": po.id, "number": po.number, "status": po.status,
            "due_date": po.due_date.isoformat(), "chase_at": chase_at(po), "outbox_id": mail.id}


def record_chase(session, po_id: int, *, note: str, promised_date: date | None,
                 user: str | None) -> PurchaseOrder:
    po = get_purchase_order(session, po_id, lock=True)
    entry = {"at": utcnow().isoformat(), "by": user, "note": (note or "")[:2000],
             "promised_date": promised_date.isoformat() if promised_date else None}
    po.chased = [*(po.chased or []), entry]
    session.flush()
    return po


# ---------------------------------------------------------------- receipts

def _receipt_result(session, receipt: GoodsReceipt, replayed: bool) -> dict:
    po = receipt.purchase_order
    ledger_ids = list(session.scalars(
        select(StockLedger.id).where(StockLedger.doc_type == "goods_receipt",
                                     StockLedger.doc_id.like(f"{receipt.number}/%"))
        .order_by(StockLedger.id)))
    levels = []
    for ln in receipt.lines:
        level = session.scalar(select(StockLevel).where(StockLevel.product_id == ln.product_id,
                                                        StockLevel.bin_id == ln.bin_id))
        levels.append({"warehouse": ln.bin.warehouse.code, "bin": ln.bin.code,
                       "on_hand": level.on_hand, "reserved": level.reserved,
                       "available": level.on_hand - level.reserved})
    return {"receipt_id": receipt.id, "number": receipt.number, "purchase_order": po.number,
            "purchase_order_id": po.id, "reference": receipt.reference, "replayed": replayed,
            "fully_received": po.status == "received", "status": po.status,
            "ledger_ids": ledger_ids, "levels": levels,
            "lines": [{"sku": ln.product.sku, "quantity": str(ln.quantity), "batch": ln.batch,
                       "serials": ln.serials or [], "bin": ln.bin.code,
                       "warehouse": ln.bin.warehouse.code} for ln in receipt.lines]}


def _po_line_for(po: PurchaseOrder, line: dict, index: int) -> PurchaseOrderLine:
    if line.get("line_no") is not None:
        found = next((ln for ln in po.lines if ln.line_no == int(line["line_no"])), None)
    else:
        found = next((ln for ln in po.lines if ln.product.sku == line.get("sku")), None)
    if found is None:
        which = line.get("sku") or line.get("line_no")
        raise Invalid(f"no such line on {po.number}",
                      [{"field": f"lines[{index}]", "message": f"{which} is not on {po.number}"}])
    return found


def receive(session, po_id: int, *, reference: str, lines: list[dict], warehouse: str | None = None,
            bin: str | None = None, user: str | None = None, source: str = "task") -> dict:
    """Book goods received against the PO: one GoodsReceipt, stock-ledger rows with batch/serial.

    lines: [{line_no | sku, quantity, batch?, serials?, expiry?}]; warehouse/bin default to the
    PO's receiving bin. More than still open on a line is refused. The same `reference` again
    returns the first receipt (replayed) and books nothing.
    """
    po = get_purchase_order(session, po_id, lock=True)
    reference = (reference or "").strip()
    if not reference:
        raise Invalid("a receipt needs a reference",
                      [{"field": "reference", "message": "give the delivery note number"}])
    existing = session.scalar(select(GoodsReceipt).where(
        GoodsReceipt.purchase_order_id == po.id, GoodsReceipt.reference == reference))
    if existing is not None:
        return _receipt_result(session, existing, True)
    if po.status not in ("ordered", "partially_received"):
        raise Conflict(f"purchase order {po.number} is {po.status}; goods can be received only "
                       "against an ordered PO")
    if not lines:
        raise Invalid("nothing received", [{"field": "lines", "message": "give a line"}])
    if warehouse is None or bin is None:
        target = po.receive_bin or default_bin(session, po.lines[0].product_id)
        warehouse, bin = target.warehouse.code, target.code
    problems, todo = [], []
    for i, line in enumerate(lines):
        po_line = _po_line_for(po, line, i)
        qty = Decimal(str(line.get("quantity") or 0))
        still_open = po_line.quantity - po_line.received_qty
        if qty <= 0:
            problems.append({"field": f"lines[{i}].quantity", "message": "must be above 0"})
        elif qty > still_open:
            problems.append({"field": f"lines[{i}].quantity",
                             "message": f"only {still_open} still open on line {po_line.line_no}"})
        todo.append((po_line, qty, line))
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)

    # A line the ledger refuses (tracking) must leave no half-booked receipt behind.
    with session.begin_nested():
        receipt = GoodsReceipt(number=next_number(session, "goods_receipt", utcnow().year, "GR"),
                               purchase_order_id=po.id, reference=reference, received_by=user,
                               source=source)
        session.add(receipt)
        for po_line, qty, line in todo:
            expiry = line.get("expiry")
            if isinstance(expiry, str) and expiry:
                expiry = date.fromisoformat(expiry)
            movement = stock_ledger.receive(
                session, sku=po_line.product.sku, warehouse=warehouse, bin=bin, quantity=qty,
                batch=line.get("batch") or None, serials=line.get("serials") or None,
                expiry=expiry or None, doc_type="goods_receipt",
                doc_id=f"{receipt.number}/{po_line.line_no}", user=user)
            receipt.lines.append(GoodsReceiptLine(
                po_line_id=po_line.id, product_id=po_line.product_id, bin_id=movement.bin.id,
                quantity=qty, batch=line.get("batch") or None, serials=line.get("serials") or None,
                expiry=expiry or None))
            po_line.received_qty = po_line.received_qty + qty
    now = utcnow()
    if all(ln.received_qty >= ln.quantity for ln in po.lines):
        po.status, po.received_at = "received", now
        _close_planned(session, po.planned_order_id)
    else:
        po.status = "partially_received"
    session.flush()
    return _receipt_result(session, receipt, False)


def receive_by_number(session, number: str, **receipt) -> dict:
    return receive(session, by_number(session, number).id, **receipt)


def get_receipt(session, po_id: int, receipt_id: int) -> dict:
    """A receipt booked earlier (e.g. through the stock API) as the process records it."""
    receipt = session.get(GoodsReceipt, int(receipt_id))
    if receipt is None or receipt.purchase_order_id != int(po_id):
        raise NotFound(f"goods receipt {receipt_id} of purchase order {po_id} not found")
    return _receipt_result(session, receipt, True)


def open_quantity(session, product_id: int) -> Decimal:
    """What open POs still bring of a product (ordered − received)."""
    return Decimal(session.scalar(
        select(func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.received_qty))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrderLine.product_id == product_id, PurchaseOrder.status.in_(PO_OPEN)))
        or ZERO)
