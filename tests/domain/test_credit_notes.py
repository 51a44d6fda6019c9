"""Credit notes: never more than billed, exact cents, gap-free numbers, reversing journal, and the
balances and credit figures that read them."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain import credit, credit_notes, payments
from app.domain.errors import Conflict, Invalid, NotFound
from app.models.finance import Invoice, JournalEntry
from app.models.sales import SalesOrder


@pytest.fixture
def billed(o2c):
    """A delivered and invoiced order of 5 reams of paper (26.80 each + 13 % VAT)."""
    number = o2c.deliver("C-1001", [("CON-PAPER-A4", 5)])
    order = o2c.order_row(number)
    invoice = o2c.session.scalar(select(Invoice).where(Invoice.order_id == order.id))
    assert (invoice.net_total, invoice.tax_total) == (Decimal("134.00"), Decimal("17.42"))
    return order, invoice


def credit_one(session, invoice, qty="1", reason="damaged in transit"):
    note = credit_notes.create_credit_note(session, invoice.number,
                                           [{"line_no": 1, "quantity": qty}], reason=reason,
                                           user="fran", today=date(2026, 3, 10))
    session.flush()
    return note


def test_a_line_credited_piece_by_piece_adds_up_to_exactly_what_was_billed(session, billed):
    _, invoice = billed
    notes = [credit_one(session, invoice) for _ in range(5)]
    assert [n.number for n in notes] == [f"CN-2026-0000{i}" for i in range(1, 6)]
    assert [n.tax_total for n in notes] == [Decimal("3.48")] * 4 + [Decimal("3.50")]
    assert sum(n.total for n in notes) == invoice.total
    assert all(n.credited_invoice_id == invoice.id and n.kind == "credit_note" for n in notes)
    with pytest.raises(Conflict) as refused:
        credit_one(session, invoice)
    assert refused.value.details == [{"field": "lines[0].quantity", "message":
                                      "at most 0 can be credited on line 1 (invoiced 5, "
                                      "already credited 5)"}]


def test_more_than_billed_is_refused_and_nothing_is_written(session, billed):
    _, invoice = billed
    with pytest.raises(Conflict):
        credit_one(session, invoice, qty="6")
    session.rollback()
    assert session.scalar(select(Invoice).where(Invoice.kind == "credit_note")) is None


def test_bad_input_names_every_field(session, billed):
    _, invoice = billed
    with pytest.raises(Invalid) as bad:
        credit_notes.create_credit_note(session, invoice.number, [
            {"line_no": 2, "quantity": "1"}, {"line_no": 1, "quantity": "0"}], reason=" ")
    assert [p["field"] for p in bad.value.details] == [
        "reason", "lines[0].line_no", "lines[1].quantity"]
    with pytest.raises(NotFound):
        credit_notes.create_credit_note(session, "INV-NOPE", [{"line_no": 1, "quantity": 1}],
                                        reason="x")


def test_the_journal_entry_reverses_revenue_tax_and_receivable(session, billed):
    _, invoice = billed
    note = credit_one(session, invoice, qty="2")
    entry = session.scalar(select(JournalEntry).where(JournalEntry.doc_type == "credit_note",
                                                      JournalEntry.doc_id == note.id))
    lines = {ln.account: (ln.debit, ln.credit) for ln in entry.lines}
    assert lines == {"revenue": (Decimal("53.60"), 0), "tax_payable": (Decimal("6.97"), 0),
                     "accounts_receivable": (0, Decimal("60.57"))}
    assert sum(d for d, _ in lines.values()) == sum(c for _, c in lines.values())


def test_balances_and_credit_exposure_count_credit_notes(session, billed):
    order, invoice = billed
    before = payments.customer_exposure_parts(session, order.customer_id)
    note = credit_one(session, invoice, qty="2")
    after = payments.customer_exposure_parts(session, order.customer_id)
    assert after["credit_notes"] - before["credit_notes"] == note.total
    assert before["open_receivables"] - after["open_receivables"] == note.total
    balance = payments.order_balance(session, order.id)
    assert balance["credited"] == note.total
    assert balance["outstanding"] == invoice.total - note.total
    assert credit.open_receivables(session, order.customer_id) == after["open_receivables"]


def test_an_invoice_settled_by_credit_notes_is_not_overdue(session, frozen_clock, billed):
    from app.engine import clock

    order, invoice = billed
    clock.travel(timedelta(days=90))
    assert credit.overdue_invoices(session, order.customer_id, 30) == [invoice.number]
    credit_one(session, invoice, qty="5")
    assert credit.overdue_invoices(session, order.customer_id, 30) == []
    assert payments.order_balance(session, order.id)["outstanding"] == 0


def test_the_view_names_invoice_order_lines_and_reason(session, billed):
    order, invoice = billed
    note = credit_one(session, invoice, qty="1", reason="one ream wet")
    view = credit_notes.credit_note_view(session, credit_notes.get_credit_note(session,
                                                                               note.number))
    assert (view["invoice"], view["order"], view["customer"]) == (
        invoice.number, session.get(SalesOrder, order.id).number, "C-1001")
    assert view["reason"] == "one ream wet" and view["created_by"] == "fran"
    assert view["lines"] == [{"line_no": 1, "sku": "CON-PAPER-A4", "quantity": Decimal("1.000"),
                              "unit_price": Decimal("26.8000"), "net_amount": Decimal("26.80"),
                              "tax_rate": Decimal("0.1300"), "tax_amount": Decimal("3.48")}]
    with pytest.raises(NotFound):
        credit_notes.get_credit_note(session, invoice.number)  # an invoice is not a credit note
