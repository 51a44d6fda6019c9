"""The read side of supply for the supply page: purchase orders and work orders in progress."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.models.inventory import Product
from app.models.procurement import PO_OPEN, WO_OPEN, PurchaseOrder, PurchaseOrderLine, WorkOrder


def open_purchase_orders(session, limit: int = 200) -> list[dict]:
    """Purchase requests and orders not yet received or closed, by due date."""
    pos = session.scalars(
        select(PurchaseOrder).where(PurchaseOrder.status.in_(PO_OPEN))
        .options(selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
                 selectinload(PurchaseOrder.supplier))
        .order_by(PurchaseOrder.due_date, PurchaseOrder.id).limit(limit))
    return [{"number": po.number, "supplier": po.supplier.name, "status": po.status,
             "due_date": po.due_date, "total": po.total, "currency": po.currency,
             "lines": [{"sku": ln.product.sku, "quantity": ln.quantity,
                        "received_qty": ln.received_qty} for ln in po.lines]} for po in pos]


def open_work_orders(session, limit: int = 200) -> list[dict]:
    """Work orders not yet completed, scrapped or closed, by due date."""
    rows = session.execute(
        select(WorkOrder, Product.sku, Product.name)
        .join(Product, Product.id == WorkOrder.product_id)
        .where(WorkOrder.status.in_(WO_OPEN))
        .order_by(WorkOrder.due_date, WorkOrder.id).limit(limit))
    return [{"number": wo.number, "sku": sku, "name": name, "quantity": wo.quantity,
             "status": wo.status, "due_date": wo.due_date, "rework_count": wo.rework_count}
            for wo, sku, name in rows]
