"""Credit check: exposure = open receivables + unbilled open orders + this order, vs the limit.

A customer with invoices overdue by more than OVERDUE_HOLD_DAYS is held whatever the figures;
``credit_bypass`` skips the check. The figures used are recorded on the order.
"""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.domain import payments
from app.domain.invoicing import credited_amounts, outstanding
from app.domain.orders import get_order
from app.models.finance import Invoice
from app.models.sales import SalesOrder, SalesOrderLine
from app.models.types import ZERO, utcnow

OVERDUE_HOLD_DAYS = 30


def open_receivables(session, customer_id: int) -> Decimal:
    """Posted invoices − payments − credit notes (one definition, in app.domain.payments)."""
    return payments.customer_exposure_parts(session, customer_id)["open_receivables"]


def unbilled_open_orders(session, customer_id: int, except_order_id: int | None) -> Decimal:
    """Gross value not yet invoiced of the customer's orders that are still open."""
    query = (select(SalesOrderLine.quantity, SalesOrderLine.invoiced_qty,
                    SalesOrderLine.unit_price, SalesOrderLine.tax_rate)
             .join(SalesOrder).where(SalesOrder.customer_id == customer_id,
                                     SalesOrder.cancelled_at.is_(None),
                                     SalesOrder.rejected_at.is_(None),
                                     SalesOrder.closed_at.is_(None)))
    if except_order_id is not None:
        query = query.where(SalesOrder.id != except_order_id)
    total = ZERO
    for quantity, invoiced, unit_price, tax_rate in session.execute(query):
        open_qty = max(ZERO, quantity - invoiced)
        total += open_qty * unit_price * (1 + tax_rate)
    return total.quantize(Decimal("0.01"))


def overdue_invoices(session, customer_id: int, days: int) -> list[str]:
    """Unpaid invoices past due by ``days``; one that credit notes settled is not overdue."""
    cutoff = utcnow().date() - timedelta(days=days)
    invoices = list(session.scalars(select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.kind == "invoice",
        Invoice.status == "posted", Invoice.due_date < cutoff).order_by(Invoice.due_date)))
    credited = credited_amounts(session, [inv.id for inv in invoices])
    return [inv.number for inv in invoices if outstanding(inv, credited.get(inv.id, ZERO)) > 0]


def check_credit(session, order_id: int, overdue_days: int = OVERDUE_HOLD_DAYS) -> dict:
    order = get_order(session, order_id)
    customer = order.customer
    receivables = open_receivables(session, customer.id)
    unbilled = unbilled_open_orders(session, customer.id, order.id)
    exposure = receivables + unbilled + order.total
    overdue = overdue_invoices(session, customer.id, overdue_days)
    if customer.credit_bypass:
        hold, reason = False, "credit check bypassed for this customer"
    elif overdue:
        hold, reason = True, f"overdue invoices more than {overdue_days} days: {', '.join(overdue)}"
    elif exposure > customer.credit_limit:
        hold, reason = True, f"exposure {exposure} exceeds the credit limit {customer.credit_limit}"
    else:
        hold, reason = False, "within the credit limit"
    figures = {"open_receivables": str(receivables), "unbilled_open_orders": str(unbilled),
               "this_order": str(order.total), "exposure": str(exposure),
               "limit": str(customer.credit_limit), "overdue_invoices": overdue,
               "bypass": customer.credit_bypass, "hold": hold, "reason": reason,
               "checked_at": utcnow().isoformat()}
    order.credit_checked = figures
    return figures
