"""Purchasing: purchase requests priced from the supplier (MOQ, packs), approval facts, the order
to the supplier through the outbox, receipts with batch/serial into the stock ledger, replays."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain import purchasing
from app.domain.errors import Conflict, Invalid
from app.models.inventory import StockLedger, StockLevel, Supplier
from app.models.manufacturing import PlannedOrder
from app.models.procurement import SupplierPrice
from app.models.shipping import Outbox
from tests import factories as f


@pytest.fixture
def setup(session):
    supplier = Supplier(code="SUP-1", name="Parts Co", email="po@parts.example.com",
                        lead_time_days=5, min_order_qty=Decimal(10), pack_size=Decimal(5))
    session.add(supplier)
    session.flush()
    f.warehouse(session, "WH", bins=("A-01", "A-02"))
    bolt = f.product(session, "BOLT", default_supplier_id=supplier.id, tracking="batch")
    chip = f.product(session, "CHIP", default_supplier_id=supplier.id, tracking="serial")
    session.add_all([SupplierPrice(supplier_id=supplier.id, product_id=bolt.id,
                                   unit_price=Decimal("2.50")),
                     SupplierPrice(supplier_id=supplier.id, product_id=bolt.id,
                                   unit_price=Decimal("2.00"), min_qty=Decimal(100)),
                     SupplierPrice(supplier_id=supplier.id, product_id=chip.id,
                                   unit_price=Decimal("40"))])
    session.flush()
    return supplier, bolt, chip


def ordered(session, supplier, product, qty, **kw):
    po = purchasing.create_purchase_order(session, supplier_id=supplier.id,
                                          product_id=product.id, quantity=Decimal(qty),
                                          due_date=date(2026, 4, 1), requested_by="pia", **kw)
    purchasing.record_approval(session, po.id, "fran")
    purchasing.issue(session, po.id)
    return po


def test_order_quantity_respects_moq_and_packs(setup):
    supplier, _, _ = setup
    assert purchasing.order_quantity(supplier, Decimal(3)) == Decimal(10)
    assert purchasing.order_quantity(supplier, Decimal(11)) == Decimal(15)


def test_a_request_is_priced_by_quantity_break_and_taxed(session, setup):
    supplier, bolt, _ = setup
    small = purchasing.create_purchase_order(session, supplier_id=supplier.id,
                                             product_id=bolt.id, quantity=Decimal(10),
                                             due_date=date(2026, 4, 1))
    big = purchasing.create_purchase_order(session, supplier_id=supplier.id, product_id=bolt.id,
                                           quantity=Decimal(100), due_date=date(2026, 4, 1))
    assert (small.status, small.net_total, small.total) == (
        "requested", Decimal("25.00"), Decimal("28.25"))
    assert big.lines[0].unit_price == Decimal("2.00") and big.number != small.number
    assert purchasing.approval_request(small)["amount"] == 28.25


def test_unpriced_products_are_refused(session, setup):
    supplier, _, _ = setup
    nut = f.product(session, "NUT", default_supplier_id=supplier.id)
    with pytest.raises(Invalid, match="no purchase price"):
        purchasing.create_purchase_order(session, supplier_id=supplier.id, product_id=nut.id,
                                         quantity=Decimal(1), due_date=date(2026, 4, 1))


def test_issuing_mails_the_supplier_once(session, setup):
    supplier, bolt, _ = setup
    po = ordered(session, supplier, bolt, 10)
    again = purchasing.issue(session, po.id)
    assert po.status == "ordered" and again["chase_at"] == "2026-04-02T09:00:00+00:00"
    [mail] = session.scalars(select(Outbox)).all()
    assert mail.payload["to"] == ["po@parts.example.com"] and po.number in mail.payload["body"]


def test_goods_are_received_with_batch_and_serials_and_a_replay_books_nothing(session, setup):
    supplier, bolt, chip = setup
    bolts = ordered(session, supplier, bolt, 20)
    first = purchasing.receive(session, bolts.id, reference="DN-1", user="wendy", lines=[
        {"line_no": 1, "quantity": 8, "batch": "B-7", "expiry": "2027-01-31"}])
    assert (first["status"], first["fully_received"]) == ("partially_received", False)
    replay = purchasing.receive(session, bolts.id, reference="DN-1", user="wendy", lines=[
        {"line_no": 1, "quantity": 8, "batch": "B-7"}])
    assert replay["replayed"] and replay["ledger_ids"] == first["ledger_ids"]
    rows = session.scalars(select(StockLedger).where(StockLedger.doc_type == "goods_receipt"))
    assert [(r.quantity, r.batch, r.expiry) for r in rows] == [
        (Decimal("8.000"), "B-7", date(2027, 1, 31))]
    with pytest.raises(Invalid, match="only 12.000 still open"):
        purchasing.receive(session, bolts.id, reference="DN-2",
                           lines=[{"line_no": 1, "quantity": 13, "batch": "B-8"}])
    done = purchasing.receive(session, bolts.id, reference="DN-2",
                              lines=[{"sku": "BOLT", "quantity": 12, "batch": "B-8"}])
    assert done["fully_received"]

    chips = ordered(session, supplier, chip, 10)
    with pytest.raises(Invalid, match="serial"):
        purchasing.receive(session, chips.id, reference="DN-3",
                           lines=[{"line_no": 1, "quantity": 10}])
    purchasing.receive(session, chips.id, reference="DN-3", warehouse="WH", bin="A-02", lines=[
        {"line_no": 1, "quantity": 10, "serials": [f"C-{n}" for n in range(10)]}])
    level = session.scalar(select(StockLevel).where(StockLevel.product_id == chip.id))
    assert level.on_hand == 10


def test_receipts_need_an_ordered_po_and_rejection_closes_the_planned_order(session, setup):
    supplier, bolt, _ = setup
    planned = PlannedOrder(kind="purchase_request", product_id=bolt.id, quantity=Decimal(10),
                           release_date=date(2026, 3, 1), due_date=date(2026, 3, 8),
                           status="released", supplier_id=supplier.id)
    session.add(planned)
    session.flush()
    po = purchasing.create_purchase_order(session, supplier_id=supplier.id, product_id=bolt.id,
                                          quantity=Decimal(10), due_date=date(2026, 3, 8),
                                          planned_order_id=planned.id)
    with pytest.raises(Conflict):
        purchasing.receive(session, po.id, reference="X", lines=[{"line_no": 1, "quantity": 1}])
    purchasing.reject(session, po.id, "not needed")
    assert (po.status, planned.status) == ("rejected", "closed")
    with pytest.raises(Conflict):
        purchasing.issue(session, po.id)
