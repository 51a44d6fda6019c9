"""Everything an MRP run needs, loaded set-based (one query per kind of fact) into plain objects.

Days are integers relative to the plan date (bucket 0 = today); anything due before today
lands in bucket 0, anything due on or after the horizon is left out.

Open demand of a sales order line (erp-rules.md, "Replenishment and MRP"):
    open = quantity − max(delivered, issued) − active reservations
Picked goods are first "issued" reservations and later delivered quantity, so the larger of the
two counts once; active reservations hold stock that on hand still contains, which is why the
starting projected available is on hand − reserved.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from app.models.inventory import (
    Product,
    ReplenishmentRequest,
    Reservation,
    StockLevel,
    Supplier,
    in_sellable_bin,
)
from app.models.manufacturing import (
    Bom,
    BomLine,
    ItemPlanning,
    Pegging,
    PlannedOrder,
    Routing,
    RoutingOperation,
    WorkCentre,
)
from app.models.sales import SalesOrder, SalesOrderLine
from app.models.types import ZERO

ONE = Decimal("1")
HUNDRED = Decimal("100")


@dataclass(slots=True)
class BomVersion:
    version: int
    valid_from: date | None
    valid_to: date | None
    # (component_id, qty_per × (1 + scrap/100), line valid_from, line valid_to)
    lines: list = field(default_factory=list)

    def applies(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and \
            (self.valid_to is None or day <= self.valid_to)


@dataclass(slots=True)
class Item:
    id: int
    sku: str
    make: bool
    lot_sizing: str
    fixed_qty: Decimal
    min_order_qty: Decimal
    order_multiple: Decimal
    safety_stock: Decimal
    order_cost: Decimal
    holding_cost: Decimal
    annual_demand: Decimal | None
    lead_time: int
    supplier_id: int | None
    on_hand: Decimal = ZERO
    gross: list = field(default_factory=list)     # (day, qty, demand_type, demand_id)
    receipts: list = field(default_factory=list)  # (day, qty, planned_order_id | None)
    firm_work_orders: list = field(default_factory=list)  # (id, quantity, release_date)
    boms: list = field(default_factory=list)      # BomVersion, highest version first
    routing: list = field(default_factory=list)   # (setup_minutes, run_minutes, hours_per_day)

    def bom_on(self, day: date) -> BomVersion | None:
        return next((b for b in self.boms if b.applies(day)), None)


@dataclass
class Inputs:
    items: dict[int, Item]
    structure: dict[int, set[int]]
    demand_lines: int
    existing: list  # rows of the previous run's planned (not firm) orders


def _day(today: date, when: date | None) -> int:
    return 0 if when is None else max((when - today).days, 0)


def load(session, today: date, horizon: int) -> Inputs:
    items = _items(session)
    structure = _boms(session, items)
    _routings(session, items)
    for product_id, on_hand in session.execute(
            select(StockLevel.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
            .where(in_sellable_bin()).group_by(StockLevel.product_id)):
        if product_id in items:
            items[product_id].on_hand = Decimal(on_hand or ZERO)
    lines = _independent_demand(session, items, today, horizon)
    _scheduled_receipts(session, items, today, horizon)
    existing = session.execute(
        select(PlannedOrder.id, PlannedOrder.product_id, PlannedOrder.due_date, PlannedOrder.kind,
               PlannedOrder.quantity, PlannedOrder.release_date, PlannedOrder.supplier_id)
        .where(PlannedOrder.status == "planned")).all()
    return Inputs(items, structure, lines, existing)


PLAN_COLUMNS = (ItemPlanning.product_id, ItemPlanning.make_or_buy, ItemPlanning.lot_sizing,
                ItemPlanning.fixed_qty, ItemPlanning.min_order_qty, ItemPlanning.order_multiple,
                ItemPlanning.safety_stock, ItemPlanning.order_cost, ItemPlanning.holding_cost,
                ItemPlanning.annual_demand, ItemPlanning.lead_time_days)


def _items(session) -> dict[int, Item]:
    has_bom = select(Bom.product_id).where(Bom.active.is_(True)).distinct().subquery()
    rows = session.execute(
        select(Product.id, Product.sku, Product.lead_time_days, Product.default_supplier_id,
               Supplier.min_order_qty, Supplier.pack_size, has_bom.c.product_id, *PLAN_COLUMNS)
        .outerjoin(ItemPlanning, ItemPlanning.product_id == Product.id)
        .outerjoin(Supplier, Supplier.id == Product.default_supplier_id)
        .outerjoin(has_bom, has_bom.c.product_id == Product.id)
        .where(Product.stock_tracked.is_(True))).all()
    items = {}
    for (pid, sku, lead, supplier_id, sup_moq, sup_pack, bom_owner, _, make_or_buy, lot_sizing,
         fixed_qty, moq, multiple, safety, order_cost, holding_cost, annual, plan_lead) in rows:
        make = make_or_buy == "make" if make_or_buy else bom_owner is not None
        moq, multiple = moq or ZERO, multiple or ZERO
        if not make and supplier_id is not None:
            # the supplier's own MOQ and pack apply to what is bought from it
            moq = max(moq, sup_moq or ZERO)
            if not multiple and sup_pack and sup_pack != ONE:
                multiple = sup_pack
        items[pid] = Item(
            id=pid, sku=sku, make=make, lot_sizing=lot_sizing or "lot_for_lot",
            fixed_qty=fixed_qty or ZERO, min_order_qty=moq, order_multiple=multiple,
            safety_stock=safety or ZERO, order_cost=order_cost or ZERO,
            holding_cost=holding_cost or ZERO, annual_demand=annual,
            lead_time=plan_lead if plan_lead is not None else (lead or 0),
            supplier_id=supplier_id)
    return items


def _boms(session, items: dict[int, Item]) -> dict[int, set[int]]:
    structure: dict[int, set[int]] = defaultdict(set)
    versions: dict[int, BomVersion] = {}
    rows = session.execute(
        select(Bom.id, Bom.product_id, Bom.version, Bom.effective_from, Bom.effective_to,
               BomLine.component_id, BomLine.qty_per, BomLine.scrap_percent,
               BomLine.effective_from, BomLine.effective_to)
        .join(BomLine, BomLine.bom_id == Bom.id).where(Bom.active.is_(True))
        .order_by(Bom.product_id, Bom.version.desc(), BomLine.line_no)).all()
    for bom_id, pid, version, b_from, b_to, comp, qty_per, scrap, l_from, l_to in rows:
        structure[pid].add(comp)
        if pid not in items:
            continue
        bom = versions.get(bom_id)
        if bom is None:
            bom = versions[bom_id] = BomVersion(version, b_from, b_to)
            items[pid].boms.append(bom)
        factor = Decimal(qty_per) * (ONE + Decimal(scrap or ZERO) / HUNDRED)
        bom.lines.append((comp, factor, l_from, l_to))
    return structure


def _routings(session, items: dict[int, Item]) -> None:
    for pid, setup, run, hours in session.execute(
            select(Routing.product_id, RoutingOperation.setup_minutes,
                   RoutingOperation.run_minutes, WorkCentre.hours_per_day)
            .join(RoutingOperation, RoutingOperation.routing_id == Routing.id)
            .join(WorkCentre, WorkCentre.id == RoutingOperation.work_centre_id)
            .where(Routing.active.is_(True))):
        if pid in items:
            items[pid].routing.append((Decimal(setup), Decimal(run), Decimal(hours)))


def _independent_demand(session, items, today: date, horizon: int) -> int:
    covered = (
        select(Reservation.order_line_id,
               func.sum(case((Reservation.status == "active", Reservation.quantity),
                             else_=0)).label("active"),
               func.sum(case((Reservation.status == "issued", Reservation.quantity),
                             else_=0)).label("issued"))
        .where(Reservation.status.in_(("active", "issued")))
        .group_by(Reservation.order_line_id).subquery())
    rows = session.execute(
        select(SalesOrderLine.id, SalesOrderLine.product_id, SalesOrderLine.quantity,
               SalesOrderLine.delivered_qty, SalesOrder.requested_date, SalesOrder.created_at,
               covered.c.active, covered.c.issued)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .outerjoin(covered, covered.c.order_line_id == SalesOrderLine.id)
        .where(SalesOrder.cancelled_at.is_(None), SalesOrder.rejected_at.is_(None),
               SalesOrder.closed_at.is_(None),
               SalesOrderLine.quantity > SalesOrderLine.delivered_qty)).all()
    count = 0
    for line_id, pid, qty, delivered, requested, created, active, issued in rows:
        item = items.get(pid)
        if item is None:
            continue
        open_qty = Decimal(qty) - max(Decimal(delivered or ZERO), Decimal(issued or ZERO)) \
            - Decimal(active or ZERO)
        if open_qty <= 0:
            continue
        due = requested or (created.date() + timedelta(days=item.lead_time))
        day = _day(today, due)
        if day >= horizon:
            continue
        item.gross.append((day, open_qty, "sales_order_line", line_id))
        count += 1
    return count


def _scheduled_receipts(session, items, today: date, horizon: int) -> None:
    # A request whose line already has released supply pegged to it (supply.plan_for_order)
    # is that supply: counting both would see the shortage covered twice.
    supplied_lines = select(Pegging.demand_id).join(
        PlannedOrder, PlannedOrder.id == Pegging.planned_order_id).where(
        Pegging.demand_type == "sales_order_line",
        PlannedOrder.status.in_(("firm", "released")))
    for pid, qty, due in session.execute(
            select(ReplenishmentRequest.product_id, ReplenishmentRequest.quantity,
                   ReplenishmentRequest.due_date)
            .where(ReplenishmentRequest.status == "open",
                   ReplenishmentRequest.order_line_id.is_(None)
                   | ReplenishmentRequest.order_line_id.not_in(supplied_lines))):
        day = _day(today, due)
        if pid in items and day < horizon:
            items[pid].receipts.append((day, Decimal(qty), None))
    for po_id, pid, kind, qty, release, due, status in session.execute(
            select(PlannedOrder.id, PlannedOrder.product_id, PlannedOrder.kind,
                   PlannedOrder.quantity, PlannedOrder.release_date, PlannedOrder.due_date,
                   PlannedOrder.status)
            .where(PlannedOrder.status.in_(("firm", "released")))):
        item = items.get(pid)
        if item is None:
            continue
        day = _day(today, due)
        if day < horizon:
            item.receipts.append((day, Decimal(qty), po_id))
        # A released work order's components are reserved and issued by production; a firm
        # one still needs them, so MRP explodes it like a planned one.
        if status == "firm" and kind == "work_order":
            item.firm_work_orders.append((po_id, Decimal(qty), release))
