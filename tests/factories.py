"""Small builders of master data for tests (the demo seed is tested on its own)."""
from datetime import date
from decimal import Decimal

from app.models.inventory import Bin, Product, Warehouse
from app.models.sales import Customer, ItemPrice, PriceList, PricingRule

ADDRESS = {"line1": "1 Century Ave", "city": "Shanghai", "postcode": "200120", "country": "CN"}


def price_list(session, code="STD", currency="CNY"):
    pl = PriceList(code=code, name=code, currency=currency)
    session.add(pl)
    session.flush()
    return pl


def product(session, sku, price=None, pl=None, **kw):
    p = Product(sku=sku, name=kw.pop("name", sku), tax_rate=kw.pop("tax_rate", Decimal("0.13")),
                **kw)
    session.add(p)
    session.flush()
    if price is not None:
        session.add(ItemPrice(price_list_id=pl.id, product_id=p.id, unit_price=Decimal(price)))
        session.flush()
    return p


def customer(session, code, pl, **kw):
    c = Customer(code=code, name=kw.pop("name", code), normalized_name=code.lower(),
                 price_list_id=pl.id, billing_address=kw.pop("billing_address", ADDRESS),
                 shipping_address=kw.pop("shipping_address", ADDRESS),
                 credit_limit=Decimal(kw.pop("credit_limit", "100000")), **kw)
    session.add(c)
    session.flush()
    return c


def warehouse(session, code="WH", bins=("A-01", "A-02")):
    w = Warehouse(code=code, name=code)
    session.add(w)
    session.flush()
    for b in bins:
        session.add(Bin(warehouse_id=w.id, code=b))
    session.flush()
    return w


def rule(session, name, discount, applies_to, **kw):
    r = PricingRule(name=name, discount_percent=Decimal(discount), applies_to=applies_to, **kw)
    session.add(r)
    session.flush()
    return r


def dated(y, m, d):
    return date(y, m, d)
