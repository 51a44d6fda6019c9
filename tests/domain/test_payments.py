"""Payments: matching by reference / exact amount / oldest first, balances, dunning."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.errors import Invalid
from app.domain.invoicing import invoice_shipment
from app.domain.payments import (
    customer_exposure_parts,
    dunning_step,
    order_balance,
    order_invoices,
    order_payments,
    record_payment,
)
from app.engine.operators import UnitContext, invoke
from app.models.finance import Invoice, JournalEntry, JournalLine, Payment, PaymentAllocation
from app.models.shipping import Notification, Outbox
from tests.domain.test_invoicing import make_customer, make_order, ship, shipped_invoice

D = Decimal


def pay(session, external_id, amount, **kwargs):
    return record_payment(session, external_id=external_id, amount=D(amount), currency="CNY",
                          **kwargs)


def test_payment_by_invoice_number_settles_that_invoice(session):
    customer = make_customer(session)
    _, older = shipped_invoice(session, customer, "100", issue=date(2026, 1, 5))
    _, named = shipped_invoice(session, customer, "100", issue=date(2026, 2, 5))

    result = pay(session, "bank-1", "100", reference=named.number)

    assert result["allocations"] == [{"invoice_number": named.number, "amount": D("100")}]
    assert (named.status, named.paid_amount) == ("paid", D("100"))
    assert (older.status, older.paid_amount) == ("posted", D("0"))
    assert session.get(Payment, result["payment_id"]).customer_id == customer.id


def test_payment_by_order_number_settles_that_orders_invoices(session):
    customer = make_customer(session)
    shipped_invoice(session, customer, "80", issue=date(2026, 1, 5))
    order, invoice = shipped_invoice(session, customer, "50", issue=date(2026, 2, 5))

    result = pay(session, "bank-1", "60", reference=order.number)

    # the payer named that order: its leftover is not spread over the older invoice
    assert result["allocations"] == [{"invoice_number": invoice.number, "amount": D("50")}]
    assert result["unallocated"] == D("10")
    assert result["order_ids_fully_paid"] == [order.id]


def test_payment_with_the_exact_outstanding_amount_finds_that_invoice(session):
    customer = make_customer(session)
    shipped_invoice(session, customer, "100", issue=date(2026, 1, 5))
    _, exact = shipped_invoice(session, customer, "70", issue=date(2026, 2, 5))
    shipped_invoice(session, customer, "50", issue=date(2026, 3, 5))

    result = pay(session, "bank-1", "70", customer_code=customer.code, reference="unreadable")

    assert result["allocations"] == [{"invoice_number": exact.number, "amount": D("70")}]
    assert exact.status == "paid"


def test_otherwise_oldest_first_with_partial_allocations_and_leftover(session):
    customer = make_customer(session)
    _, oldest = shipped_invoice(session, customer, "100", issue=date(2026, 1, 5))
    _, newer = shipped_invoice(session, customer, "50", issue=date(2026, 2, 5))

    first = pay(session, "bank-1", "120", customer_code=customer.code)
    second = pay(session, "bank-2", "100", customer_code=customer.code)

    assert first["allocations"] == [{"invoice_number": oldest.number, "amount": D("100")},
                                    {"invoice_number": newer.number, "amount": D("20")}]
    assert first["unallocated"] == D("0")
    assert second["allocations"] == [{"invoice_number": newer.number, "amount": D("30")}]
    assert second["unallocated"] == D("70")  # never more than an invoice's outstanding
    assert (oldest.status, newer.status) == ("paid", "paid")
    assert (oldest.paid_amount, newer.paid_amount) == (D("100"), D("50"))


def test_a_payment_of_another_customer_does_not_touch_these_invoices(session):
    customer, other = make_customer(session, "C1"), make_customer(session, "C2")
    _, invoice = shipped_invoice(session, customer, "100")

    result = pay(session, "bank-1", "100", customer_code=other.code, reference=invoice.number)

    assert result["allocations"] == [] and result["unallocated"] == D("100")
    assert invoice.paid_amount == 0


def test_replayed_external_id_changes_nothing(session):
    customer = make_customer(session)
    _, invoice = shipped_invoice(session, customer, "100")
    first = pay(session, "bank-1", "40", customer_code=customer.code)

    again = pay(session, "bank-1", "40", customer_code=customer.code)

    assert again == {**first, "created": False} and first["created"] is True
    assert invoice.paid_amount == D("40")
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert session.scalar(select(func.count()).select_from(PaymentAllocation)) == 1


def test_payment_posts_cash_against_receivable_for_the_allocated_part(session):
    customer = make_customer(session)
    shipped_invoice(session, customer, "100")

    result = pay(session, "bank-1", "130", customer_code=customer.code)

    entry = session.scalar(select(JournalEntry).where(JournalEntry.doc_type == "payment",
                                                      JournalEntry.doc_id == result["payment_id"]))
    assert {ln.account: (ln.debit, ln.credit) for ln in entry.lines} == {
        "cash": (D("100"), 0), "accounts_receivable": (0, D("100"))}
    debit, credit = session.execute(select(func.sum(JournalLine.debit),
                                           func.sum(JournalLine.credit))).one()
    assert debit == credit


def test_partial_payment_leaves_the_order_not_fully_paid(session):
    customer = make_customer(session)
    order, invoice = shipped_invoice(session, customer, "100")

    partial = pay(session, "bank-1", "60", reference=invoice.number)
    assert partial["order_ids_fully_paid"] == []
    assert order_balance(session, order.id) == {
        "invoiced": D("100"), "credited": D("0"), "paid": D("60"), "outstanding": D("40"),
        "fully_paid": False}

    rest = pay(session, "bank-2", "40", reference=invoice.number)
    assert rest["order_ids_fully_paid"] == [order.id]
    assert order_balance(session, order.id)["fully_paid"] is True


def test_order_with_delivered_but_unbilled_quantity_is_not_fully_paid(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(5, "10", "0")])
    invoice_shipment(session, ship(session, order, {1: 2}).id, today=date(2026, 3, 2))
    ship(session, order, {1: 3})  # delivered, not invoiced yet

    pay(session, "bank-1", "20", customer_code=customer.code)

    balance = order_balance(session, order.id)
    assert balance["outstanding"] == 0 and balance["fully_paid"] is False


def test_order_page_lists_invoices_and_payments(session):
    customer = make_customer(session)
    order, invoice = shipped_invoice(session, customer, "100")
    pay(session, "bank-1", "30", reference=invoice.number)

    [listed] = order_invoices(session, order.id)
    assert (listed["number"], listed["paid_amount"], listed["outstanding"]) == (
        invoice.number, D("30"), D("70"))
    [payment] = order_payments(session, order.id)
    assert (payment["external_id"], payment["invoice_number"], payment["amount"]) == (
        "bank-1", invoice.number, D("30"))


def test_exposure_is_posted_invoices_less_payments(session):
    customer = make_customer(session)
    shipped_invoice(session, customer, "100")
    shipped_invoice(session, customer, "50")
    pay(session, "bank-1", "30", customer_code=customer.code)
    pay(session, "bank-2", "500", customer_code=make_customer(session, "C2").code)

    assert customer_exposure_parts(session, customer.id)["open_receivables"] == D("120")


@pytest.mark.parametrize("amount, currency, fields", [
    ("0", "CNY", {"amount"}), ("-5", "CNY", {"amount"}), ("1.001", "CNY", {"amount"}),
    ("10", "yuan", {"currency"}), ("0", "", {"amount", "currency"})])
def test_invalid_payments_name_every_field(session, amount, currency, fields):
    with pytest.raises(Invalid) as refused:
        record_payment(session, external_id="x", amount=D(amount), currency=currency)
    assert {d["field"] for d in refused.value.details} == fields


def test_unknown_customer_is_refused(session):
    with pytest.raises(Invalid) as refused:
        pay(session, "bank-1", "10", customer_code="NOPE")
    assert refused.value.details[0]["field"] == "customer"


def overdue_order(session, email="buyer@example.com"):
    customer = make_customer(session, terms=10, email=email)
    order, invoice = shipped_invoice(session, customer, "100", issue=date(2026, 1, 5))
    return order, invoice  # due 2026-01-15


def test_dunning_raises_the_level_and_notifies_once_per_level(session):
    order, invoice = overdue_order(session)

    first = dunning_step(session, order.id, 1, today=date(2026, 1, 22))
    replay = dunning_step(session, order.id, 1, today=date(2026, 1, 23))

    assert first == replay == {"level": 1, "invoices": [invoice.number], "outstanding": D("100")}
    assert invoice.dunning_level == 1
    [mail] = session.scalars(select(Outbox)).all()
    assert mail.key == f"dunning:{invoice.number}:1" and mail.payload["to"] == [
        "buyer@example.com"]
    [notice] = session.scalars(select(Notification)).all()
    assert notice.group_name == "finance" and invoice.number in notice.subject

    dunning_step(session, order.id, 2, today=date(2026, 2, 5))
    dunning_step(session, order.id, 1, today=date(2026, 2, 6))  # a late level 1 lowers nothing
    assert invoice.dunning_level == 2
    assert sorted(session.scalars(select(Outbox.key))) == [
        f"dunning:{invoice.number}:1", f"dunning:{invoice.number}:2"]


def test_dunning_skips_invoices_not_yet_due_or_paid(session):
    order, invoice = overdue_order(session)

    assert dunning_step(session, order.id, 1, today=date(2026, 1, 15))["invoices"] == []
    pay(session, "bank-1", "100", reference=invoice.number)
    result = dunning_step(session, order.id, 1, today=date(2026, 2, 1))

    assert result == {"level": 1, "invoices": [], "outstanding": D("0")}
    assert invoice.dunning_level == 0
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_level_three_tells_finance_but_does_not_email_the_customer(session):
    order, invoice = overdue_order(session)

    dunning_step(session, order.id, 3, today=date(2026, 2, 20))

    assert session.scalar(select(func.count()).select_from(Outbox)) == 0
    assert session.scalar(select(Notification.key)) == f"dunning:{invoice.number}:3"


def test_operators_give_the_balance_and_dun(session, frozen_clock):
    order, invoice = overdue_order(session)
    ctx = UnitContext(session=session, instance_id=None, business_key=order.number,
                      process_id="order")

    assert invoke("finance.order_balance", ctx, {"order_id": order.id})["outstanding"] == 100
    dunned = invoke("finance.dunning", ctx, {"order_id": order.id, "level": 1})

    assert dunned["invoices"] == [invoice.number]  # frozen at 2026-03-02
    assert session.get(Invoice, invoice.id).dunning_level == 1
