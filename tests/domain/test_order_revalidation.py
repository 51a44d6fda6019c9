"""Revalidation (the diagram's validate step) without pricing the lines again: it still finds
master data that changed since entry, and prices agreed at entry stand."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.domain import orders, pricing
from app.models.sales import ItemPrice
from app.models.types import utcnow
from tests import factories as f


@pytest.fixture
def shop(session):
    pl = f.price_list(session)
    data = {
        "pl": pl,
        "chair": f.product(session, "CHAIR", "450.00", pl),
        "paper": f.product(session, "PAPER", "25.00", pl, sales_multiple=Decimal("5")),
        "acme": f.customer(session, "ACME", pl, credit_limit="100000"),
    }
    session.commit()
    return data


def order_for(session, lines):
    order, _ = orders.create_order(session, customer_code="ACME", lines=lines,
                                   created_by="alice", today=utcnow().date())
    session.commit()
    return order


def test_an_unchanged_order_is_valid(session, shop):
    order = order_for(session, [{"sku": "CHAIR", "quantity": 2}, {"sku": "PAPER", "quantity": 10}])
    assert orders.revalidate(session, order.id) == []


def test_a_changed_price_does_not_send_the_order_back(session, shop):
    order = order_for(session, [{"sku": "CHAIR", "quantity": 2}])
    price = session.query(ItemPrice).filter_by(product_id=shop["chair"].id).one()
    price.unit_price = Decimal("499")
    session.commit()
    assert orders.revalidate(session, order.id) == []
    assert order.lines[0].unit_price == Decimal("450")


def test_master_data_changed_since_entry_is_found(session, shop):
    order = order_for(session, [{"sku": "CHAIR", "quantity": 2}, {"sku": "PAPER", "quantity": 10}])
    shop["chair"].saleable = False
    shop["paper"].sales_multiple = Decimal("3")
    session.commit()
    assert [p["field"] for p in orders.revalidate(session, order.id)] == [
        "lines[0].sku", "lines[1].quantity"]

    shop["chair"].saleable = True
    shop["paper"].sales_multiple = Decimal("5")
    shop["acme"].blocked = True
    session.commit()
    assert [p["field"] for p in orders.revalidate(session, order.id)] == ["customer"]


def test_a_line_without_a_price_today_is_found(session, shop):
    order = order_for(session, [{"sku": "CHAIR", "quantity": 2}, {"sku": "PAPER", "quantity": 10}])
    price = session.query(ItemPrice).filter_by(product_id=shop["paper"].id).one()
    price.valid_to = utcnow().date() - timedelta(days=1)
    session.commit()
    [problem] = orders.revalidate(session, order.id)
    assert problem["field"] == "lines[1].sku" and "no price for PAPER" in problem["message"]


def test_one_statement_prices_like_the_single_lookup(session, shop):
    """item_prices picks what item_price picks: highest break reached, then the newest."""
    pl, chair = shop["pl"], shop["chair"]
    session.add_all([
        ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=Decimal("420"),
                  min_qty=Decimal("10")),
        ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=Decimal("430"),
                  min_qty=Decimal("0"), valid_from=date(2026, 1, 1)),
        ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=Decimal("300"),
                  min_qty=Decimal("0"), valid_from=date(2026, 6, 1)),
    ])
    session.commit()
    today = date(2026, 3, 2)
    requested = [(chair, Decimal("1")), (chair, Decimal("10")), (shop["paper"], Decimal("5"))]
    batch = pricing.item_prices(session, pl, requested, today)
    single = [pricing.item_price(session, pl, product, qty, today) for product, qty in requested]
    assert [p.id for p in batch] == [p.id for p in single]
    assert [p.unit_price for p in batch] == [Decimal("430"), Decimal("420"), Decimal("25")]
