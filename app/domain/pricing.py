"""Price resolution: customer price list -> item price (validity, min qty) -> pricing rules.

Every priced line records where its price came from, so a dispute can be answered.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select

from app.models.inventory import Product
from app.models.sales import Customer, ItemPrice, PriceList, PricingRule
from app.models.types import ZERO

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class PricedLine:
    product: Product
    quantity: Decimal
    list_price: Decimal
    discount_percent: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    source: str


def _valid_on(model, today: date):
    return (or_(model.valid_from.is_(None), model.valid_from <= today),
            or_(model.valid_to.is_(None), model.valid_to >= today))


def item_price(session, price_list: PriceList, product: Product, quantity: Decimal,
               today: date) -> ItemPrice | None:
    """The best matching price: the highest quantity break reached, then the newest."""
    return session.scalar(
        select(ItemPrice).where(ItemPrice.price_list_id == price_list.id,
                                ItemPrice.product_id == product.id,
                                ItemPrice.min_qty <= quantity, *_valid_on(ItemPrice, today))
        .order_by(ItemPrice.min_qty.desc(), ItemPrice.valid_from.desc().nulls_last(),
                  ItemPrice.id.desc()).limit(1))


def item_prices(session, price_list: PriceList, requested: list[tuple[Product, Decimal]],
                today: date) -> list[ItemPrice | None]:
    """:func:`item_price` of each (product, quantity), with one statement for all of them."""
    product_ids = {product.id for product, _ in requested}
    if not product_ids:
        return []
    by_product: dict[int, list[ItemPrice]] = {}
    for price in session.scalars(select(ItemPrice).where(
            ItemPrice.price_list_id == price_list.id, ItemPrice.product_id.in_(product_ids),
            *_valid_on(ItemPrice, today))):
        by_product.setdefault(price.product_id, []).append(price)
    return [max((p for p in by_product.get(product.id, ()) if p.min_qty <= quantity),
                key=_best_first, default=None) for product, quantity in requested]


def _best_first(price: ItemPrice):
    # item_price's ORDER BY min_qty DESC, valid_from DESC NULLS LAST, id DESC, as a max() key
    return (price.min_qty, price.valid_from is not None, price.valid_from or date.min, price.id)


def _no_price(index, product, price_list, quantity, today) -> dict:
    return {"field": f"lines[{index}].sku",
            "message": f"no price for {product.sku} in price list "
                       f"{price_list.code} for quantity {quantity} on {today}"}


def missing_prices(session, customer: Customer, requested: list[tuple[Product, Decimal]],
                   today: date) -> list[dict]:
    """The problems :func:`price_lines` would report (no price list, a line without a price),
    without pricing the lines: what revalidation needs, as the prices agreed at entry stand."""
    price_list = customer.price_list
    if price_list is None:
        return [{"field": "customer", "message": "the customer has no price list"}]
    found = item_prices(session, price_list, requested, today)
    return [_no_price(index, product, price_list, quantity, today)
            for index, ((product, quantity), price) in enumerate(zip(requested, found))
            if price is None]


def _rules(session, price_list: PriceList, today: date) -> list[PricingRule]:
    return list(session.scalars(
        select(PricingRule).where(
            PricingRule.active.is_(True), *_valid_on(PricingRule, today),
            or_(PricingRule.price_list_id.is_(None), PricingRule.price_list_id == price_list.id))
        .order_by(PricingRule.priority.desc(), PricingRule.discount_percent.desc(),
                  PricingRule.id)))


def _rule_applies(rule: PricingRule, product: Product, quantity: Decimal,
                  order_gross: Decimal) -> bool:
    if rule.applies_to == "item":
        return rule.product_id == product.id and quantity >= rule.min_qty
    if rule.applies_to == "item_group":
        return bool(product.item_group) and rule.item_group == product.item_group \
            and quantity >= rule.min_qty
    if rule.applies_to == "order":
        return order_gross >= rule.min_amount
    return False


def price_lines(session, customer: Customer, requested: list[tuple[Product, Decimal]],
                today: date) -> tuple[list[PricedLine | None], list[dict]]:
    """Price each (product, quantity); a line with no price is None plus a problem."""
    problems = []
    price_list = customer.price_list
    if price_list is None:
        return [None] * len(requested), [{"field": "customer",
                                          "message": "the customer has no price list"}]
    found = item_prices(session, price_list, requested, today)
    for index, ((product, quantity), price) in enumerate(zip(requested, found)):
        if price is None:
            problems.append(_no_price(index, product, price_list, quantity, today))
    order_gross = sum((p.unit_price * q for p, (_, q) in zip(found, requested) if p), ZERO)
    rules = _rules(session, price_list, today)
    lines: list[PricedLine | None] = []
    for price, (product, quantity) in zip(found, requested):
        if price is None:
            lines.append(None)
            continue
        rule = next((r for r in rules if _rule_applies(r, product, quantity, order_gross)), None)
        discount = rule.discount_percent if rule else ZERO
        unit_price = (price.unit_price * (HUNDRED - discount) / HUNDRED).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP)
        amount = money(unit_price * quantity)
        source = f"price list {price_list.code}" + (
            f" (from qty {price.min_qty.normalize():f})" if price.min_qty > 0 else "")
        if rule:
            source += f"; rule '{rule.name}' -{discount.normalize():f}%"
        lines.append(PricedLine(product, quantity, price.unit_price, discount, unit_price,
                                amount, product.tax_rate, money(amount * product.tax_rate),
                                source[:200]))
    return lines, problems
