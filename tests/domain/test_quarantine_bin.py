"""Returned goods wait for inspection in a quarantine bin: on hand, never available, never
reserved by another order."""
from decimal import Decimal

from sqlalchemy import select

from app.domain import inventory
from app.models.inventory import Bin
from app.models.sales import SalesOrder, SalesOrderLine
from tests import factories

D = Decimal


def test_quarantine_stock_is_on_hand_but_not_available_nor_reservable(session):
    pl = factories.price_list(session)
    widget = factories.product(session, "WIDGET", price="10", pl=pl, stock_tracked=True)
    wh = factories.warehouse(session, "WH1", bins=("A-01",))
    session.add(Bin(warehouse_id=wh.id, code="RETURNS", sellable=False))
    session.flush()
    inventory.receive(session, sku="WIDGET", warehouse="WH1", bin="A-01", quantity=D(2))
    inventory.receive(session, sku="WIDGET", warehouse="WH1", bin="RETURNS", quantity=D(5))
    figures = inventory.availability(session, "WIDGET")["totals"]
    assert (figures["on_hand"], figures["available"]) == (D(5 + 2), D(2))

    customer = factories.customer(session, "C1", pl)
    order = SalesOrder(number="SO-1", customer_id=customer.id, currency="CNY")
    order.lines.append(SalesOrderLine(line_no=1, product_id=widget.id, quantity=D(4),
                                      list_price=D(10), unit_price=D(10), amount=D(40),
                                      tax_rate=D(0), tax_amount=D(0), pricing_source="test"))
    session.add(order)
    session.flush()
    result = inventory.reserve_order(session, order.id)
    assert not result["complete"] and result["short"][0]["short_qty"] == D(2)
    bins = {b["bin"]: b for w in inventory.availability(session, "WIDGET")["warehouses"]
            for b in w["bins"]}
    assert (bins["RETURNS"]["reserved"], bins["RETURNS"]["sellable"]) == (0, False)
    assert (bins["A-01"]["reserved"], bins["A-01"]["available"]) == (D(2), 0)
    assert session.scalar(select(Bin.sellable).where(Bin.code == "A-01")) is True


def test_goods_bought_or_made_are_never_received_into_quarantine(session):
    from app.domain import purchasing

    pl = factories.price_list(session)
    widget = factories.product(session, "WIDGET", price="10", pl=pl, stock_tracked=True)
    wh = factories.warehouse(session, "WH1", bins=("A-01",))
    session.add(Bin(warehouse_id=wh.id, code="RETURNS", sellable=False))
    session.flush()
    inventory.receive(session, sku="WIDGET", warehouse="WH1", bin="RETURNS", quantity=D(1))
    assert purchasing.default_bin(session, widget.id).code == "A-01"
