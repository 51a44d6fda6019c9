"""Invoicing: one invoice per shipment, billed from delivered qty, gap-free numbers, journal."""
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.errors import Conflict, NotFound
from app.domain.invoicing import invoice_shipment
from app.engine.operators import UnitContext, invoke
from app.extensions import db
from app.models.finance import Invoice, InvoiceLine, JournalEntry, JournalLine
from app.models.inventory import Bin, Product, Warehouse
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine

D = Decimal
ISSUE = date(2026, 3, 2)


# -- small builders, shared with the other finance test modules ------------------------------

def make_customer(session, code="C1", terms=30, email="buyer@example.com"):
    customer = Customer(code=code, name=f"Customer {code}", normalized_name=code.lower(),
                        email=email, payment_terms_days=terms, currency="CNY")
    session.add(customer)
    session.flush()
    return customer


def _place(session):
    product = session.scalar(select(Product).where(Product.sku == "SKU-1"))
    if product is None:
        product = Product(sku="SKU-1", name="Widget")
        warehouse = Warehouse(code="WH", name="Main")
        session.add_all([product, warehouse])
        session.flush()
        session.add(Bin(warehouse_id=warehouse.id, code="A-01"))
        session.flush()
    return product, session.scalar(select(Bin).where(Bin.code == "A-01"))


def make_order(session, customer, lines, number=None):
    """lines: [(qty, unit_price, tax_rate)]."""
    product, _ = _place(session)
    count = session.scalar(select(func.count()).select_from(SalesOrder))
    order = SalesOrder(number=number or f"SO-{count + 1:04d}", customer_id=customer.id,
                       currency="CNY")
    for no, (qty, price, rate) in enumerate(lines, start=1):
        amount = D(qty) * D(price)
        order.lines.append(SalesOrderLine(
            line_no=no, product_id=product.id, quantity=D(qty), list_price=D(price),
            unit_price=D(price), amount=amount, tax_rate=D(rate), tax_amount=amount * D(rate),
            pricing_source="test"))
    session.add(order)
    session.flush()
    return order


def ship(session, order, quantities, deliver=True):
    """A shipment of {line_no: qty}; deliver=True records the delivered quantities too."""
    _, bin_ = _place(session)
    count = session.scalar(select(func.count()).select_from(Shipment))
    shipment = Shipment(number=f"SH-{count + 1:04d}", order_id=order.id,
                        status="delivered" if deliver else "booked")
    for line in order.lines:
        qty = quantities.get(line.line_no)
        if qty:
            shipment.lines.append(ShipmentLine(order_line_id=line.id, product_id=line.product_id,
                                               bin_id=bin_.id, quantity=D(qty)))
            if deliver:
                line.delivered_qty = (line.delivered_qty or D(0)) + D(qty)
    session.add(shipment)
    session.flush()
    return shipment


def shipped_invoice(session, customer, amount, issue=ISSUE, number=None):
    """An order of one line (no tax) shipped, delivered and invoiced for ``amount``."""
    order = make_order(session, customer, [(1, amount, "0")], number=number)
    result = invoice_shipment(session, ship(session, order, {1: 1}).id, today=issue)
    return order, session.get(Invoice, result["invoice_id"])


# -- tests ------------------------------------------------------------------------------------

def test_invoice_bills_shipped_quantities_with_tax_rounded_half_up_per_line(session):
    customer = make_customer(session, terms=14)
    order = make_order(session, customer, [(10, "3.50", "0.13"), (4, "2.5025", "0.06")])
    shipment = ship(session, order, {1: 3, 2: 2})

    result = invoice_shipment(session, shipment.id, today=ISSUE)

    invoice = session.get(Invoice, result["invoice_id"])
    lines = sorted(invoice.lines, key=lambda ln: ln.order_line_id)
    # 3 × 3.50 = 10.50, tax 1.365 → 1.37 (half-up; banker's rounding would give 1.36)
    assert (lines[0].quantity, lines[0].net_amount, lines[0].tax_amount) == (3, D("10.50"),
                                                                             D("1.37"))
    # 2 × 2.5025 = 5.005 → 5.01 (half-up), tax 0.3006 → 0.30
    assert (lines[1].net_amount, lines[1].tax_amount) == (D("5.01"), D("0.30"))
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (D("15.51"), D("1.67"),
                                                                     D("17.18"))
    assert result == {"invoice_id": invoice.id, "number": "INV-2026-00001",
                      "total": D("17.18"), "due_date": date(2026, 3, 16), "order_id": order.id}
    assert invoice.status == "posted" and invoice.customer_id == customer.id
    assert [ln.invoiced_qty for ln in order.lines] == [3, 2]


def test_invoice_numbers_are_sequential_and_gap_free_per_year(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(10, "1", "0")])
    numbers = [invoice_shipment(session, ship(session, order, {1: 1}).id, today=ISSUE)["number"]
               for _ in range(3)]
    next_year = invoice_shipment(session, ship(session, order, {1: 1}).id,
                                 today=date(2027, 1, 4))["number"]

    assert numbers == ["INV-2026-00001", "INV-2026-00002", "INV-2026-00003"]
    assert next_year == "INV-2027-00001"


def test_a_refused_invoice_does_not_consume_a_number(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(10, "1", "0")])
    invoice_shipment(session, ship(session, order, {1: 2}).id, today=ISSUE)
    undelivered = ship(session, order, {1: 2}, deliver=False)
    with pytest.raises(Conflict):
        invoice_shipment(session, undelivered.id, today=ISSUE)

    again = ship(session, order, {1: 1})
    assert invoice_shipment(session, again.id, today=ISSUE)["number"] == "INV-2026-00002"


def test_one_invoice_per_shipment_even_when_called_twice(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(5, "20", "0.13")])
    shipment = ship(session, order, {1: 5})

    first = invoice_shipment(session, shipment.id, today=ISSUE)
    second = invoice_shipment(session, shipment.id, today=date(2026, 4, 1))

    assert second == first
    assert session.scalar(select(func.count()).select_from(Invoice)) == 1
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 1
    assert order.lines[0].invoiced_qty == 5


def test_invoicing_never_exceeds_the_delivered_quantity(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(10, "20", "0.13")])
    invoice_shipment(session, ship(session, order, {1: 4}).id, today=ISSUE)
    not_delivered = ship(session, order, {1: 3}, deliver=False)

    with pytest.raises(Conflict) as refused:
        invoice_shipment(session, not_delivered.id, today=ISSUE)

    assert "exceed the delivered quantity" in refused.value.message
    assert order.lines[0].invoiced_qty == 4
    assert session.scalar(select(func.count()).select_from(InvoiceLine)) == 1


def test_invoice_posts_a_balanced_receivable(session):
    customer = make_customer(session)
    order = make_order(session, customer, [(3, "33.33", "0.13"), (1, "9.99", "0.09")])
    result = invoice_shipment(session, ship(session, order, {1: 3, 2: 1}).id, today=ISSUE)
    invoice = session.get(Invoice, result["invoice_id"])

    entry = session.scalar(select(JournalEntry).where(JournalEntry.doc_type == "invoice",
                                                      JournalEntry.doc_id == invoice.id))
    by_account = {ln.account: (ln.debit, ln.credit) for ln in entry.lines}
    assert by_account == {"accounts_receivable": (invoice.total, 0),
                          "revenue": (0, invoice.net_total),
                          "tax_payable": (0, invoice.tax_total)}
    debit, credit = session.execute(select(func.sum(JournalLine.debit),
                                           func.sum(JournalLine.credit))).one()
    assert debit == credit == invoice.total
    assert {ln.customer_id for ln in entry.lines} == {customer.id}


def test_unknown_shipment_is_not_found(session):
    with pytest.raises(NotFound):
        invoice_shipment(session, 999)


def test_operator_returns_the_invoice_and_dunning_timer_dates(session, frozen_clock):
    customer = make_customer(session, terms=30)
    order = make_order(session, customer, [(2, "100", "0.13")])
    shipment = ship(session, order, {1: 2})
    ctx = UnitContext(session=session, instance_id=None, business_key=order.number,
                      process_id="order")

    result = invoke("finance.invoice_shipment", ctx, {"shipment_id": shipment.id})

    assert result["number"] == "INV-2026-00001" and result["total"] == D("226.00")
    assert result["due_date"] == "2026-04-01"  # frozen clock: issued 2026-03-02, 30 days
    assert result["dunning_1_at"] == "2026-04-08T09:00:00+00:00"
    assert result["dunning_2_at"] == "2026-04-22T09:00:00+00:00"
    assert result["finance_task_at"] == "2026-05-01T09:00:00+00:00"
    assert invoke("finance.invoice_shipment", ctx, {"shipment_id": shipment.id}) == result


@pytest.mark.postgres_only
def test_concurrent_invoicing_gets_consecutive_numbers(app, session):
    customer = make_customer(session)
    # separate orders, so nothing but the number sequence is shared between the threads
    orders = [make_order(session, customer, [(1, "10", "0.13")]) for _ in range(4)]
    shipment_ids = [ship(session, order, {1: 1}).id for order in orders]
    session.commit()
    barrier = threading.Barrier(len(shipment_ids))
    numbers, errors = [None] * len(shipment_ids), []

    def bill(i):
        with app.app_context():
            try:
                barrier.wait()
                numbers[i] = invoice_shipment(db.session, shipment_ids[i], today=ISSUE)["number"]
                db.session.commit()
            except Exception as err:  # surfaced by the assertion below
                errors.append(repr(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=bill, args=(i,)) for i in range(len(shipment_ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sorted(numbers) == [f"INV-2026-{n:05d}" for n in range(1, 5)]
    session.expire_all()
    assert [session.get(SalesOrderLine, o.lines[0].id).invoiced_qty for o in orders] == [1] * 4
