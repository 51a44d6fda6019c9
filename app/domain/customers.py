"""Business partners: customers and suppliers, and likely-duplicate detection on create.

A likely duplicate (same tax id, same e-mail ignoring case, or same normalised name) does not
stop the create: the new record is saved and the matches are reported, because two branches of
one group may share a tax id and only a person can tell. The customer keeps the codes in
`possible_duplicate_of` so a clerk can review them later.
"""
from sqlalchemy import func, or_, select

from app.domain.master_data import (
    Checker,
    apply,
    code_taken,
    get_by,
    insert_unique,
    normalize_name,
    page_of,
    text_search,
)
from app.models.inventory import Supplier
from app.models.sales import CUSTOMER_TYPES, Customer, PriceList
from app.models.types import ZERO

CUSTOMER_FIELDS = ("code", "name", "type", "tax_id", "email", "currency", "credit_limit",
                   "credit_bypass", "blocked", "billing_address", "shipping_address",
                   "payment_terms_days", "shipping_policy", "price_list")
SUPPLIER_FIELDS = ("code", "name", "email", "tax_id", "lead_time_days", "min_order_qty",
                   "pack_size", "active")


def find_duplicates(session, model, *, name=None, tax_id=None, email=None,
                    exclude_id=None) -> list[dict]:
    """Existing customers or suppliers that look like the same party, strongest reason first.

    Returns [{"code", "name", "reason", "reasons"}]; reason is "tax_id", "email" or "name".
    """
    normalized = normalize_name(name)
    tax_id = (tax_id or "").strip().upper()
    email = (email or "").strip().lower()
    tests = [("tax_id", tax_id, func.upper(model.tax_id) == tax_id),
             ("email", email, func.lower(model.email) == email),
             ("name", normalized, model.normalized_name == normalized)]
    conditions = [condition for _, given, condition in tests if given]
    if not conditions:
        return []
    stmt = select(model).where(or_(*conditions)).order_by(model.code)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    found = []
    for other in session.scalars(stmt):
        reasons = [reason for reason, given, _ in tests if given and {
            "tax_id": (other.tax_id or "").upper() == tax_id,
            "email": (other.email or "").lower() == email,
            "name": other.normalized_name == normalized}[reason]]
        found.append({"code": other.code, "name": other.name, "reason": reasons[0],
                      "reasons": reasons})
    return found


# ---------------------------------------------------------------- customers

def _check_customer(session, data, *, existing: Customer | None = None) -> Checker:
    checker = Checker(data, partial=existing is not None)
    checker.refuse_unknown(CUSTOMER_FIELDS if existing is None else CUSTOMER_FIELDS[1:])
    if existing is None:
        code = checker.code("code")
        if isinstance(code, str) and code_taken(session, Customer, Customer.code, code):
            checker.add("code", "already exists")
    name = checker.text("name", 200, required=True)
    if isinstance(name, str):
        checker.values["normalized_name"] = normalize_name(name)
    checker.choice("type", CUSTOMER_TYPES, default="standard")
    tax_id = checker.text("tax_id", 64)
    if isinstance(tax_id, str):
        checker.values["tax_id"] = tax_id.upper()
    checker.email("email")
    currency = checker.currency("currency")
    checker.decimal("credit_limit", 2, default=ZERO, minimum=ZERO)
    checker.boolean("credit_bypass", default=False)
    checker.boolean("blocked", default=False)
    checker.address("billing_address")
    checker.address("shipping_address")
    checker.integer("payment_terms_days", default=30, maximum=3650)
    checker.choice("shipping_policy", ("complete", "partial"), default="complete")

    price_list = existing.price_list if existing is not None else None
    code = checker.text("price_list", 32)
    checker.values.pop("price_list", None)
    if code is None:
        checker.values["price_list_id"] = price_list = None
    elif isinstance(code, str):
        price_list = session.scalar(select(PriceList).where(PriceList.code == code))
        if price_list is None:
            checker.add("price_list", f"unknown price list {code!r}")
        elif not price_list.active:
            checker.add("price_list", f"price list {code} is inactive")
            price_list = None
        else:
            checker.values["price_list_id"] = price_list.id
    if not isinstance(currency, str):
        currency = existing.currency if existing is not None else "CNY"
    given = existing is None or {"currency", "price_list"} & set(checker.data)
    if given and price_list is not None and price_list.currency != currency:
        checker.add("price_list", f"price list {price_list.code} is in {price_list.currency}, "
                                  f"the customer in {currency}")
    return checker


def create_customer(session, data: dict) -> tuple[Customer, list[dict]]:
    """A new customer, and the existing ones it may duplicate (the create succeeds anyway)."""
    checker = _check_customer(session, data)
    checker.raise_if_any("customer")
    values = checker.values
    duplicates = find_duplicates(session, Customer, name=values["name"],
                                 tax_id=values.get("tax_id"), email=values.get("email"))
    customer = Customer(**values)
    customer.possible_duplicate_of = [d["code"] for d in duplicates] or None
    insert_unique(session, customer, f"customer {customer.code}")
    return customer, duplicates


def update_customer(session, code: str, data: dict) -> Customer:
    """Partial update with the same rules; the code cannot change (orders refer to it)."""
    customer = get_by(session, Customer, Customer.code, code, "customer", lock=True)
    checker = _check_customer(session, data, existing=customer)
    checker.raise_if_any("customer")
    apply(customer, checker.values)
    session.flush()
    return customer


def get_customer(session, code: str) -> Customer:
    return get_by(session, Customer, Customer.code, code, "customer")


def list_customers(session, *, q=None, type=None, blocked=None, page=1, per_page=50) -> dict:
    stmt = select(Customer)
    if (match := text_search(q, Customer.code, Customer.name)) is not None:
        stmt = stmt.where(match)
    if type is not None:
        stmt = stmt.where(Customer.type == type)
    if blocked is not None:
        stmt = stmt.where(Customer.blocked.is_(blocked))
    return page_of(session, stmt, Customer.code, page, per_page)


def deactivate_customer(session, code: str) -> Customer:
    """Customers are never deleted (orders and invoices point at them): they are blocked."""
    return update_customer(session, code, {"blocked": True})


# ---------------------------------------------------------------- suppliers

def _check_supplier(session, data, *, existing: Supplier | None = None) -> Checker:
    checker = Checker(data, partial=existing is not None)
    checker.refuse_unknown(SUPPLIER_FIELDS if existing is None else SUPPLIER_FIELDS[1:])
    if existing is None:
        code = checker.code("code")
        if isinstance(code, str) and code_taken(session, Supplier, Supplier.code, code):
            checker.add("code", "already exists")
    name = checker.text("name", 200, required=True)
    if isinstance(name, str):
        checker.values["normalized_name"] = normalize_name(name)
    checker.email("email")
    tax_id = checker.text("tax_id", 64)
    if isinstance(tax_id, str):
        checker.values["tax_id"] = tax_id.upper()
    checker.integer("lead_time_days", default=7, maximum=3650)
    checker.decimal("min_order_qty", 3, default=ZERO, minimum=ZERO)
    checker.decimal("pack_size", 3, default=1, above=ZERO)
    checker.boolean("active", default=True)
    return checker


def create_supplier(session, data: dict) -> tuple[Supplier, list[dict]]:
    """A new supplier, and the existing ones it may duplicate (the create succeeds anyway)."""
    checker = _check_supplier(session, data)
    checker.raise_if_any("supplier")
    values = checker.values
    duplicates = find_duplicates(session, Supplier, name=values["name"],
                                 tax_id=values.get("tax_id"), email=values.get("email"))
    supplier = Supplier(**values)
    insert_unique(session, supplier, f"supplier {supplier.code}")
    return supplier, duplicates


def update_supplier(session, code: str, data: dict) -> Supplier:
    supplier = get_by(session, Supplier, Supplier.code, code, "supplier", lock=True)
    checker = _check_supplier(session, data, existing=supplier)
    checker.raise_if_any("supplier")
    apply(supplier, checker.values)
    session.flush()
    return supplier


def get_supplier(session, code: str) -> Supplier:
    return get_by(session, Supplier, Supplier.code, code, "supplier")


def list_suppliers(session, *, q=None, active=None, page=1, per_page=50) -> dict:
    stmt = select(Supplier)
    if (match := text_search(q, Supplier.code, Supplier.name)) is not None:
        stmt = stmt.where(match)
    if active is not None:
        stmt = stmt.where(Supplier.active.is_(active))
    return page_of(session, stmt, Supplier.code, page, per_page)


def deactivate_supplier(session, code: str) -> Supplier:
    return update_supplier(session, code, {"active": False})
