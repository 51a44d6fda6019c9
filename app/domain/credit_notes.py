"""Credit notes: a reference to the original invoice that reduces what was billed.

A credit note is an ``Invoice`` of kind "credit_note" (positive amounts, ``credited_invoice_id``
naming the invoice) with lines per credited order line. Rules (shared/docs/erp-rules.md):
- never more than billed: per invoice line, credited qty ≤ invoiced − already credited, checked
  under a lock on the original invoice so two credit notes cannot both take the last unit;
- priced as invoiced (the invoice line's unit price and tax rate); the last part of a line takes
  exactly what is left of its net and tax, so a line credited in pieces never exceeds its cents;
- gap-free numbers per year ("CN-2026-00001", app.domain.numbering);
- the journal entry reverses the invoice's in the same transaction: debit revenue and
  tax_payable, credit accounts_receivable.
Balances (app.domain.payments) and the credit check read credit notes through
``invoicing.credited_amounts``; nothing else needs to know about them.
"""
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.invoicing import post_journal, to_cents
from app.domain.numbering import next_number
from app.models.finance import Invoice, InvoiceLine
from app.models.inventory import Product
from app.models.returns import CreditNoteOrigin, ReturnRequest
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.types import ZERO, utcnow

KIND = "credit_note"  # Invoice.kind, and the DocumentSequence row
PREFIX = "CN"


def credited_by_line(session, invoice_id: int) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """{order_line_id: (quantity, net, tax)} already credited against one invoice."""
    rows = session.execute(
        select(InvoiceLine.order_line_id, func.sum(InvoiceLine.quantity),
               func.sum(InvoiceLine.net_amount), func.sum(InvoiceLine.tax_amount))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.kind == KIND, Invoice.status != "cancelled",
               Invoice.credited_invoice_id == invoice_id)
        .group_by(InvoiceLine.order_line_id))
    return {line_id: (Decimal(qty), Decimal(net), Decimal(tax)) for line_id, qty, net, tax in rows}


def _locked_invoice(session, invoice_id: int) -> Invoice:
    return session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                          .execution_options(populate_existing=True))


def _quantity(value) -> Decimal | None:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() and result > 0 else None


def create_credit_note(session, invoice_number: str, lines: list[dict], *, reason: str,
                       user: str | None = None, return_id: int | None = None,
                       today: date | None = None) -> Invoice:
    """Credit ``lines`` ([{"line_no": order line no, "quantity"}]) of one invoice.

    Raises Invalid for malformed input and Conflict (details naming each line) when a line
    would be credited beyond what the invoice billed and earlier credit notes left.
    """
    original = session.scalar(select(Invoice).where(Invoice.number == invoice_number))
    if original is None or original.kind != "invoice":
        raise NotFound(f"invoice {invoice_number!r} not found",
                       [{"field": "invoice", "message": f"no invoice {invoice_number!r}"}])
    original = _locked_invoice(session, original.id)  # one credit note at a time per invoice
    if original.status == "cancelled":
        raise Conflict(f"invoice {original.number} is cancelled")
    by_line_no = {session.get(SalesOrderLine, ln.order_line_id).line_no: ln
                  for ln in original.lines}
    wanted = _checked_lines(lines, reason, by_line_no)
    credited = credited_by_line(session, original.id)
    over = []
    for index, (line_no, qty) in enumerate(wanted):
        billed = by_line_no[line_no]
        done_qty = credited.get(billed.order_line_id, (ZERO, ZERO, ZERO))[0]
        left = billed.quantity - done_qty
        if qty > left:
            over.append({"field": f"lines[{index}].quantity",
                         "message": f"at most {left.normalize():f} can be credited on line "
                                    f"{line_no} (invoiced {billed.quantity.normalize():f}, "
                                    f"already credited {done_qty.normalize():f})"})
    if over:
        raise Conflict(f"the credit note would credit more than invoice {original.number} "
                       "billed", details=over)

    issue_date = today or utcnow().date()
    note = Invoice(number=next_number(session, KIND, issue_date.year, PREFIX), kind=KIND,
                   order_id=original.order_id, shipment_id=None,
                   credited_invoice_id=original.id, customer_id=original.customer_id,
                   currency=original.currency, issue_date=issue_date, due_date=issue_date,
                   paid_amount=ZERO, status="posted", dunning_level=0)
    for line_no, qty in wanted:
        billed = by_line_no[line_no]
        net, tax = _amounts(billed, qty, credited.get(billed.order_line_id))
        note.lines.append(InvoiceLine(order_line_id=billed.order_line_id, quantity=qty,
                                      unit_price=billed.unit_price, net_amount=net,
                                      tax_rate=billed.tax_rate, tax_amount=tax))
    note.net_total = sum((ln.net_amount for ln in note.lines), ZERO)
    note.tax_total = sum((ln.tax_amount for ln in note.lines), ZERO)
    note.total = note.net_total + note.tax_total
    session.add(note)
    session.flush()
    session.add(CreditNoteOrigin(invoice_id=note.id, return_id=return_id,
                                 reason=reason.strip()[:2000], created_by=user))
    post_journal(session, KIND, note.id, note.customer_id, [
        ("revenue", note.net_total, ZERO),
        ("tax_payable", note.tax_total, ZERO),
        ("accounts_receivable", ZERO, note.total),
    ])
    return note


def _checked_lines(lines, reason, by_line_no) -> list[tuple[int, Decimal]]:
    problems = []
    if not (reason or "").strip():
        problems.append({"field": "reason", "message": "give a reason"})
    if not lines:
        problems.append({"field": "lines", "message": "credit at least one line"})
    wanted, seen = [], set()
    for index, line in enumerate(lines or []):
        line_no, qty = line.get("line_no"), _quantity(line.get("quantity"))
        if line_no not in by_line_no:
            problems.append({"field": f"lines[{index}].line_no",
                             "message": f"the invoice has no order line {line_no}"})
        elif line_no in seen:
            problems.append({"field": f"lines[{index}].line_no", "message": "line repeated"})
        if qty is None:
            problems.append({"field": f"lines[{index}].quantity",
                             "message": "must be greater than 0"})
        seen.add(line_no)
        wanted.append((line_no, qty))
    if problems:
        raise Invalid("the credit note is not valid", details=problems)
    return wanted


def _amounts(billed: InvoiceLine, qty: Decimal, done) -> tuple[Decimal, Decimal]:
    """Net and tax for ``qty`` of the billed line; the rest of a line is exactly what is left."""
    done_qty, done_net, done_tax = done or (ZERO, ZERO, ZERO)
    left_net, left_tax = billed.net_amount - done_net, billed.tax_amount - done_tax
    if qty == billed.quantity - done_qty:
        return left_net, left_tax
    net = min(to_cents(qty * billed.unit_price), left_net)
    return net, min(to_cents(net * billed.tax_rate), left_tax)


def credit_returned_goods(session, ret: ReturnRequest, quantities: dict[int, Decimal], *,
                          user: str | None) -> list[Invoice]:
    """Credit returned quantities ({order_line_id: qty}) on the invoices that billed them.

    Oldest invoice first; only what is billed and not yet credited is credited (goods returned
    before they were invoiced have nothing to credit). One credit note per invoice.
    """
    plan: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for order_line_id, qty in sorted(quantities.items()):
        line_no = session.get(SalesOrderLine, order_line_id).line_no
        billed_rows = session.execute(
            select(Invoice.id, InvoiceLine.quantity)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.order_line_id == order_line_id, Invoice.kind == "invoice",
                   Invoice.status != "cancelled").order_by(Invoice.id)).all()
        for invoice_id, billed_qty in billed_rows:
            if qty <= 0:
                break
            done = credited_by_line(session, invoice_id).get(order_line_id, (ZERO,))[0]
            take = min(qty, billed_qty - done)
            if take > 0:
                plan[invoice_id].append((line_no, take))
                qty -= take
    notes = []
    for invoice_id in sorted(plan):
        number = session.get(Invoice, invoice_id).number
        notes.append(create_credit_note(
            session, number, [{"line_no": n, "quantity": q} for n, q in plan[invoice_id]],
            reason=f"goods returned under {ret.number}: {ret.reason}", user=user,
            return_id=ret.id))
    return notes


# ----------------------------------------------------------------- read side

def get_credit_note(session, number: str) -> Invoice:
    note = session.scalar(select(Invoice).where(Invoice.number == number, Invoice.kind == KIND))
    if note is None:
        raise NotFound(f"credit note {number!r} not found")
    return note


def credit_note_view(session, note: Invoice) -> dict:
    original = session.get(Invoice, note.credited_invoice_id)
    origin = session.get(CreditNoteOrigin, note.id)
    ret = session.get(ReturnRequest, origin.return_id) if origin and origin.return_id else None
    lines = []
    for ln in sorted(note.lines, key=lambda x: x.id):
        order_line = session.get(SalesOrderLine, ln.order_line_id)
        lines.append({"line_no": order_line.line_no,
                      "sku": session.get(Product, order_line.product_id).sku,
                      "quantity": ln.quantity, "unit_price": ln.unit_price,
                      "net_amount": ln.net_amount, "tax_rate": ln.tax_rate,
                      "tax_amount": ln.tax_amount})
    return {"number": note.number, "invoice": original.number if original else None,
            "order": session.get(SalesOrder, note.order_id).number,
            "customer": session.get(Customer, note.customer_id).code,
            "currency": note.currency, "issue_date": note.issue_date, "status": note.status,
            "net_total": note.net_total, "tax_total": note.tax_total, "total": note.total,
            "reason": origin.reason if origin else None,
            "return_number": ret.number if ret else None,
            "created_by": origin.created_by if origin else None, "lines": lines}


def credit_notes_of_return(session, return_id: int) -> list[Invoice]:
    return list(session.scalars(
        select(Invoice).join(CreditNoteOrigin, CreditNoteOrigin.invoice_id == Invoice.id)
        .where(CreditNoteOrigin.return_id == return_id).order_by(Invoice.id)))
