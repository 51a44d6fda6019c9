"""Master-data quality: records that will trip the order flow, each with where to fix it.

Checks (only records in use: customers not blocked, products active):
- customers missing a complete billing or shipping address (line1, city, country);
- customers without payment terms (0 days: invoices fall due on the day they are issued);
- customers without a credit limit (0 and no credit bypass: every order goes on credit hold);
- likely duplicate customers (flagged at creation in ``possible_duplicate_of``) while one of the
  customers they resemble is still in use;
- saleable products without a price on any active price list;
- stock-tracked products without a weight (shipping weights and carbon figures need it) or
  without a lead time (replenishment due dates need it).
BOMs referencing inactive items: not checked yet (BOMs arrive with the manufacturing work).
A fix is the API call that corrects the record (there are no master-data pages yet).
"""
from sqlalchemy import exists, select

from app.domain.master_data import ADDRESS_REQUIRED
from app.models.inventory import Product
from app.models.sales import Customer, ItemPrice, PriceList

CHECKS = {
    "customer_address": "Customers missing a billing or shipping address",
    "customer_terms": "Customers without payment terms",
    "customer_credit_limit": "Customers without a credit limit",
    "customer_duplicate": "Likely duplicate customers",
    "product_price": "Products without a price",
    "product_weight": "Products without a weight",
    "product_lead_time": "Products without a lead time",
}
SKIPPED = [{"key": "bom_inactive_items", "label": "BOMs referencing inactive items",
            "reason": "not checked yet: BOMs arrive with the manufacturing work"}]
DEFAULT_LIMIT = 100


def _address_complete(address) -> bool:
    return isinstance(address, dict) and all(address.get(k) for k in ADDRESS_REQUIRED)


def _customer_fix(code: str, fields: list[str]) -> dict:
    return {"method": "PATCH", "href": f"/api/customers/{code}", "fields": fields}


def _customer_problems(session) -> dict[str, list[dict]]:
    found = {key: [] for key in CHECKS if key.startswith("customer_")}
    customers = session.execute(
        select(Customer.code, Customer.name, Customer.billing_address, Customer.shipping_address,
               Customer.payment_terms_days, Customer.credit_limit, Customer.credit_bypass,
               Customer.possible_duplicate_of)
        .where(Customer.blocked.is_(False)).order_by(Customer.code)).all()
    in_use = {row.code for row in customers}
    for row in customers:
        item = {"code": row.code, "name": row.name}
        missing = [field for field, address in (("billing_address", row.billing_address),
                                                ("shipping_address", row.shipping_address))
                   if not _address_complete(address)]
        if missing:
            found["customer_address"].append({**item, "problem": f"{', '.join(missing)} missing "
                                              f"or without {', '.join(ADDRESS_REQUIRED)}",
                                              "fix": _customer_fix(row.code, missing)})
        if not row.payment_terms_days:
            found["customer_terms"].append({**item, "problem": "payment terms are 0 days",
                                            "fix": _customer_fix(row.code, ["payment_terms_days"])})
        if not row.credit_limit and not row.credit_bypass:
            found["customer_credit_limit"].append(
                {**item, "problem": "credit limit 0: every order goes on credit hold",
                 "fix": _customer_fix(row.code, ["credit_limit"])})
        alike = [code for code in (row.possible_duplicate_of or []) if code in in_use]
        if alike:
            found["customer_duplicate"].append(
                {**item, "problem": f"may duplicate {', '.join(alike)}", "related": alike,
                 "fix": _customer_fix(row.code, ["blocked"])})
    return found


def _product_fix(sku: str, fields: list[str]) -> dict:
    return {"method": "PATCH", "href": f"/api/products/{sku}", "fields": fields}


def _product_problems(session) -> dict[str, list[dict]]:
    found = {key: [] for key in CHECKS if key.startswith("product_")}
    priced = exists().where(ItemPrice.product_id == Product.id,
                            ItemPrice.price_list_id == PriceList.id, PriceList.active.is_(True))
    price_list = session.scalar(select(PriceList.code).where(PriceList.active.is_(True))
                                .order_by(PriceList.id).limit(1))
    price_href = f"/api/price-lists/{price_list}/items" if price_list else "/api/price-lists"
    products = session.execute(
        select(Product.sku, Product.name, Product.saleable, Product.stock_tracked,
               Product.weight_kg, Product.lead_time_days, priced.label("priced"))
        .where(Product.active.is_(True)).order_by(Product.sku)).all()
    for row in products:
        item = {"code": row.sku, "name": row.name}
        if row.saleable and not row.priced:
            found["product_price"].append({**item, "problem": "no price on an active price list",
                                           "fix": {"method": "POST", "href": price_href,
                                                   "fields": ["sku", "unit_price"]}})
        if row.stock_tracked and not row.weight_kg:
            found["product_weight"].append({**item, "problem": "weight is 0 kg",
                                            "fix": _product_fix(row.sku, ["weight_kg"])})
        if row.stock_tracked and not row.lead_time_days:
            found["product_lead_time"].append({**item, "problem": "lead time is 0 days",
                                               "fix": _product_fix(row.sku, ["lead_time_days"])})
    return found


def report(session, *, limit: int = DEFAULT_LIMIT, check: str | None = None) -> dict:
    """Every check with its count and up to ``limit`` records; ``check`` keeps just one."""
    found = {**_customer_problems(session), **_product_problems(session)}
    checks = [{"key": key, "label": label, "count": len(found[key]), "items": found[key][:limit]}
              for key, label in CHECKS.items() if check in (None, key)]
    return {"total": sum(c["count"] for c in checks), "checks": checks, "skipped": SKIPPED}


def counts(session) -> dict[str, int]:
    """Check key -> number of records with that problem (for the dashboard)."""
    return {c["key"]: c["count"] for c in report(session, limit=0)["checks"]}
