"""Operators of procurement.bpmn: approval facts, the order to the supplier, goods receipts
(from the receiving task or booked through the stock API), the supplier chase, and telling the
demand pegged to the purchase order."""
from datetime import date

from app.domain import purchasing
from app.engine.operators import UnitContext, operator
from service_tasks.supply import tell_pegged_demand


@operator("purchasing.approval_request")
def approval_request(ctx: UnitContext, purchase_order_id):
    """The approval call activity's inputs: order_id, order_number, amount, vip, created_by."""
    po = purchasing.get_purchase_order(ctx.session, int(purchase_order_id))
    target = po.receive_bin
    return {**purchasing.approval_request(po), "supplier": po.supplier.name,
            "due_date": po.due_date.isoformat(), "currency": po.currency,
            "receive_at": {"warehouse": target.warehouse.code, "bin": target.code},
            "lines": [{"line_no": ln.line_no, "sku": ln.product.sku, "name": ln.product.name,
                       "quantity": str(ln.quantity),
                       "open_qty": float(ln.quantity - ln.received_qty),
                       "unit_price": str(ln.unit_price), "amount": str(ln.amount)}
                      for ln in po.lines]}


@operator("purchasing.record_approval")
def record_approval(ctx: UnitContext, purchase_order_id, approved_by):
    po = purchasing.record_approval(ctx.session, int(purchase_order_id), approved_by)
    return {"status": po.status, "approved_by": po.approved_by}


@operator("purchasing.reject")
def reject(ctx: UnitContext, purchase_order_id, reason=None):
    po = purchasing.reject(ctx.session, int(purchase_order_id), reason or "rejected")
    return {"status": po.status, "reason": po.closed_reason}


@operator("purchasing.issue")
def issue(ctx: UnitContext, purchase_order_id):
    """Send the approved PO to the supplier: {number, status, due_date, chase_at, outbox_id}."""
    return purchasing.issue(ctx.session, int(purchase_order_id))


@operator("purchasing.receive")
def receive(ctx: UnitContext, purchase_order_id, reference, lines, warehouse=None, bin=None,
            user=None):
    """Book what the receiving task confirmed (batch/serial per line) into the stock ledger."""
    return purchasing.receive(ctx.session, int(purchase_order_id), reference=str(reference),
                              lines=list(lines or []), warehouse=warehouse or None,
                              bin=bin or None, user=user or ctx.actor, source="task")


@operator("purchasing.record_receipt")
def record_receipt(ctx: UnitContext, purchase_order_id, receipt_id):
    """A receipt the stock API booked already (the goods_received message names it)."""
    return purchasing.get_receipt(ctx.session, int(purchase_order_id), int(receipt_id))


@operator("purchasing.notify_receipt")
def notify_receipt(ctx: UnitContext, purchase_order_id, receipt_number):
    """Tell the sales orders and work orders pegged to this PO that goods arrived."""
    po = purchasing.get_purchase_order(ctx.session, int(purchase_order_id))
    targets = tell_pegged_demand(ctx, po.planned_order_id, str(receipt_number),
                                 {"purchase_order": po.number, "receipt": str(receipt_number)})
    return targets


@operator("purchasing.record_chase")
def record_chase(ctx: UnitContext, purchase_order_id, note, promised_date=None, user=None):
    promised = date.fromisoformat(promised_date) if promised_date else None
    po = purchasing.record_chase(ctx.session, int(purchase_order_id), note=str(note),
                                 promised_date=promised, user=user or ctx.actor)
    return {"chased": len(po.chased or [])}
