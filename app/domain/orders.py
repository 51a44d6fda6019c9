"""Sales orders: entry with validation and pricing, the facts the process records, the status.

The order's status is derived from facts (delivered and billed quantities, recorded decisions,
where its process waits), never kept as a sticky flag.
"""
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from app.domain import pricing
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.numbering import next_number
from app.models.inventory import Product
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import ZERO, utcnow

ADDRESS_FIELDS = ("line1", "city", "country")


def get_order(session, number_or_id) -> SalesOrder:
    column = SalesOrder.id if isinstance(number_or_id, int) else SalesOrder.number
    order = session.scalar(select(SalesOrder).where(column == number_or_id))
    if order is None:
        raise NotFound(f"order {number_or_id} not found")
    return order


def find_by_external_ref(session, customer_code: str, external_ref: str) -> SalesOrder | None:
    return session.scalar(select(SalesOrder).join(Customer).where(
        Customer.code == customer_code, SalesOrder.external_ref == external_ref))


def _address_problems(address, field) -> list[dict]:
    if not isinstance(address, dict) or not all(address.get(k) for k in ADDRESS_FIELDS):
        return [{"field": field, "message": f"needs {', '.join(ADDRESS_FIELDS)}"}]
    return []


def _customer_problems(customer: Customer | None, code) -> list[dict]:
    if customer is None:
        return [{"field": "customer", "message": f"unknown customer {code!r}"}]
    problems = []
    if customer.blocked:
        problems.append({"field": "customer", "message": f"customer {customer.code} is blocked"})
    problems += _address_problems(customer.billing_address, "customer.billing_address")
    return problems


def _line_problems(index, product: Product | None, sku, quantity) -> list[dict]:
    field = f"lines[{index}]"
    if product is None:
        return [{"field": f"{field}.sku", "message": f"unknown product {sku!r}"}]
    problems = []
    if not product.active or not product.saleable:
        problems.append({"field": f"{field}.sku", "message": f"{sku} is not for sale"})
    if quantity is None or quantity <= 0:
        problems.append({"field": f"{field}.quantity", "message": "must be greater than 0"})
    elif product.sales_multiple and quantity % product.sales_multiple != 0:
        problems.append({"field": f"{field}.quantity",
                         "message": f"must be a multiple of {product.sales_multiple.normalize():f} "
                                    f"{product.unit}"})
    return problems


def _decimal(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def price_order(session, customer, lines: list[dict], today: date, currency: str | None,
                *, check_prices: bool = True):
    """Check and price the requested lines; raise Invalid naming every problem.

    ``check_prices=False`` (revalidation) still reports a line without a price but neither
    prices the lines (returns no lines) nor compares given unit prices."""
    problems = _customer_problems(customer, customer.code if customer else None)
    if not lines:
        problems.append({"field": "lines", "message": "an order needs at least one line"})
    products = {p.sku: p for p in session.scalars(
        select(Product).where(Product.sku.in_([str(line.get("sku")) for line in lines])))}
    requested = []
    for index, line in enumerate(lines):
        product, quantity = products.get(line.get("sku")), _decimal(line.get("quantity"))
        line_problems = _line_problems(index, product, line.get("sku"), quantity)
        problems += line_problems
        if not line_problems:
            requested.append((index, product, quantity))
    priced = []
    if customer is not None and not customer.blocked:
        if currency and customer.price_list and currency != customer.price_list.currency:
            problems.append({"field": "currency", "message": f"the customer's price list is in "
                                                             f"{customer.price_list.currency}"})
        if not check_prices:
            problems += pricing.missing_prices(
                session, customer, [(p, q) for _, p, q in requested], today)
            requested, result = [], []
        else:
            result, price_problems = pricing.price_lines(
                session, customer, [(p, q) for _, p, q in requested], today)
            problems += price_problems
        for (index, _, _), line in zip(requested, result):
            given = _decimal(lines[index].get("unit_price")) \
                if lines[index].get("unit_price") is not None else None
            if line is not None and given is not None and abs(given - line.unit_price) > Decimal("0.005"):
                problems.append({"field": f"lines[{index}].unit_price",
                                 "message": f"does not match the price list: expected "
                                            f"{line.unit_price.normalize():f}"})
            priced.append(line)
    if problems:
        raise Invalid("the order is not valid", details=problems)
    return priced


SHIPPING_POLICIES = ("complete", "partial")


def create_order(session, *, customer_code: str, lines: list[dict], external_ref=None,
                 requested_date=None, ship_to=None, currency=None, created_by=None,
                 source="api", today: date | None = None,
                 shipping_policy: str | None = None) -> tuple[SalesOrder, bool]:
    """A new priced order, or the existing one for the same (customer, external_ref)."""
    if external_ref:
        existing = find_by_external_ref(session, customer_code, external_ref)
        if existing is not None:
            return existing, False
    now = utcnow()
    today = today or now.date()
    customer = session.scalar(select(Customer).where(Customer.code == customer_code))
    priced = price_order(session, customer, lines, today, currency)
    if ship_to is not None:
        problems = _address_problems(ship_to, "ship_to")
        if problems:
            raise Invalid("the order is not valid", details=problems)
    order = SalesOrder(
        number=next_number(session, "sales_order", today.year, "SO"), customer=customer,
        external_ref=external_ref, source=source, currency=customer.price_list.currency,
        requested_date=requested_date, ship_to=ship_to or customer.shipping_address,
        shipping_policy=shipping_policy or customer.shipping_policy or "complete",
        created_by=created_by, created_at=now)
    for line_no, line in enumerate(priced, start=1):
        order.lines.append(SalesOrderLine(
            line_no=line_no, product=line.product, quantity=line.quantity,
            list_price=line.list_price, discount_percent=line.discount_percent,
            unit_price=line.unit_price, amount=line.amount, tax_rate=line.tax_rate,
            tax_amount=line.tax_amount, pricing_source=line.source))
    order.net_total = sum((line.amount for line in priced), ZERO)
    order.tax_total = sum((line.tax_amount for line in priced), ZERO)
    order.total = order.net_total + order.tax_total
    session.add(order)
    session.flush()
    return order, True


def revalidate(session, order_id: int) -> list[dict]:
    """Master data may have changed since entry: the problems that block this order now."""
    order = get_order(session, order_id)
    lines = [{"sku": sku, "quantity": quantity} for sku, quantity in session.execute(
        select(Product.sku, SalesOrderLine.quantity)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .where(SalesOrderLine.order_id == order.id).order_by(SalesOrderLine.line_no))]
    try:
        # Prices agreed at entry stand: only other problems (a line without any price today
        # among them) send the order back to sales, so the lines are not priced again.
        price_order(session, order.customer, lines, utcnow().date(), order.currency,
                    check_prices=False)
    except Invalid as err:
        return err.details
    return []


def _open(order: SalesOrder) -> None:
    if order.cancelled_at or order.rejected_at or order.closed_at:
        raise Conflict(f"order {order.number} is already closed")


def approve(session, order_id, approved_by) -> SalesOrder:
    order = get_order(session, order_id)
    _open(order)
    if order.approved_at is None:
        order.approved_by, order.approved_at = approved_by, utcnow()
    return order


def reject(session, order_id, reason) -> SalesOrder:
    order = get_order(session, order_id)
    if order.rejected_at is None:
        _open(order)
        order.rejected_at, order.end_reason = utcnow(), reason
    return order


def cancel(session, order_id, reason) -> SalesOrder:
    order = get_order(session, order_id)
    if order.cancelled_at is None:
        if any(line.delivered_qty > 0 for line in order.lines):
            raise Conflict(f"order {order.number} has shipped goods: open a return instead")
        _open(order)
        order.cancelled_at, order.end_reason = utcnow(), reason
    return order


def cancel_open_quantity(session, order_id, reason) -> dict:
    """Cancel what has not shipped. With nothing shipped yet this is a plain cancellation;
    after a partial shipment the shipped part stays (billed, paid, returnable) and only the
    backorder goes. Releasing the stock is the caller's next step (inventory.release_order)."""
    order = get_order(session, order_id)
    sent = _shipped_by_line(session, order)
    backorder = [{"line_no": line.line_no, "sku": line.product.sku,
                  "quantity": line.quantity - sent.get(line.id, ZERO)}
                 for line in order.lines if sent.get(line.id, ZERO) < line.quantity]
    shipped = any(sent.values())
    if not shipped:
        cancel(session, order_id, reason)
    elif backorder and order.backorder_cancelled_at is None:
        order.backorder_cancelled_at, order.end_reason = utcnow(), reason
    return {"shipped_any": shipped, "backorder": backorder}


def _shipped_by_line(session, order) -> dict[int, Decimal]:
    """Quantity per order line on shipments that left (booked) or arrived."""
    return {line_id: Decimal(qty) for line_id, qty in session.execute(
        select(ShipmentLine.order_line_id, func.sum(ShipmentLine.quantity))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order.id, Shipment.status.in_(("booked", "delivered")))
        .group_by(ShipmentLine.order_line_id))}


def link_process(session, order_id, instance_id) -> None:
    """An order whose process was started by another process (a replacement from a return)
    learns its instance from the process's first step."""
    order = get_order(session, order_id)
    if order.process_instance_id is None and instance_id is not None:
        order.process_instance_id = instance_id


def close(session, order_id) -> SalesOrder:
    order = get_order(session, order_id)
    if order.closed_at is None:
        order.closed_at = utcnow()
    return order


# Where the process waits says what the order waits for.
WAIT_STATUS = {
    "fix_order": "needs_correction", "revise_order": "needs_correction",
    "credit_review": "credit_hold", "approve_supervisor": "awaiting_approval",
    "approve_manager": "awaiting_approval", "wait_goods": "awaiting_stock",
    "pick_pack": "picking", "chase_carrier": "in_transit", "wait_delivery": "in_transit",
    "wait_payment": "awaiting_payment", "payment_followup": "payment_overdue",
}


def derived_status(order: SalesOrder, waiting_nodes: list[str], process_status: str | None) -> str:
    if order.cancelled_at:
        return "cancelled"
    if order.rejected_at:
        return "rejected"
    if order.closed_at:
        return "completed"
    if process_status == "error":
        return "on_hold_incident"
    for node in waiting_nodes:
        if node in ("wait_goods", "pick_pack") and any(ln.delivered_qty > 0 for ln in order.lines):
            return "backordered"  # part delivered, the rest waits for stock or picking
        if node in WAIT_STATUS:
            return WAIT_STATUS[node]
    lines = order.lines
    if lines and all(line.invoiced_qty >= line.quantity for line in lines):
        return "invoiced"
    if any(line.delivered_qty > 0 for line in lines):
        return "partially_delivered"
    return "open" if process_status in (None, "running", "waiting") else process_status
