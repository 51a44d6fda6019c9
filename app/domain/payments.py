"""Incoming payments matched to invoices, the receivable balances, and dunning.

Matching (shared/docs/erp-rules.md): by reference first (an invoice number, or an order number
meaning that order's open invoices), else the customer's invoice with exactly the paid amount
outstanding, else the customer's open invoices oldest first. A matched reference is what the payer
meant, so its leftover is not spread over other invoices. Allocations never exceed an invoice's
outstanding amount; whatever is left stays unallocated on the payment.
"""
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from app.domain.errors import Invalid, NotFound
from app.domain.invoicing import (
    credited_amounts,
    open_invoices_query,
    outstanding,
    post_journal,
    to_cents,
)
from app.domain.notifications import notify
from app.domain.outbox import enqueue_email
from app.models.finance import Invoice, Payment, PaymentAllocation
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.types import ZERO, utcnow

DUNNING_EMAIL_LEVELS = (1, 2)


def record_payment(session, *, external_id: str, amount, currency: str,
                   reference: str | None = None, customer_code: str | None = None,
                   received_at: datetime | None = None) -> dict:
    """Record and allocate a payment once per ``external_id`` (a replay changes nothing).

    ``created`` in the result says whether this call recorded it (False on a replay).
    """
    existing = session.scalar(select(Payment).where(Payment.external_id == external_id))
    if existing is not None:
        return {**payment_result(session, existing), "created": False}
    amount = _valid_payment(external_id, amount, currency)
    currency = currency.upper()
    customer = None
    if customer_code:
        customer = session.scalar(select(Customer).where(Customer.code == customer_code))
        if customer is None:
            raise Invalid("unknown customer", details=[
                {"field": "customer", "message": f"no customer with code {customer_code!r}"}])

    by_reference, ref_customer_id = _referenced_invoice_ids(session, reference, customer)
    customer_id = customer.id if customer else ref_customer_id
    payment = Payment(external_id=external_id, customer_id=customer_id, reference=reference,
                      amount=amount, currency=currency, unallocated=amount,
                      received_at=received_at or utcnow())
    session.add(payment)
    session.flush()

    candidates = _locked_candidates(session, by_reference, customer_id, currency)
    credited = credited_amounts(session, [inv.id for inv in candidates])
    open_amount = {inv.id: outstanding(inv, credited.get(inv.id, ZERO)) for inv in candidates}
    ranked = sorted((inv for inv in candidates if open_amount[inv.id] > 0), key=_oldest_first)
    if by_reference is None:
        exact = [inv for inv in ranked if open_amount[inv.id] == amount]
        ranked = exact[:1] or ranked

    left = amount
    for invoice in ranked:
        if left <= 0:
            break
        share = min(left, open_amount[invoice.id])
        session.add(PaymentAllocation(payment_id=payment.id, invoice_id=invoice.id, amount=share))
        invoice.paid_amount = (invoice.paid_amount or ZERO) + share
        if share == open_amount[invoice.id]:
            invoice.status = "paid"
        left -= share
    payment.unallocated = left
    allocated = amount - left
    session.flush()
    if allocated > 0:
        post_journal(session, "payment", payment.id, customer_id, [
            ("cash", allocated, ZERO), ("accounts_receivable", ZERO, allocated)])
    return {**payment_result(session, payment), "created": True}


def _valid_payment(external_id, amount, currency) -> Decimal:
    problems = []
    if not external_id or len(str(external_id)) > 100:
        problems.append({"field": "external_id", "message": "1 to 100 characters"})
    try:
        value = Decimal(str(amount))
        if not value.is_finite() or value <= 0 or value != to_cents(value):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        value = None
        problems.append({"field": "amount", "message": "a positive amount in whole cents"})
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        problems.append({"field": "currency", "message": "a 3-letter currency code"})
    if problems:
        raise Invalid("the payment is invalid", details=problems)
    return value


def _referenced_invoice_ids(session, reference, customer):
    """Invoice ids the reference names (None when it names nothing), and their customer."""
    if not reference:
        return None, None
    ref = reference.strip()
    invoice = session.scalar(select(Invoice).where(Invoice.number == ref,
                                                   Invoice.kind == "invoice"))
    if invoice is not None:
        ids, customer_id = [invoice.id], invoice.customer_id
    else:
        order = session.scalar(select(SalesOrder).where(SalesOrder.number == ref))
        if order is None:
            return None, None
        ids = list(session.scalars(select(Invoice.id).where(Invoice.order_id == order.id,
                                                            Invoice.kind == "invoice")))
        customer_id = order.customer_id
    if customer is not None and customer.id != customer_id:
        return None, None  # another customer's document: not what this payer meant
    return ids, customer_id


def _locked_candidates(session, invoice_ids, customer_id, currency) -> list[Invoice]:
    """The invoices this payment may settle, locked in id order (two payments never overpay)."""
    if invoice_ids is None and customer_id is None:
        return []
    query = open_invoices_query(customer_id=None if invoice_ids is not None else customer_id)
    if invoice_ids is not None:
        query = query.where(Invoice.id.in_(invoice_ids))
    query = query.where(Invoice.currency == currency).order_by(None).order_by(Invoice.id)
    return list(session.scalars(query.with_for_update()))


def _oldest_first(invoice: Invoice):
    return (invoice.due_date, invoice.issue_date, invoice.id)


def payment_result(session, payment: Payment) -> dict:
    rows = session.execute(
        select(Invoice.number, Invoice.order_id, PaymentAllocation.amount)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment.id).order_by(PaymentAllocation.id)).all()
    order_ids = sorted({order_id for _, order_id, _ in rows})
    return {
        "payment_id": payment.id,
        "allocations": [{"invoice_number": number, "amount": amount} for number, _, amount in rows],
        "unallocated": payment.unallocated,
        "order_ids_fully_paid": [oid for oid in order_ids
                                 if order_balance(session, oid)["fully_paid"]],
    }


def order_balance(session, order_id: int) -> dict:
    """Billed, paid and outstanding for an order; fully paid once nothing is left to bill or pay."""
    if session.get(SalesOrder, order_id) is None:
        raise NotFound(f"order {order_id} not found")
    invoices = list(session.scalars(select(Invoice).where(
        Invoice.order_id == order_id, Invoice.kind == "invoice", Invoice.status != "cancelled")))
    credited = credited_amounts(session, [inv.id for inv in invoices])
    invoiced = sum((inv.total for inv in invoices), ZERO)
    paid = sum((inv.paid_amount or ZERO for inv in invoices), ZERO)
    open_amount = sum((outstanding(inv, credited.get(inv.id, ZERO)) for inv in invoices), ZERO)
    unbilled = session.scalar(select(func.count()).select_from(SalesOrderLine).where(
        SalesOrderLine.order_id == order_id,
        SalesOrderLine.delivered_qty > SalesOrderLine.invoiced_qty))
    return {"invoiced": invoiced, "credited": sum(credited.values(), ZERO), "paid": paid,
            "outstanding": open_amount,
            "fully_paid": bool(invoices) and open_amount == 0 and unbilled == 0}


def customer_exposure_parts(session, customer_id: int) -> dict:
    """Open receivables = posted invoices − payments − credit notes (may go below zero)."""
    def total(kind):
        return session.scalar(select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.customer_id == customer_id, Invoice.kind == kind,
            Invoice.status != "cancelled"))
    payments = session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))
                              .where(Payment.customer_id == customer_id))
    invoiced, credit_notes = Decimal(total("invoice")), abs(Decimal(total("credit_note")))
    return {"invoiced": invoiced, "payments": Decimal(payments), "credit_notes": credit_notes,
            "open_receivables": invoiced - Decimal(payments) - credit_notes}


def order_invoices(session, order_id: int) -> list[dict]:
    invoices = list(session.scalars(select(Invoice).where(Invoice.order_id == order_id)
                                    .order_by(Invoice.issue_date, Invoice.id)))
    credited = credited_amounts(session, [inv.id for inv in invoices])
    return [{"number": inv.number, "kind": inv.kind, "issue_date": inv.issue_date,
             "due_date": inv.due_date, "total": inv.total, "paid_amount": inv.paid_amount,
             "outstanding": outstanding(inv, credited.get(inv.id, ZERO))
             if inv.kind == "invoice" else ZERO,
             "status": inv.status, "dunning_level": inv.dunning_level} for inv in invoices]


def order_payments(session, order_id: int) -> list[dict]:
    """Each allocation of a payment to one of the order's invoices."""
    rows = session.execute(
        select(Payment, Invoice.number, PaymentAllocation.amount)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(Invoice.order_id == order_id)
        .order_by(Payment.received_at, PaymentAllocation.id)).all()
    return [{"external_id": p.external_id, "received_at": p.received_at, "reference": p.reference,
             "currency": p.currency, "invoice_number": number, "amount": amount}
            for p, number, amount in rows]


def dunning_step(session, order_id: int, level: int, today: date | None = None) -> dict:
    """Raise the dunning level of the order's overdue unpaid invoices and notify, once per level.

    Levels 1 and 2 e-mail the customer (outbox key "dunning:<invoice>:<level>"); every level
    tells group "finance" in-app. ``outstanding`` is what the dunned invoices still owe.
    """
    if not isinstance(level, int) or isinstance(level, bool) or level < 1:
        raise Invalid("invalid dunning level",
                      details=[{"field": "level", "message": "a whole number from 1"}])
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    today = today or utcnow().date()
    invoices = [inv for inv in session.scalars(
        open_invoices_query(order_id=order_id).where(Invoice.due_date < today)
        .order_by(None).order_by(Invoice.id).with_for_update())]
    credited = credited_amounts(session, [inv.id for inv in invoices])
    dunned, owed = [], ZERO
    for invoice in invoices:
        due = outstanding(invoice, credited.get(invoice.id, ZERO))
        if due <= 0:
            continue
        invoice.dunning_level = max(invoice.dunning_level or 0, level)
        dunned.append(invoice.number)
        owed += due
        _dunning_notices(session, order, invoice, level, due)
    session.flush()
    return {"level": level, "invoices": dunned, "outstanding": owed}


def _dunning_notices(session, order, invoice, level, due) -> None:
    key = f"dunning:{invoice.number}:{level}"
    subject = f"Payment reminder {level}: invoice {invoice.number} is overdue"
    body = (f"Invoice {invoice.number} for order {order.number}, due {invoice.due_date}, "
            f"still has {due} {invoice.currency} outstanding.")
    customer = order.customer
    if level in DUNNING_EMAIL_LEVELS and customer.email:
        enqueue_email(session, key=key, to=[customer.email], subject=subject,
                      body=f"Dear {customer.name},\n\n{body}\nPlease pay at your earliest "
                           "convenience.")
    notify(session, key=key, subject=subject, group="finance", body=body,
           link=f"/orders/{order.number}")
