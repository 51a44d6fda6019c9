"""Master data in the domain: validation that names every problem, duplicate flags, the seed."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import catalog, customers, demo_data, master_data
from app.domain.errors import Invalid, NotFound
from app.models.inventory import Bin, Product, StockLedger, StockLevel, Supplier, Warehouse
from app.models.sales import Customer, ItemPrice, PriceList, PricingRule

ADDRESS = {"line1": "No. 500 Zhangyang Road", "city": "Shanghai", "country": "CN"}


def fields_of(excinfo) -> dict:
    return {p["field"]: p["message"] for p in excinfo.value.details}


def make_customer(session, code="C-1", name="Shanghai Hengtai Trading Co., Ltd.", **extra):
    customer, duplicates = customers.create_customer(session, {"code": code, "name": name,
                                                               **extra})
    return customer, duplicates


# ---------------------------------------------------------------- customers

def test_a_customer_gets_defaults_and_a_normalised_name(session):
    catalog.create_price_list(session, {"code": "STANDARD", "name": "Standard"})
    customer, duplicates = make_customer(
        session, tax_id="91310115ma1fl3q8x1", email="Buyer@Hengtai.Example.com",
        credit_limit="12000.5", billing_address={**ADDRESS, "country": "cn"},
        price_list="STANDARD")
    assert duplicates == [] and customer.possible_duplicate_of is None
    assert customer.normalized_name == "shanghai hengtai trading"
    assert (customer.type, customer.currency, customer.payment_terms_days) == (
        "standard", "CNY", 30)
    assert customer.credit_limit == Decimal("12000.50")
    assert customer.email == "buyer@hengtai.example.com" and customer.tax_id.isupper()
    assert customer.billing_address["country"] == "CN"
    assert customer.price_list.code == "STANDARD"


def test_customer_validation_names_every_problem_at_once(session):
    make_customer(session)
    catalog.create_price_list(session, {"code": "USD-LIST", "name": "Dollar", "currency": "USD"})
    with pytest.raises(Invalid) as excinfo:
        customers.create_customer(session, {
            "code": "C-1", "type": "gold", "currency": "yuan", "credit_limit": "-1",
            "email": "not-an-address", "payment_terms_days": -5, "price_list": "USD-LIST",
            "billing_address": {"line1": "x", "country": "China"},
            "shipping_address": {"city": "Shanghai", "floor": 3}, "colour": "red"})
    assert fields_of(excinfo) == {
        "colour": "unknown field",
        "code": "already exists",
        "name": "is required",
        "type": "must be one of: standard, vip, key_account",
        "email": "is not an e-mail address",
        "currency": "must be a 3-letter ISO 4217 code",
        "credit_limit": "must be at least 0",
        "billing_address.city": "is required",
        "billing_address.country": "must be a 2-letter ISO 3166 country code",
        "shipping_address.floor": "unknown field",
        "shipping_address.line1": "is required",
        "shipping_address.country": "is required",
        "payment_terms_days": "must be between 0 and 3650",
        "price_list": "price list USD-LIST is in USD, the customer in CNY",
    }
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


@pytest.mark.parametrize("bad, field, message", [
    ({"code": "has space"}, "code", "use letters, digits, '.', '_' or '-' (no spaces)"),
    ({"code": "X" * 33}, "code", "must be at most 32 characters"),
    ({"credit_limit": "12.345"}, "credit_limit", "must have at most 2 decimal places"),
    ({"credit_limit": "1e20"}, "credit_limit", "is too large"),
    ({"credit_limit": "NaN"}, "credit_limit", "must be a number"),
    ({"credit_limit": None}, "credit_limit", "must be a number"),
    ({"credit_bypass": "yes"}, "credit_bypass", "must be true or false"),
    ({"payment_terms_days": 10**12}, "payment_terms_days", "must be between 0 and 3650"),
    ({"billing_address": "Shanghai"}, "billing_address",
     "must be an object with line1, city and country"),
    ({"price_list": "NOPE"}, "price_list", "unknown price list 'NOPE'"),
    ({"name": "  "}, "name", "is required"),
])
def test_bad_values_are_problems_not_crashes(session, bad, field, message):
    with pytest.raises(Invalid) as excinfo:
        customers.create_customer(session, {"code": "C-9", "name": "Acme", **bad})
    assert fields_of(excinfo) == {field: message}


def test_update_is_partial_keeps_the_code_and_renormalises(session):
    make_customer(session)
    customer = customers.update_customer(session, "C-1", {"name": "Hengtai Group GmbH",
                                                          "credit_limit": "500"})
    assert customer.normalized_name == "hengtai group"
    assert customer.credit_limit == Decimal("500.00") and customer.type == "standard"
    with pytest.raises(Invalid) as excinfo:
        customers.update_customer(session, "C-1", {"code": "C-2", "name": None, "type": "x"})
    assert set(fields_of(excinfo)) == {"code", "name", "type"}
    with pytest.raises(NotFound):
        customers.update_customer(session, "NOPE", {"name": "x"})


def test_deactivating_a_customer_blocks_it(session):
    make_customer(session)
    assert customers.deactivate_customer(session, "C-1").blocked is True


@pytest.mark.parametrize("name, normalised", [
    ("Shanghai Hengtai Trading Co., Ltd.", "shanghai hengtai trading"),
    ("SHANGHAI  HENGTAI-TRADING CO LTD", "shanghai hengtai trading"),
    ("Hengtai Trading GmbH & Co. KG", "hengtai trading"),
    ("Acme, Inc.", "acme"),
    ("上海恒泰贸易有限公司", "上海恒泰贸易"),
    ("上海恒泰贸易股份有限公司", "上海恒泰贸易"),
    ("Ｓｈａｎｇｈａｉ　Ｈｅｎｇｔａｉ", "shanghai hengtai"),  # full-width, as typed on a CJK IME
    ("Co. Ltd.", ""),
])
def test_normalize_name(name, normalised):
    assert master_data.normalize_name(name) == normalised


@pytest.mark.parametrize("second, reason", [
    ({"name": "Totally Different Name", "tax_id": "91310115MA1FL3Q8X1"}, "tax_id"),
    ({"name": "Another Buyer", "email": "PURCHASING@hengtai.example.com"}, "email"),
    ({"name": "SHANGHAI HENGTAI TRADING LIMITED (上海恒泰贸易有限公司)"}, "name"),
])
def test_likely_duplicates_are_flagged_but_created(session, second, reason):
    make_customer(session, name="Shanghai Hengtai Trading Co., Ltd. 上海恒泰贸易有限公司",
                  tax_id="91310115MA1FL3Q8X1", email="purchasing@hengtai.example.com")
    make_customer(session, code="C-2", name="Unrelated Ltd", tax_id="91110108MA01B4T6X2",
                  email="someone@else.example.com")
    customer, duplicates = customers.create_customer(session, {"code": "C-3", **second})
    assert duplicates == [{"code": "C-1",
                           "name": "Shanghai Hengtai Trading Co., Ltd. 上海恒泰贸易有限公司",
                           "reason": reason, "reasons": [reason]}]
    assert customer.id is not None and customer.possible_duplicate_of == ["C-1"]


def test_every_matching_reason_is_listed_strongest_first(session):
    make_customer(session, email="a@hengtai.example.com", tax_id="91310115MA1FL3Q8X1")
    _, duplicates = make_customer(session, code="C-2", email="A@hengtai.example.com",
                                  tax_id="91310115MA1FL3Q8X1")
    assert duplicates[0]["reason"] == "tax_id"
    assert duplicates[0]["reasons"] == ["tax_id", "email", "name"]


def test_suppliers_are_flagged_too(session):
    first, _ = customers.create_supplier(session, {"code": "S-1", "name": "Huaxin Electronics Co.",
                                                   "email": "sales@huaxin.example.com"})
    assert first.normalized_name == "huaxin electronics" and first.active is True
    supplier, duplicates = customers.create_supplier(
        session, {"code": "S-2", "name": "HUAXIN ELECTRONICS LIMITED", "pack_size": "10"})
    assert [d["code"] for d in duplicates] == ["S-1"] and duplicates[0]["reason"] == "name"
    assert supplier.pack_size == Decimal("10.000")
    with pytest.raises(Invalid) as excinfo:
        customers.create_supplier(session, {"code": "S-1", "pack_size": "0",
                                            "min_order_qty": "-1", "lead_time_days": "7"})
    assert set(fields_of(excinfo)) == {"code", "name", "pack_size", "min_order_qty",
                                       "lead_time_days"}
    assert customers.deactivate_supplier(session, "S-2").active is False
    assert customers.list_suppliers(session, active=True)["total"] == 1


# ---------------------------------------------------------------- catalogue

def test_product_validation_names_every_problem(session):
    catalog.create_product(session, {"sku": "P-1", "name": "Desk"})
    with pytest.raises(Invalid) as excinfo:
        catalog.create_product(session, {
            "sku": "P-1", "tracking": "lot", "sales_multiple": "0", "tax_rate": "1.5",
            "weight_kg": "-2", "reorder_point": "-1", "default_supplier": "NOPE",
            "lead_time_days": 1.5, "saleable": None})
    assert fields_of(excinfo) == {
        "sku": "already exists", "name": "is required",
        "tracking": "must be one of: none, batch, serial",
        "sales_multiple": "must be greater than 0", "tax_rate": "must be at most 1",
        "weight_kg": "must be at least 0", "reorder_point": "must be at least 0",
        "default_supplier": "unknown supplier 'NOPE'",
        "lead_time_days": "must be a whole number", "saleable": "must be true or false"}


def test_product_tracking_rules(session):
    with pytest.raises(Invalid) as excinfo:
        catalog.create_product(session, {"sku": "LT", "name": "Laptop", "tracking": "serial",
                                         "stock_tracked": False, "sales_multiple": "0.5"})
    assert set(fields_of(excinfo)) == {"tracking", "sales_multiple"}
    customers.create_supplier(session, {"code": "S-1", "name": "Huaxin"})
    product = catalog.create_product(session, {"sku": "LT", "name": "Laptop", "tracking": "serial",
                                               "default_supplier": "S-1"})
    assert product.default_supplier.code == "S-1" and product.tax_rate == Decimal("0.1300")
    assert catalog.update_product(session, "LT", {"tracking": "none"}).tracking == "none"
    session.add(Warehouse(code="W", name="W", bins=[Bin(code="A")]))
    session.flush()
    session.add(StockLedger(product_id=product.id, bin_id=session.scalar(select(Bin.id)),
                            quantity=Decimal(1), kind="receipt"))
    session.flush()
    with pytest.raises(Invalid) as excinfo:
        catalog.update_product(session, "LT", {"tracking": "serial"})
    assert fields_of(excinfo) == {
        "tracking": "cannot change once the product has stock movements"}
    assert catalog.deactivate_product(session, "LT").active is False


def test_price_lists_item_prices_and_overlaps(session):
    catalog.create_product(session, {"sku": "P-1", "name": "Desk"})
    with pytest.raises(Invalid) as excinfo:
        catalog.create_price_list(session, {"code": "EUR LIST", "currency": "EURO"})
    assert set(fields_of(excinfo)) == {"code", "name", "currency"}
    price_list = catalog.create_price_list(session, {"code": "STD", "name": "Standard",
                                                     "currency": "cny"})
    assert price_list.currency == "CNY"
    with pytest.raises(Invalid) as excinfo:
        catalog.add_item_price(session, "STD", {"sku": "NOPE", "unit_price": "0", "min_qty": "-1",
                                                "valid_from": "2026-03-01",
                                                "valid_to": "2026-02-01"})
    assert fields_of(excinfo) == {"sku": "unknown product 'NOPE'",
                                  "unit_price": "must be greater than 0",
                                  "min_qty": "must be at least 0",
                                  "valid_to": "must be on or after valid_from"}
    first = catalog.add_item_price(session, "STD", {"sku": "P-1", "unit_price": "2380",
                                                    "valid_to": "2026-12-31"})
    catalog.add_item_price(session, "STD", {"sku": "P-1", "unit_price": "2200", "min_qty": "10"})
    catalog.add_item_price(session, "STD", {"sku": "P-1", "unit_price": "2480",
                                            "valid_from": date(2027, 1, 1)})
    with pytest.raises(Invalid) as excinfo:
        catalog.add_item_price(session, "STD", {"sku": "P-1", "unit_price": "2300",
                                                "valid_from": "2026-06-01",
                                                "valid_to": "2026-06-30"})
    assert list(fields_of(excinfo)) == ["valid_from"]
    assert [i.unit_price for i in catalog.get_price_list(session, "STD").items] == [
        Decimal("2380"), Decimal("2200"), Decimal("2480")]
    catalog.remove_item_price(session, "STD", first.id)
    assert len(catalog.get_price_list(session, "STD").items) == 2
    with pytest.raises(NotFound):
        catalog.remove_item_price(session, "STD", first.id)
    assert catalog.deactivate_price_list(session, "STD").active is False
    with pytest.raises(Invalid) as excinfo:
        make_customer(session, price_list="STD")
    assert fields_of(excinfo) == {"price_list": "price list STD is inactive"}


@pytest.mark.parametrize("rule, problems", [
    ({"applies_to": "item", "item_group": "consumables", "discount_percent": "120"},
     {"sku", "item_group", "discount_percent"}),
    ({"applies_to": "item_group", "sku": "P-1", "discount_percent": "-1"},
     {"sku", "item_group", "discount_percent"}),
    ({"applies_to": "item_group", "item_group": "furniture", "discount_percent": "5"},
     {"item_group"}),  # nothing is in that group: a typo
    ({"applies_to": "order", "min_qty": "5", "discount_percent": "5"}, {"min_qty"}),
    ({"applies_to": "item", "sku": "P-1", "min_amount": "100", "discount_percent": "5",
      "valid_from": "2026-02-01", "valid_to": "2026-01-01"}, {"min_amount", "valid_to"}),
    ({"applies_to": "everything"}, {"applies_to", "discount_percent"}),
])
def test_pricing_rules_must_be_consistent(session, rule, problems):
    catalog.create_product(session, {"sku": "P-1", "name": "Paper", "item_group": "consumables"})
    catalog.create_price_list(session, {"code": "STD", "name": "Standard"})
    with pytest.raises(Invalid) as excinfo:
        catalog.add_pricing_rule(session, "STD", {"name": "r", **rule})
    assert set(fields_of(excinfo)) == problems


def test_pricing_rules_are_added_and_deactivated(session):
    catalog.create_product(session, {"sku": "P-1", "name": "Paper", "item_group": "consumables"})
    catalog.create_price_list(session, {"code": "STD", "name": "Standard"})
    rule = catalog.add_pricing_rule(session, "STD", {
        "name": "bulk", "applies_to": "item_group", "item_group": "consumables",
        "min_qty": "50", "discount_percent": "10"})
    order_rule = catalog.add_pricing_rule(session, None, {
        "name": "big orders", "applies_to": "order", "min_amount": "50000",
        "discount_percent": "2.5"})
    assert order_rule.price_list_id is None
    assert [r.name for r in catalog.get_price_list(session, "STD").rules] == ["bulk"]
    with pytest.raises(Invalid) as excinfo:
        catalog.add_pricing_rule(session, "STD", {"name": "bulk", "applies_to": "order",
                                                  "discount_percent": "1"})
    assert fields_of(excinfo) == {"name": "already exists"}
    assert catalog.deactivate_pricing_rule(session, rule.id).active is False


# ---------------------------------------------------------------- warehouses, paging

def test_warehouses_and_bins(session):
    with pytest.raises(Invalid) as excinfo:
        master_data.create_warehouse(session, {"code": "SH", "address": {"city": "Shanghai"},
                                               "bins": [{"code": "A-01"}, {"code": "A-01"},
                                                        {"code": "a b"}]})
    assert set(fields_of(excinfo)) == {"name", "address.line1", "address.country",
                                       "bins[1].code", "bins[2].code"}
    warehouse = master_data.create_warehouse(session, {
        "code": "SH", "name": "Shanghai", "address": ADDRESS,
        "bins": [{"code": "B-01"}, {"code": "A-01"}]})
    assert [b.code for b in warehouse.bins] == ["A-01", "B-01"]
    master_data.add_bin(session, "SH", {"code": "A-02"})
    with pytest.raises(Invalid) as excinfo:
        master_data.add_bin(session, "SH", {"code": "A-02"})
    assert fields_of(excinfo) == {"code": "already exists"}
    assert [b.code for b in master_data.get_warehouse(session, "SH").bins] == [
        "A-01", "A-02", "B-01"]
    assert master_data.deactivate_warehouse(session, "SH").active is False
    with pytest.raises(NotFound):
        master_data.add_bin(session, "NOPE", {"code": "X"})


def test_a_code_taken_behind_the_check_is_a_422_and_the_session_lives_on(session):
    make_customer(session)
    session.commit()
    with pytest.raises(Invalid) as excinfo:
        master_data.insert_unique(session, Customer(code="C-1", name="x", normalized_name="x"),
                                  "customer C-1")
    assert fields_of(excinfo) == {"code": "already exists"}
    make_customer(session, code="C-2")  # the savepoint rolled back alone
    session.commit()
    assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_lists_search_filter_and_page(session):
    for n in range(1, 6):
        make_customer(session, code=f"C-{n}", name=f"Buyer {n} 100%_off",
                      type="vip" if n % 2 else "standard", blocked=n == 5)
    page = customers.list_customers(session, type="vip", page=1, per_page=2)
    assert page["total"] == 3 and [c.code for c in page["items"]] == ["C-1", "C-3"]
    assert [c.code for c in customers.list_customers(session, type="vip", page=2,
                                                     per_page=2)["items"]] == ["C-5"]
    assert customers.list_customers(session, blocked=True)["total"] == 1
    assert customers.list_customers(session, q="buyer 4")["total"] == 1
    assert customers.list_customers(session, q="0%_")["total"] == 5
    assert customers.list_customers(session, q="1_0")["total"] == 0  # _ is literal


# ---------------------------------------------------------------- the demo company

def snapshot(session) -> dict:
    counts = {model.__name__: session.scalar(select(func.count()).select_from(model))
              for model in (PriceList, ItemPrice, PricingRule, Product, Supplier, Warehouse,
                            Bin, Customer, StockLedger)}
    counts["on_hand"] = sorted((lvl.product_id, lvl.bin_id, lvl.on_hand)
                               for lvl in session.scalars(select(StockLevel)))
    return counts


def test_the_demo_seed_is_idempotent(session):
    first = demo_data.seed(session)
    session.commit()
    assert first["customers"] == 6 and first["stock_receipts"] == 26
    before = snapshot(session)
    second = demo_data.seed(session)
    session.commit()
    assert set(second.values()) == {0}
    assert snapshot(session) == before


def test_the_demo_company_is_believable(session):
    demo_data.seed(session, today=date(2026, 3, 2))
    by_code = {c.code: c for c in session.scalars(select(Customer))}
    assert len(by_code) == 6 and {c.currency for c in by_code.values()} == {"CNY"}
    vip = [c for c in by_code.values() if c.type == "vip"]
    assert len(vip) == 1 and vip[0].price_list.code == "VIP"
    assert any(c.type == "key_account" for c in by_code.values())
    assert [c.code for c in by_code.values() if c.blocked] == ["C-1006"]
    assert [c.code for c in by_code.values() if c.credit_bypass] == ["C-1005"]
    assert by_code["C-1004"].credit_limit == Decimal("8000.00")
    for customer in by_code.values():
        assert len(customer.tax_id) == 18 and customer.email.endswith("example.com")
        assert customer.billing_address["country"] == "CN" and customer.billing_address["postcode"]
        assert customer.possible_duplicate_of is None
    assert demo_data.uscc("310115", "MA1FL3Q8")[-1] in demo_data.USCC_CHARS

    products = {p.sku: p for p in session.scalars(select(Product))}
    assert len(products) == 20
    assert {p.item_group for p in products.values()} == {
        "office_furniture", "electronics", "consumables", "spare_parts"}
    assert products["ELE-LAP-14"].tracking == "serial"
    assert products["CON-TONER-K"].tracking == "batch"
    assert all(p.default_supplier is not None and p.weight_kg > 0 for p in products.values())

    prices = {(i.price_list.code, i.product.sku): i.unit_price
              for i in session.scalars(select(ItemPrice).where(ItemPrice.min_qty == 0))}
    assert sum(1 for (pl, _), price in prices.items() if pl == "STANDARD" and price > 5000) >= 3
    for sku in products:
        ratio = prices[("VIP", sku)] / prices[("STANDARD", sku)]
        assert Decimal("0.94") < ratio < Decimal("0.96")
    rule = session.scalar(select(PricingRule))
    assert (rule.item_group, rule.min_qty, rule.discount_percent) == (
        "consumables", Decimal("50"), Decimal("10"))

    warehouses = {w.code: [b.code for b in w.bins] for w in session.scalars(select(Warehouse))}
    assert warehouses == {"SH-MAIN": ["A-01", "A-02", "A-03", "A-04", "A-05", "B-01", "B-02",
                                      "B-03"],
                          "BJ-NORTH": ["01", "02", "03"]}
    assert session.scalar(select(func.count()).select_from(Supplier)) == 3

    on_hand = dict(session.execute(
        select(Product.sku, func.sum(StockLevel.on_hand)).join(
            StockLevel, StockLevel.product_id == Product.id).group_by(Product.sku)).all())
    assert on_hand["ELE-PRN-A3"] == 1 and on_hand["FUR-TABLE-MTG"] == 2
    assert "SPR-FUSER-A3" not in on_hand  # none at all: every order of it is short
    assert on_hand["CON-TONER-K"] == 52 and on_hand["ELE-LAP-14"] == 8
    serials = session.scalars(select(StockLedger.serial).where(
        StockLedger.serial.is_not(None))).all()
    assert len(set(serials)) == 8
    expiries = sorted(session.scalars(select(StockLedger.expiry).where(
        StockLedger.batch.is_not(None))))
    assert expiries == [date(2026, 6, 30), date(2027, 6, 25)]
