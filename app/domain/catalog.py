"""The catalogue: products, price lists with their item prices, and pricing rules.

How a price is resolved from these is app/domain/pricing.py; here the data is kept consistent
so that resolution never meets an ambiguous or impossible entry (two prices for the same
product, quantity break and day; a rule for an item group nothing belongs to).
"""
from sqlalchemy import select

from app.domain.errors import NotFound
from app.domain.master_data import (
    MAX_INT,
    MISSING,
    Checker,
    apply,
    code_taken,
    get_by,
    insert_unique,
    page_of,
    text_search,
)
from app.models.inventory import Product, StockLedger, Supplier
from app.models.sales import ItemPrice, PriceList, PricingRule
from app.models.types import ZERO

TRACKING = ("none", "batch", "serial")
RULE_SCOPES = ("item", "item_group", "order")
PRODUCT_FIELDS = ("sku", "name", "unit", "item_group", "sales_multiple", "saleable", "active",
                  "stock_tracked", "tracking", "weight_kg", "lead_time_days", "reorder_point",
                  "reorder_qty", "tax_rate", "default_supplier")
PRICE_LIST_FIELDS = ("code", "name", "currency", "active")
ITEM_PRICE_FIELDS = ("sku", "unit_price", "min_qty", "valid_from", "valid_to")
RULE_FIELDS = ("name", "applies_to", "sku", "item_group", "min_qty", "min_amount",
               "discount_percent", "priority", "valid_from", "valid_to", "active")


def _current(checker: Checker, record, attr, default):
    """The value after this write: the new one if given and valid, else what is stored."""
    if attr in checker.values:
        return checker.values[attr]
    return getattr(record, attr) if record is not None else default


def _check_dates(checker: Checker, record=None) -> None:
    start = _current(checker, record, "valid_from", None)
    end = _current(checker, record, "valid_to", None)
    if start is not None and end is not None and end < start:
        checker.add("valid_to", "must be on or after valid_from")


def _product_by_sku(session, checker: Checker, field="sku"):
    sku = checker.text(field, 64, required=True)
    checker.values.pop(field, None)
    if not isinstance(sku, str):
        return None
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        checker.add(field, f"unknown product {sku!r}")
    return product


# ---------------------------------------------------------------- products

def _check_product(session, data, *, existing: Product | None = None) -> Checker:
    checker = Checker(data, partial=existing is not None)
    checker.refuse_unknown(PRODUCT_FIELDS if existing is None else PRODUCT_FIELDS[1:])
    if existing is None:
        sku = checker.code("sku", 64)
        if isinstance(sku, str) and code_taken(session, Product, Product.sku, sku):
            checker.add("sku", "already exists")
    checker.text("name", 200, required=True)
    checker.text("unit", 16, required=True, default="pcs")
    checker.text("item_group", 80)
    checker.decimal("sales_multiple", 3, default=1, above=ZERO)
    for flag in ("saleable", "active", "stock_tracked"):
        checker.boolean(flag, default=True)
    checker.choice("tracking", TRACKING, default="none")
    checker.decimal("weight_kg", 3, default=ZERO, minimum=ZERO)
    checker.integer("lead_time_days", default=7, maximum=3650)
    checker.decimal("reorder_point", 3, default=ZERO, minimum=ZERO)
    checker.decimal("reorder_qty", 3, default=ZERO, minimum=ZERO)
    checker.decimal("tax_rate", 4, default="0.13", minimum=ZERO, maximum=1)
    supplier_code = checker.text("default_supplier", 32)
    checker.values.pop("default_supplier", None)
    if supplier_code is None:
        checker.values["default_supplier_id"] = None
    elif supplier_code is not MISSING:
        supplier = session.scalar(select(Supplier).where(Supplier.code == supplier_code))
        if supplier is None:
            checker.add("default_supplier", f"unknown supplier {supplier_code!r}")
        else:
            checker.values["default_supplier_id"] = supplier.id

    tracking = _current(checker, existing, "tracking", "none")
    if tracking != "none" and not _current(checker, existing, "stock_tracked", True):
        checker.add("tracking", f"{tracking} tracking needs stock_tracked")
    multiple = _current(checker, existing, "sales_multiple", 1)
    if tracking == "serial" and multiple != int(multiple):
        checker.add("sales_multiple", "must be a whole number for a serial-tracked product")
    if existing is not None and tracking != existing.tracking and session.scalar(
            select(StockLedger.id).where(StockLedger.product_id == existing.id).limit(1)):
        checker.add("tracking", "cannot change once the product has stock movements")
    return checker


def create_product(session, data: dict) -> Product:
    checker = _check_product(session, data)
    checker.raise_if_any("product")
    product = Product(**checker.values)
    insert_unique(session, product, f"product {product.sku}", field="sku")
    return product


def update_product(session, sku: str, data: dict) -> Product:
    """Partial update with the same rules; the sku cannot change (ledger and orders use it)."""
    product = get_by(session, Product, Product.sku, sku, "product", lock=True)
    checker = _check_product(session, data, existing=product)
    checker.raise_if_any("product")
    apply(product, checker.values)
    session.flush()
    return product


def get_product(session, sku: str) -> Product:
    return get_by(session, Product, Product.sku, sku, "product")


def list_products(session, *, q=None, item_group=None, active=None, saleable=None,
                  page=1, per_page=50) -> dict:
    stmt = select(Product)
    if (match := text_search(q, Product.sku, Product.name)) is not None:
        stmt = stmt.where(match)
    if item_group is not None:
        stmt = stmt.where(Product.item_group == item_group)
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    if saleable is not None:
        stmt = stmt.where(Product.saleable.is_(saleable))
    return page_of(session, stmt, Product.sku, page, per_page)


def deactivate_product(session, sku: str) -> Product:
    """Products are never deleted (the ledger refers to them); inactive ones cannot be ordered."""
    return update_product(session, sku, {"active": False})


# ---------------------------------------------------------------- price lists

def create_price_list(session, data: dict) -> PriceList:
    checker = Checker(data)
    checker.refuse_unknown(PRICE_LIST_FIELDS)
    code = checker.code("code")
    if isinstance(code, str) and code_taken(session, PriceList, PriceList.code, code):
        checker.add("code", "already exists")
    checker.text("name", 200, required=True)
    checker.currency("currency")
    checker.boolean("active", default=True)
    checker.raise_if_any("price list")
    price_list = PriceList(**checker.values)
    insert_unique(session, price_list, f"price list {code}")
    return price_list


def update_price_list(session, code: str, data: dict) -> PriceList:
    """Name and active; the currency is fixed once created (its prices are in it)."""
    price_list = get_by(session, PriceList, PriceList.code, code, "price list", lock=True)
    checker = Checker(data, partial=True)
    checker.refuse_unknown(("name", "active"))
    checker.text("name", 200, required=True)
    checker.boolean("active")
    checker.raise_if_any("price list")
    apply(price_list, checker.values)
    session.flush()
    return price_list


def get_price_list(session, code: str) -> PriceList:
    """The price list with its item prices (.items) and pricing rules (.rules)."""
    return get_by(session, PriceList, PriceList.code, code, "price list")


def list_price_lists(session, *, q=None, active=None, page=1, per_page=50) -> dict:
    stmt = select(PriceList)
    if (match := text_search(q, PriceList.code, PriceList.name)) is not None:
        stmt = stmt.where(match)
    if active is not None:
        stmt = stmt.where(PriceList.active.is_(active))
    return page_of(session, stmt, PriceList.code, page, per_page)


def deactivate_price_list(session, code: str) -> PriceList:
    return update_price_list(session, code, {"active": False})


def _overlaps(a_from, a_to, b_from, b_to) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and \
           (b_to is None or a_from is None or a_from <= b_to)


def add_item_price(session, price_list_code: str, data: dict) -> ItemPrice:
    """A product's price from a quantity, for a period; no two may cover the same day."""
    price_list = get_by(session, PriceList, PriceList.code, price_list_code, "price list",
                        lock=True)  # serialises additions to one list: the overlap test holds
    checker = Checker(data)
    checker.refuse_unknown(ITEM_PRICE_FIELDS)
    product = _product_by_sku(session, checker)
    checker.decimal("unit_price", 4, required=True, above=ZERO)
    min_qty = checker.decimal("min_qty", 3, default=ZERO, minimum=ZERO)
    start, end = checker.date("valid_from"), checker.date("valid_to")
    _check_dates(checker)
    if product is not None and min_qty is not MISSING and not checker.problems:
        for other in session.scalars(select(ItemPrice).where(
                ItemPrice.price_list_id == price_list.id, ItemPrice.product_id == product.id,
                ItemPrice.min_qty == min_qty)):
            if _overlaps(start, end, other.valid_from, other.valid_to):
                checker.add("valid_from", f"overlaps the price {other.unit_price} (id {other.id}) "
                                          "for the same product and min_qty")
    checker.raise_if_any("item price")
    item = ItemPrice(price_list_id=price_list.id, product_id=product.id, **checker.values)
    session.add(item)
    session.flush()
    session.refresh(price_list, ["items"])
    return item


def remove_item_price(session, price_list_code: str, item_id: int) -> None:
    price_list = get_by(session, PriceList, PriceList.code, price_list_code, "price list")
    item = session.scalar(select(ItemPrice).where(ItemPrice.id == item_id,
                                                  ItemPrice.price_list_id == price_list.id))
    if item is None:
        raise NotFound(f"no item price {item_id} in price list {price_list_code}")
    price_list.items.remove(item)  # delete-orphan: the row goes, the loaded list agrees
    session.flush()


# ---------------------------------------------------------------- pricing rules

def add_pricing_rule(session, price_list_code: str | None, data: dict) -> PricingRule:
    """A discount rule for one price list (or for all when price_list_code is None)."""
    price_list = None
    if price_list_code is not None:
        price_list = get_by(session, PriceList, PriceList.code, price_list_code, "price list")
    checker = Checker(data)
    checker.refuse_unknown(RULE_FIELDS)
    name = checker.text("name", 200, required=True)
    scope = checker.choice("applies_to", RULE_SCOPES)
    sku_given = data.get("sku") if isinstance(data, dict) else None
    group = checker.text("item_group", 80)
    min_qty = checker.decimal("min_qty", 3, default=ZERO, minimum=ZERO)
    min_amount = checker.decimal("min_amount", 2, default=ZERO, minimum=ZERO)
    checker.decimal("discount_percent", 4, required=True, minimum=ZERO, maximum=100)
    checker.integer("priority", default=0, minimum=-MAX_INT)
    checker.date("valid_from")
    checker.date("valid_to")
    checker.boolean("active", default=True)
    _check_dates(checker)

    product = None
    if scope == "item":
        product = _product_by_sku(session, checker)
    elif sku_given is not None:
        checker.add("sku", "only for rules that apply to an item")
    if scope == "item_group" and group is None:
        checker.add("item_group", "is required for a rule that applies to an item group")
    elif scope == "item_group" and isinstance(group, str) and session.scalar(
            select(Product.id).where(Product.item_group == group).limit(1)) is None:
        checker.add("item_group", f"no product is in item group {group!r}")
    elif scope in ("item", "order") and group is not None and group is not MISSING:
        checker.add("item_group", "only for rules that apply to an item group")
    if scope == "order" and min_qty not in (MISSING, ZERO):
        checker.add("min_qty", "an order rule breaks on min_amount, not on a quantity")
    if scope in ("item", "item_group") and min_amount not in (MISSING, ZERO):
        checker.add("min_amount", "only order rules break on an amount")
    same_list = (PricingRule.price_list_id == price_list.id) if price_list is not None \
        else PricingRule.price_list_id.is_(None)
    if isinstance(name, str) and session.scalar(select(PricingRule.id).where(
            PricingRule.name == name, same_list).limit(1)) is not None:
        checker.add("name", "already exists")
    checker.raise_if_any("pricing rule")
    rule = PricingRule(price_list_id=price_list.id if price_list else None,
                       product_id=product.id if product else None, **checker.values)
    session.add(rule)
    session.flush()
    if price_list is not None:
        session.refresh(price_list, ["rules"])
    return rule


def deactivate_pricing_rule(session, rule_id: int) -> PricingRule:
    rule = get_by(session, PricingRule, PricingRule.id, rule_id, "pricing rule", lock=True)
    rule.active = False
    session.flush()
    return rule
