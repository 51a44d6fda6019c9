"""Master-data quality: each check finds exactly the records in use that have the problem."""
from decimal import Decimal

from app.domain import data_quality
from app.models.sales import ItemPrice
from tests import factories

NO_CITY = {"line1": "1 Century Ave", "country": "CN"}


def keys(report, check):
    [found] = [c for c in report["checks"] if c["key"] == check]
    return [item["code"] for item in found["items"]]


def item(report, check, code):
    [found] = [c for c in report["checks"] if c["key"] == check]
    return next(i for i in found["items"] if i["code"] == code)


def test_customer_checks(session):
    pl = factories.price_list(session)
    factories.customer(session, "C-OK", pl)
    factories.customer(session, "C-NOSHIP", pl, shipping_address=None)
    factories.customer(session, "C-NOCITY", pl, billing_address=NO_CITY)
    factories.customer(session, "C-TERMS", pl, payment_terms_days=0)
    factories.customer(session, "C-LIMIT", pl, credit_limit="0")
    factories.customer(session, "C-BYPASS", pl, credit_limit="0", credit_bypass=True)
    factories.customer(session, "C-BLOCKED", pl, shipping_address=None, credit_limit="0",
                       payment_terms_days=0, blocked=True, possible_duplicate_of=["C-OK"])
    factories.customer(session, "C-DUP", pl, possible_duplicate_of=["C-OK", "C-GONE"])
    factories.customer(session, "C-DUP-OF-BLOCKED", pl, possible_duplicate_of=["C-BLOCKED"])
    session.commit()

    report = data_quality.report(session)
    assert keys(report, "customer_address") == ["C-NOCITY", "C-NOSHIP"]
    assert item(report, "customer_address", "C-NOSHIP")["fix"] == {
        "method": "PATCH", "href": "/api/customers/C-NOSHIP", "fields": ["shipping_address"]}
    assert item(report, "customer_address", "C-NOCITY")["fix"]["fields"] == ["billing_address"]
    assert keys(report, "customer_terms") == ["C-TERMS"]
    assert keys(report, "customer_credit_limit") == ["C-LIMIT"]
    assert item(report, "customer_credit_limit", "C-LIMIT")["fix"]["fields"] == ["credit_limit"]
    # the duplicate of a blocked (retired) customer is settled; C-GONE does not exist
    assert keys(report, "customer_duplicate") == ["C-DUP"]
    assert item(report, "customer_duplicate", "C-DUP")["related"] == ["C-OK"]
    assert data_quality.counts(session) == {
        "customer_address": 2, "customer_terms": 1, "customer_credit_limit": 1,
        "customer_duplicate": 1, "product_price": 0, "product_weight": 0,
        "product_lead_time": 0}
    assert report["total"] == 5
    assert report["skipped"][0]["key"] == "bom_inactive_items"


def test_product_checks(session):
    pl = factories.price_list(session, "STD")
    retired = factories.price_list(session, "OLD")
    retired.active = False
    factories.product(session, "P-OK", price="10", pl=pl, weight_kg=Decimal("1"))
    factories.product(session, "P-NOPRICE", weight_kg=Decimal("1"))
    only_old = factories.product(session, "P-OLDPRICE", weight_kg=Decimal("1"))
    session.add(ItemPrice(price_list_id=retired.id, product_id=only_old.id,
                          unit_price=Decimal("5")))
    factories.product(session, "P-NOTSOLD", saleable=False, weight_kg=Decimal("1"))
    factories.product(session, "P-NOWEIGHT", price="10", pl=pl)
    factories.product(session, "P-SERVICE", price="10", pl=pl, stock_tracked=False)
    factories.product(session, "P-NOLEAD", price="10", pl=pl, weight_kg=Decimal("1"),
                      lead_time_days=0)
    factories.product(session, "P-RETIRED", active=False)
    session.commit()

    report = data_quality.report(session)
    assert keys(report, "product_price") == ["P-NOPRICE", "P-OLDPRICE"]
    assert item(report, "product_price", "P-NOPRICE")["fix"] == {
        "method": "POST", "href": "/api/price-lists/STD/items", "fields": ["sku", "unit_price"]}
    assert keys(report, "product_weight") == ["P-NOWEIGHT"]
    assert item(report, "product_weight", "P-NOWEIGHT")["fix"] == {
        "method": "PATCH", "href": "/api/products/P-NOWEIGHT", "fields": ["weight_kg"]}
    assert keys(report, "product_lead_time") == ["P-NOLEAD"]


def test_limit_and_one_check(session):
    pl = factories.price_list(session)
    for n in range(3):
        factories.customer(session, f"C-{n}", pl, payment_terms_days=0)
    session.commit()
    report = data_quality.report(session, limit=2, check="customer_terms")
    [check] = report["checks"]
    assert (check["key"], check["count"], len(check["items"])) == ("customer_terms", 3, 2)
    assert report["total"] == 3
