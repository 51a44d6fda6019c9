"""Builders shared by the page tests and the browser tests: an order whose process is a small
test diagram, and CSRF-aware form posts through the Flask test client."""
import re
from decimal import Decimal

from app.models.sales import SalesOrder, SalesOrderLine
from tests import factories

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def login(client, username, password="pw"):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def post(client, path, data=None, token_from="/inbox"):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)})


def order_with_process(session, runtime, number="SO-2026-0001", *, customer="Acme Trading",
                       items=(900, 900), process_id="basic_flow", code=None):
    """A sales order (2 x Widget at 900) whose ``process_id`` instance has the order number as
    business key, like order_lifecycle instances do."""
    pl = factories.price_list(session, code=f"PL-{number}")
    product = factories.product(session, f"W-{number}", price="900", pl=pl, name="Widget")
    cust = factories.customer(session, code or f"C-{number}", pl, name=customer)
    net = Decimal("1800.00")
    order = SalesOrder(number=number, customer_id=cust.id, currency="CNY", net_total=net,
                       tax_total=Decimal("234.00"), total=Decimal("2034.00"), created_by="shop")
    order.lines = [SalesOrderLine(line_no=1, product_id=product.id, quantity=Decimal("2"),
                                  list_price=Decimal("900"), unit_price=Decimal("900"),
                                  amount=net, tax_rate=Decimal("0.13"),
                                  tax_amount=Decimal("234.00"), pricing_source="price list")]
    session.add(order)
    session.commit()
    instance, _ = runtime.start(process_id, business_key=number, data={"items": list(items)})
    order = session.get(SalesOrder, order.id)
    order.process_instance_id = instance.id
    session.commit()
    return order, instance
