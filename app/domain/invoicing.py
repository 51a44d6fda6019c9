"""Invoices: one per shipment, billed from what was delivered, posted to the journal at once.

Rules (shared/docs/erp-rules.md): ``qty_to_invoice = delivered − invoiced`` (policy "delivered"),
one invoice per shipment (unique key), gap-free numbers per fiscal year, the receivable posted in
the same transaction (debit accounts_receivable, credit revenue and tax_payable).
"""
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select

from app.domain.errors import Conflict, NotFound
from app.domain.numbering import next_number
from app.models.finance import Invoice, InvoiceLine, JournalEntry, JournalLine
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment
from app.models.types import ZERO, utcnow

CENT = Decimal("0.01")
INVOICE_KIND = "invoice"  # the DocumentSequence row: gap-free per fiscal year
INVOICE_PREFIX = "INV"


def to_cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_shipment(session, shipment_id: int, today: date | None = None) -> dict:
    """Bill one shipment; a second call for the same shipment returns the first invoice."""
    shipment = session.scalar(select(Shipment).where(Shipment.id == shipment_id).with_for_update())
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found")
    existing = session.scalar(select(Invoice).where(Invoice.shipment_id == shipment.id))
    if existing is not None:
        return invoice_summary(existing)
    if shipment.status == "cancelled":
        raise Conflict(f"shipment {shipment.number} is cancelled and cannot be billed")

    qty_by_line: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for ship_line in shipment.lines:
        qty_by_line[ship_line.order_line_id] += ship_line.quantity
    if not any(qty > 0 for qty in qty_by_line.values()):
        raise Conflict(f"shipment {shipment.number} has nothing to bill")
    # Lock the order lines in id order: the running invoiced_qty is checked and moved here.
    order_lines = list(session.scalars(
        select(SalesOrderLine).where(SalesOrderLine.id.in_(qty_by_line))
        .order_by(SalesOrderLine.id).with_for_update()))
    _check_billable(order_lines, qty_by_line, shipment)

    currency, customer_id, terms_days = session.execute(
        select(SalesOrder.currency, SalesOrder.customer_id, Customer.payment_terms_days)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .where(SalesOrder.id == shipment.order_id)).one()
    issue_date = today or utcnow().date()
    invoice = Invoice(
        number=next_number(session, INVOICE_KIND, issue_date.year, INVOICE_PREFIX),
        kind="invoice",
        order_id=shipment.order_id, shipment_id=shipment.id, customer_id=customer_id,
        currency=currency, issue_date=issue_date,
        due_date=issue_date + timedelta(days=terms_days or 0),
        paid_amount=ZERO, status="posted", dunning_level=0)
    lines = []
    for line in order_lines:
        qty = qty_by_line[line.id]
        if qty <= 0:
            continue
        net = to_cents(qty * line.unit_price)
        tax = to_cents(net * line.tax_rate)  # per line, half-up to the cent
        lines.append({"order_line_id": line.id, "quantity": qty, "unit_price": line.unit_price,
                      "net_amount": net, "tax_rate": line.tax_rate, "tax_amount": tax})
        line.invoiced_qty = (line.invoiced_qty or ZERO) + qty
    invoice.net_total = sum((ln["net_amount"] for ln in lines), ZERO)
    invoice.tax_total = sum((ln["tax_amount"] for ln in lines), ZERO)
    invoice.total = invoice.net_total + invoice.tax_total
    session.add(invoice)
    session.flush()
    # The lines in one executemany (the ORM would insert them one by one to read back each id).
    if lines:
        session.execute(insert(InvoiceLine), [{**ln, "invoice_id": invoice.id} for ln in lines])
    post_journal(session, "invoice", invoice.id, customer_id, [
        ("accounts_receivable", invoice.total, ZERO),
        ("revenue", ZERO, invoice.net_total),
        ("tax_payable", ZERO, invoice.tax_total),
    ])
    return invoice_summary(invoice)


def _check_billable(order_lines, qty_by_line, shipment) -> None:
    if len(order_lines) != len(qty_by_line):
        raise NotFound(f"shipment {shipment.number} references unknown order lines")
    for line in order_lines:
        if line.order_id != shipment.order_id:
            raise Conflict(f"shipment {shipment.number} has a line of another order")
        to_invoice = (line.delivered_qty or ZERO) - (line.invoiced_qty or ZERO)
        if qty_by_line[line.id] > to_invoice:
            raise Conflict(
                f"order line {line.line_no}: billing {qty_by_line[line.id]} would exceed the "
                f"delivered quantity (delivered {line.delivered_qty}, "
                f"invoiced {line.invoiced_qty})",
                details=[{"field": f"lines.{line.line_no}.quantity",
                          "message": f"at most {to_invoice} can be invoiced"}])


def invoice_summary(invoice: Invoice) -> dict:
    return {"invoice_id": invoice.id, "number": invoice.number, "total": invoice.total,
            "due_date": invoice.due_date, "order_id": invoice.order_id}


def post_journal(session, doc_type: str, doc_id: int, customer_id: int | None,
                 postings: list[tuple[str, Decimal, Decimal]]) -> JournalEntry:
    """One balanced entry; zero lines are left out. Raises if debits and credits differ."""
    lines = [(acct, debit, credit) for acct, debit, credit in postings if debit or credit]
    debits = sum((d for _, d, _ in lines), ZERO)
    credits = sum((c for _, _, c in lines), ZERO)
    if debits != credits:  # a programming error, never user input: refuse to post it
        raise ValueError(f"unbalanced journal entry for {doc_type} {doc_id}: {debits} != {credits}")
    entry = JournalEntry(doc_type=doc_type, doc_id=doc_id)
    session.add(entry)
    session.flush()
    if lines:  # one executemany (an empty list would insert one row of defaults)
        session.execute(insert(JournalLine), [
            {"entry_id": entry.id, "account": account, "debit": debit, "credit": credit,
             "customer_id": customer_id} for account, debit, credit in lines])
    return entry


def open_invoices_query(customer_id: int | None = None, order_id: int | None = None):
    """Posted (unpaid) invoices, oldest due first."""
    query = select(Invoice).where(Invoice.kind == "invoice", Invoice.status == "posted")
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    if order_id is not None:
        query = query.where(Invoice.order_id == order_id)
    return query.order_by(Invoice.due_date, Invoice.issue_date, Invoice.id)


def oldest_unpaid_due_date(session, order_id: int) -> date | None:
    """Due date of the order's oldest invoice that still owes something (dunning starts there:
    after partial shipments the first invoice may be overdue before the last is issued)."""
    invoices = list(session.scalars(open_invoices_query(order_id=order_id)))
    credited = credited_amounts(session, [inv.id for inv in invoices])
    owing = [inv.due_date for inv in invoices if outstanding(inv, credited.get(inv.id, ZERO)) > 0]
    return min(owing) if owing else None


def credited_amounts(session, invoice_ids) -> dict[int, Decimal]:
    """What credit notes took off each invoice (they reference it, and reduce what was billed)."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Invoice.credited_invoice_id, func.sum(Invoice.total))
        .where(Invoice.kind == "credit_note", Invoice.status != "cancelled",
               Invoice.credited_invoice_id.in_(ids))
        .group_by(Invoice.credited_invoice_id)).all()
    return {invoice_id: abs(Decimal(total)) for invoice_id, total in rows}


def outstanding(invoice: Invoice, credited: Decimal = ZERO) -> Decimal:
    return max(ZERO, invoice.total - (invoice.paid_amount or ZERO) - credited)


def list_invoices(session, *, customer_code: str | None = None, status: str | None = None,
                  limit: int = 200) -> list[Invoice]:
    """Newest first, optionally for one customer (by code) and one status."""
    query = select(Invoice)
    if customer_code:
        query = query.join(Customer, Customer.id == Invoice.customer_id).where(
            Customer.code == customer_code)
    if status:
        query = query.where(Invoice.status == status)
    return list(session.scalars(query.order_by(Invoice.issue_date.desc(), Invoice.id.desc())
                                .limit(limit)))


def invoice_by_number(session, number: str) -> Invoice:
    invoice = session.scalar(select(Invoice).where(Invoice.number == number))
    if invoice is None:
        raise NotFound(f"invoice {number!r} not found")
    return invoice
