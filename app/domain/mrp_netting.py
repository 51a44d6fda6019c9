"""Time-phased netting, lot sizing, lead-time offsetting, BOM explosion and pegging — in memory.

Items are netted in low-level-code order, so an item's gross requirements are complete (every
parent has already released its planned orders into it) when its turn comes. Per daily bucket t
(erp-rules.md, "Replenishment and MRP"):

    gross_t = independent demand_t + Σ parent planned releases_t × qty_per × (1 + scrap)
    net_t   = max(0, gross_t + safety_stock − projected_available_{t−1} − scheduled_receipts_t)
    receipt = lot_size(net_t) due on t, released lead time earlier
    projected_available_t = projected_available_{t−1} + scheduled_receipts_t + receipt − gross_t

Only buckets where something happens are visited (plus today, so a safety-stock shortfall is
planned at once): projected available does not change on the others.

Pegging: supply (on hand, then receipts by date, scheduled ones before planned ones on the same
day) is matched first-in-first-out against demand by date, safety stock first. Netting keeps
cumulative supply ≥ cumulative demand + safety stock on every day, so every demand is covered by
supply due on or before it, and a planned order is pegged exactly to the demand it was made for
(a lot larger than the net serves the next demands, and is pegged to them).
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_UP, Decimal

from app.domain.bom_structure import low_level_codes
from app.domain.mrp_inputs import Item
from app.models.types import ZERO

Q = Decimal("0.001")  # quantities are stored with 3 places
DAYS_PER_YEAR = Decimal("365")
MINUTES_PER_HOUR = Decimal("60")


@dataclass(slots=True)
class Planned:
    key: int  # negative: a temporary id until the order is written
    product_id: int
    kind: str
    quantity: Decimal
    release: date
    due: date
    supplier_id: int | None


@dataclass
class Plan:
    orders: list[Planned] = field(default_factory=list)
    # (planned order id or key, demand_type, demand id or key, quantity)
    pegs: list[tuple] = field(default_factory=list)
    exceptions: list[dict] = field(default_factory=list)
    items_planned: int = 0


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def economic_order_qty(item: Item, horizon_gross: Decimal, horizon: int) -> Decimal | None:
    """EOQ = √(2·D·S/H); D is the annual demand setting or the horizon's gross scaled to a year."""
    demand = item.annual_demand if item.annual_demand is not None \
        else horizon_gross * DAYS_PER_YEAR / horizon
    if item.order_cost <= 0 or item.holding_cost <= 0 or demand <= 0:
        return None
    return (2 * demand * item.order_cost / item.holding_cost).sqrt().quantize(Q, ROUND_CEILING)


def lot_size(item: Item, net: Decimal, eoq: Decimal | None) -> Decimal:
    """The rule first (fixed: whole lots; EOQ: at least one EOQ), then the item's MOQ and
    multiple, which every rule respects."""
    qty = net
    if item.lot_sizing == "fixed" and item.fixed_qty > 0:
        qty = ceil_to(net, item.fixed_qty)
    elif item.lot_sizing == "eoq" and eoq is not None:
        qty = max(net, eoq)
    qty = max(qty, item.min_order_qty)
    if item.order_multiple > 0:
        qty = ceil_to(qty, item.order_multiple)
    return qty.quantize(Q, ROUND_UP)


def lead_time_days(item: Item, qty: Decimal) -> int:
    """The item's lead time; for a make item its routing (setup + run × qty at each work
    centre's hours per day) extends it when longer."""
    if not (item.make and item.routing):
        return item.lead_time
    days = sum(((setup + run * qty) / (MINUTES_PER_HOUR * hours)
                for setup, run, hours in item.routing), ZERO)
    return max(item.lead_time, int(days.to_integral_value(rounding=ROUND_CEILING)))


class Netting:
    def __init__(self, items: dict[int, Item], structure, today: date, horizon: int):
        self.items, self.today, self.horizon = items, today, horizon
        self.codes = low_level_codes(structure)
        self.plan = Plan()
        self._next_key = 0
        self._flagged: set[tuple[str, int]] = set()

    def run(self) -> Plan:
        for item in sorted(self.items.values(), key=lambda it: (self.codes.get(it.id, 0), it.id)):
            for po_id, qty, release in item.firm_work_orders:
                self._explode(item, po_id, qty, release)
            if item.gross or item.receipts or item.safety_stock > 0:
                self._net(item)
        return self.plan

    def _net(self, item: Item) -> None:
        gross, receipts = defaultdict(Decimal), defaultdict(Decimal)
        for day, qty, _, _ in item.gross:
            gross[day] += qty
        for day, qty, _ in item.receipts:
            receipts[day] += qty
        eoq = economic_order_qty(item, sum(gross.values(), ZERO), self.horizon) \
            if item.lot_sizing == "eoq" else None
        available, made = item.on_hand, []
        for day in sorted(gross.keys() | receipts.keys() | {0}):
            g, sr = gross.get(day, ZERO), receipts.get(day, ZERO)
            net = g + item.safety_stock - available - sr
            qty = lot_size(item, net, eoq) if net > 0 else ZERO
            if qty > 0:
                made.append(self._order(item, day, qty))
            available += sr + qty - g
        if made:
            self.plan.items_planned += 1
        self._peg(item, made)

    def _order(self, item: Item, day: int, qty: Decimal) -> Planned:
        self._next_key -= 1
        due = self.today + timedelta(days=day)
        release = due - timedelta(days=lead_time_days(item, qty))
        order = Planned(self._next_key, item.id, "work_order" if item.make else "purchase_request",
                        qty, release, due, None if item.make else item.supplier_id)
        self.plan.orders.append(order)
        if release < self.today:
            self._exception("past_due_release", item, order.key,
                            f"{item.sku}: release {release} is before today (due {due})",
                            release_date=release.isoformat(), due_date=due.isoformat())
        if item.make:
            self._explode(item, order.key, qty, release)
        elif item.supplier_id is None:
            self._exception("missing_supplier", item, None,
                            f"{item.sku} is bought but has no default supplier")
        return order

    def _explode(self, item: Item, ref: int, qty: Decimal, release: date) -> None:
        """The parent's release becomes its components' gross requirement on the release day."""
        bom = item.bom_on(release)
        if bom is None:
            self._exception("missing_bom", item, None,
                            f"{item.sku} is made but has no BOM effective on {release}")
            return
        day = max((release - self.today).days, 0)
        for component_id, factor, valid_from, valid_to in bom.lines:
            if (valid_from is not None and release < valid_from) or \
                    (valid_to is not None and release > valid_to):
                continue
            component = self.items.get(component_id)
            if component is not None:  # components not stock-tracked are not planned
                component.gross.append((day, (qty * factor).quantize(Q, ROUND_UP),
                                        "planned_order", ref))

    def _peg(self, item: Item, made: list[Planned]) -> None:
        supplies = [(-1, 0, item.on_hand, None)]
        supplies += [(day, 0, qty, ref) for day, qty, ref in item.receipts]
        supplies += [((o.due - self.today).days, 1, o.quantity, o.key) for o in made]
        supplies.sort(key=lambda s: (s[0], s[1]))
        demands = sorted(item.gross, key=lambda d: (d[0], d[2], d[3]))
        if item.safety_stock > 0:
            demands.insert(0, (-1, item.safety_stock, None, None))
        pegs, index, left = self.plan.pegs, 0, supplies[0][2]
        for _, need, demand_type, demand_id in demands:
            while need > 0:
                if left <= 0:
                    index += 1
                    if index == len(supplies):
                        return
                    left = supplies[index][2]
                    continue
                take = min(need, left)
                ref = supplies[index][3]
                if ref is not None and demand_id is not None:
                    pegs.append((ref, demand_type, demand_id, take))
                need -= take
                left -= take

    def _exception(self, kind: str, item: Item, order_key, message: str, **extra) -> None:
        if order_key is None:  # item-level exceptions are listed once per item
            if (kind, item.id) in self._flagged:
                return
            self._flagged.add((kind, item.id))
        self.plan.exceptions.append({"type": kind, "sku": item.sku, "product_id": item.id,
                                     "planned_order_id": order_key, "message": message, **extra})


def net_requirements(items: dict[int, Item], structure, today: date, horizon: int) -> Plan:
    """Net every item in low-level-code order; planned orders carry negative temporary keys."""
    return Netting(items, structure, today, horizon).run()
