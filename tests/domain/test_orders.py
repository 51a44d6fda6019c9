"""Order entry: every problem named at once, prices resolved with their source, replays."""
from datetime import date
from decimal import Decimal

import pytest

from app.domain import credit, orders
from app.domain.errors import Conflict, Invalid
from app.models.finance import Invoice, Payment
from app.models.sales import ItemPrice
from tests import factories as f


@pytest.fixture
def shop(session):
    pl = f.price_list(session)
    data = {
        "pl": pl,
        "chair": f.product(session, "CHAIR", "450.00", pl, item_group="furniture"),
        "paper": f.product(session, "PAPER", "25.00", pl, item_group="consumables",
                           sales_multiple=Decimal("5")),
        "old": f.product(session, "OLD", "10.00", pl, saleable=False),
        "acme": f.customer(session, "ACME", pl, credit_limit="10000"),
    }
    session.commit()
    return data


def place(session, lines, customer="ACME", **kw):
    return orders.create_order(session, customer_code=customer, lines=lines,
                               created_by="alice", today=kw.pop("today", date(2026, 3, 2)), **kw)


def test_prices_come_from_the_price_list_with_tax(session, shop):
    order, created = place(session, [{"sku": "CHAIR", "quantity": 2},
                                     {"sku": "PAPER", "quantity": "10"}])
    assert created and order.number.startswith("SO-2026-")
    chair, paper = order.lines
    assert (chair.unit_price, chair.amount, chair.tax_amount) == (
        Decimal("450"), Decimal("900.00"), Decimal("117.00"))
    assert chair.pricing_source == "price list STD"
    assert order.net_total == Decimal("1150.00") and order.tax_total == Decimal("149.50")
    assert order.total == Decimal("1299.50")


def test_every_problem_is_named_at_once(session, shop):
    with pytest.raises(Invalid) as caught:
        place(session, [{"sku": "NOPE", "quantity": 1}, {"sku": "PAPER", "quantity": 3},
                        {"sku": "OLD", "quantity": 1}, {"sku": "CHAIR", "quantity": 0},
                        {"sku": "CHAIR", "quantity": 1, "unit_price": "400"}])
    fields = [p["field"] for p in caught.value.details]
    assert fields == ["lines[0].sku", "lines[1].quantity", "lines[2].sku", "lines[3].quantity",
                      "lines[4].unit_price"]
    assert "expected 450" in caught.value.details[-1]["message"]


def test_blocked_unknown_customer_and_currency(session, shop):
    shop["acme"].blocked = True
    with pytest.raises(Invalid) as caught:
        place(session, [{"sku": "CHAIR", "quantity": 1}])
    assert caught.value.details[0] == {"field": "customer", "message": "customer ACME is blocked"}
    with pytest.raises(Invalid) as caught:
        place(session, [{"sku": "CHAIR", "quantity": 1}], customer="NOBODY")
    assert caught.value.details[0]["field"] == "customer"
    shop["acme"].blocked = False
    with pytest.raises(Invalid) as caught:
        place(session, [{"sku": "CHAIR", "quantity": 1}], currency="USD")
    assert caught.value.details[0]["field"] == "currency"


def test_quantity_breaks_validity_and_rules(session, shop):
    pl, chair = shop["pl"], shop["chair"]
    session.add(ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=Decimal("420"),
                          min_qty=Decimal("10")))
    session.add(ItemPrice(price_list_id=pl.id, product_id=chair.id, unit_price=Decimal("300"),
                          valid_from=date(2026, 6, 1)))
    f.rule(session, "bulk consumables", "10", "item_group", item_group="consumables",
           min_qty=Decimal("50"))
    f.rule(session, "big order", "2", "order", min_amount=Decimal("5000"), priority=-1)
    session.commit()
    order, _ = place(session, [{"sku": "CHAIR", "quantity": 10}, {"sku": "PAPER", "quantity": 50}])
    chair_line, paper_line = order.lines
    assert chair_line.list_price == Decimal("420")  # the 10+ break; the June price not yet valid
    assert chair_line.pricing_source == "price list STD (from qty 10); rule 'big order' -2%"
    assert paper_line.unit_price == Decimal("22.5")  # 25 - 10 %
    assert "rule 'bulk consumables' -10%" in paper_line.pricing_source
    # the order rule (lower priority) applies where no better rule does: 4200 + 1125 >= 5000
    assert chair_line.discount_percent == Decimal("2")


def test_external_ref_replay_returns_the_same_order(session, shop):
    first, created = place(session, [{"sku": "CHAIR", "quantity": 1}], external_ref="PO-7")
    session.commit()
    again, created_again = place(session, [{"sku": "CHAIR", "quantity": 5}], external_ref="PO-7")
    assert created and not created_again and again.id == first.id


def test_credit_exposure_counts_receivables_and_open_orders(session, shop):
    first, _ = place(session, [{"sku": "CHAIR", "quantity": 10}])  # 5085.00 gross, unbilled
    session.add(Invoice(number="INV-1", order_id=first.id, customer_id=shop["acme"].id,
                        currency="CNY", issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31),
                        net_total=Decimal("1000"), tax_total=Decimal("130"),
                        total=Decimal("1130"), paid_amount=Decimal("130")))
    session.add(Payment(external_id="BANK-1", customer_id=shop["acme"].id, amount=Decimal("130"),
                        currency="CNY", unallocated=Decimal("0")))
    second, _ = place(session, [{"sku": "CHAIR", "quantity": 8}])  # 4068.00
    figures = credit.check_credit(session, second.id)
    assert Decimal(figures["open_receivables"]) == Decimal("1000")
    assert figures["unbilled_open_orders"] == "5085.00"
    assert Decimal(figures["exposure"]) == Decimal("10153.00")
    assert figures["hold"] is True and second.credit_checked["hold"] is True
    shop["acme"].credit_bypass = True
    assert credit.check_credit(session, second.id)["hold"] is False


def test_cancel_after_delivery_is_refused(session, shop):
    order, _ = place(session, [{"sku": "CHAIR", "quantity": 1}])
    order.lines[0].delivered_qty = Decimal("1")
    with pytest.raises(Conflict):
        orders.cancel(session, order.id, "changed mind")
