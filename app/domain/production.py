"""Production: work orders with the materials their BOM asks for and the operations of their
routing, material issue from stock (FEFO/FIFO by batch), shop-floor confirmations, quality
inspections (pass → finished goods into stock; fail → rework or scrap).

Every step is idempotent: issuing issues only what is still missing, a done operation stays
done, an inspection round is recorded once, and finished goods are booked under the work order's
number (the stock ledger treats a second booking as a replay).
"""
from datetime import date
from decimal import ROUND_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.domain import stock_ledger
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.master_data import page_of
from app.domain.numbering import next_number
from app.domain.purchasing import default_bin
from app.models.inventory import Bin, Product, StockLedger, StockLevel, Warehouse, in_sellable_bin
from app.models.manufacturing import Bom, PlannedOrder, Routing
from app.models.procurement import (
    INSPECTION_OUTCOMES,
    INSPECTION_RESULTS,
    WO_OPEN,
    WO_STATUSES,
    QualityInspection,
    WorkOrder,
    WorkOrderMaterial,
    WorkOrderOperation,
)
from app.models.types import ZERO, utcnow

QTY = Decimal("0.001")
HUNDRED = Decimal("100")


# ---------------------------------------------------------------- look-ups

def get_work_order(session, wo_id: int, *, lock: bool = False) -> WorkOrder:
    stmt = select(WorkOrder).where(WorkOrder.id == int(wo_id))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    wo = session.scalar(stmt)
    if wo is None:
        raise NotFound(f"work order {wo_id} not found")
    return wo


def by_number(session, number: str) -> WorkOrder:
    wo = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    if wo is None:
        raise NotFound(f"work order {number} not found")
    return wo


def list_work_orders(session, *, status: str | None = None, product: str | None = None,
                     page: int = 1, per_page: int = 50) -> dict:
    if status is not None and status not in WO_STATUSES:
        raise Invalid("invalid filter", [{"field": "status", "message": "unknown status"}])
    stmt = select(WorkOrder).options(selectinload(WorkOrder.materials),
                                     selectinload(WorkOrder.operations))
    if status is not None:
        stmt = stmt.where(WorkOrder.status == status)
    if product is not None:
        stmt = stmt.join(Product, Product.id == WorkOrder.product_id).where(Product.sku == product)
    return page_of(session, stmt.order_by(WorkOrder.due_date), WorkOrder.id, page, per_page)


def effective_bom(session, product_id: int, day: date) -> Bom | None:
    """The highest active BOM version effective on the day."""
    for bom in session.scalars(select(Bom).where(Bom.product_id == product_id,
                                                 Bom.active.is_(True))
                               .order_by(Bom.version.desc())):
        if (bom.effective_from is None or bom.effective_from <= day) and \
                (bom.effective_to is None or day <= bom.effective_to):
            return bom
    return None


def bom_requirements(bom: Bom, quantity: Decimal, day: date) -> list[tuple[int, Decimal]]:
    """(component id, quantity) for making `quantity`: qty_per × (1 + scrap %), lines effective
    on the day, rounded up to the stored 3 places."""
    wanted: dict[int, Decimal] = {}
    for line in bom.lines:
        if (line.effective_from is not None and day < line.effective_from) or \
                (line.effective_to is not None and day > line.effective_to):
            continue
        qty = Decimal(quantity) * line.qty_per * (1 + (line.scrap_percent or ZERO) / HUNDRED)
        wanted[line.component_id] = wanted.get(line.component_id, ZERO) + qty
    return [(cid, qty.quantize(QTY, ROUND_UP)) for cid, qty in wanted.items()]


# ---------------------------------------------------------------- release

def create_work_order(session, *, product_id: int, quantity: Decimal, due_date: date,
                      release_date: date | None = None, planned_order_id: int | None = None,
                      released_by: str | None = None) -> WorkOrder:
    """A released work order: materials from the BOM effective on the release day, operations
    copied from the active routing (one generic operation when the product has none)."""
    product = session.get(Product, product_id)
    release_date = release_date or utcnow().date()
    bom = effective_bom(session, product.id, release_date)
    if bom is None:
        raise Invalid(f"{product.sku} has no BOM effective on {release_date}",
                      [{"field": "sku", "message": f"{product.sku} has no effective BOM"}])
    routing = session.scalar(select(Routing).where(Routing.product_id == product.id,
                                                   Routing.active.is_(True))
                             .order_by(Routing.id.desc()).limit(1))
    quantity = Decimal(quantity).quantize(QTY)
    wo = WorkOrder(
        number=next_number(session, "work_order", utcnow().year, "WO"), product_id=product.id,
        quantity=quantity, planned_order_id=planned_order_id, status="released",
        release_date=release_date, due_date=due_date, bom_id=bom.id,
        routing_id=routing.id if routing else None,
        output_bin_id=default_bin(session, product.id).id, released_by=released_by,
        materials=[WorkOrderMaterial(line_no=i + 1, product_id=cid, required_qty=qty,
                                     issued_qty=ZERO)
                   for i, (cid, qty) in enumerate(bom_requirements(bom, quantity, release_date))])
    if routing is not None and routing.operations:
        wo.operations = [WorkOrderOperation(
            seq=op.seq, work_centre_id=op.work_centre_id, description=op.description,
            setup_minutes=op.setup_minutes, run_minutes=op.run_minutes, status="pending",
            round=0) for op in routing.operations]
    else:
        wo.operations = [WorkOrderOperation(seq=10, description=f"Make {product.sku}",
                                            status="pending", round=0)]
    session.add(wo)
    session.flush()
    return wo


def outstanding_material(session, product_id: int, *, exclude_wo: int | None = None) -> Decimal:
    """Components open work orders still have to draw from stock (required − issued)."""
    stmt = (select(func.sum(WorkOrderMaterial.required_qty - WorkOrderMaterial.issued_qty))
            .join(WorkOrder, WorkOrder.id == WorkOrderMaterial.work_order_id)
            .where(WorkOrderMaterial.product_id == product_id, WorkOrder.status.in_(WO_OPEN)))
    if exclude_wo is not None:
        stmt = stmt.where(WorkOrder.id != exclude_wo)
    return Decimal(session.scalar(stmt) or ZERO)


def open_quantity(session, product_id: int) -> Decimal:
    """What open work orders will still put into stock of a product."""
    return Decimal(session.scalar(
        select(func.sum(WorkOrder.quantity - WorkOrder.completed_qty))
        .where(WorkOrder.product_id == product_id, WorkOrder.status.in_(WO_OPEN))) or ZERO)


# ---------------------------------------------------------------- material issue

def _stock_lots(session, product_id: int) -> list[tuple]:
    """(bin_id, batch, serial, expiry, qty) on hand, first-expiring first, then oldest first."""
    first_in = func.min(StockLedger.id)
    rows = session.execute(
        select(StockLedger.bin_id, StockLedger.batch, StockLedger.serial, StockLedger.expiry,
               func.sum(StockLedger.quantity), first_in)
        .where(StockLedger.product_id == product_id)
        .group_by(StockLedger.bin_id, StockLedger.batch, StockLedger.serial, StockLedger.expiry)
        .having(func.sum(StockLedger.quantity) > 0)).all()
    rows.sort(key=lambda r: (r[3] is None, r[3] or date.max, r[5]))
    return [(bin_id, batch, serial, expiry, Decimal(qty))
            for bin_id, batch, serial, expiry, qty, _ in rows]


def _issue(session, material: WorkOrderMaterial, wo: WorkOrder, user) -> Decimal:
    """Issue what the material still lacks from free stock (on hand − reserved per bin)."""
    need = material.required_qty - material.issued_qty
    if need <= 0:
        return ZERO
    levels = {lv.bin_id: lv for lv in session.scalars(
        select(StockLevel).where(StockLevel.product_id == material.product_id,
                                 in_sellable_bin())
        .order_by(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.bin_id)
        .with_for_update().execution_options(populate_existing=True))}
    issued = ZERO
    for bin_id, batch, serial, expiry, qty in _stock_lots(session, material.product_id):
        level = levels.get(bin_id)
        if level is None or need - issued <= 0:
            continue
        take = min(qty, need - issued, level.on_hand - level.reserved)
        if serial is not None and take < 1:
            continue
        if take <= 0:
            continue
        session.add(StockLedger(product_id=material.product_id, bin_id=bin_id, quantity=-take,
                                kind="issue", batch=batch, serial=serial, expiry=expiry,
                                doc_type="work_order", doc_id=wo.number, created_by=user,
                                note=f"material line {material.line_no}"))
        level.on_hand = level.on_hand - take
        issued += take
    material.issued_qty = material.issued_qty + issued
    return issued


def issue_materials(session, wo_id: int, user: str | None = None) -> dict:
    """Reserve-and-issue the components still missing; what stock cannot cover stays short."""
    wo = get_work_order(session, wo_id, lock=True)
    if wo.status not in ("released", "materials_short", "in_progress", "inspection"):
        raise Conflict(f"work order {wo.number} is {wo.status}")
    issued, short = [], []
    for material in wo.materials:
        added = _issue(session, material, wo, user)
        if added > 0:
            issued.append({"sku": material.product.sku, "quantity": str(added)})
        missing = material.required_qty - material.issued_qty
        if missing > 0:
            short.append({"sku": material.product.sku, "short_qty": str(missing)})
    if wo.status in ("released", "materials_short"):
        wo.status = "materials_short" if short else "in_progress"
    session.flush()
    return {"work_order_id": wo.id, "number": wo.number, "complete": not short,
            "issued": issued, "short": short}


# ---------------------------------------------------------------- operations

def _operation_view(op: WorkOrderOperation) -> dict:
    return {"operation_id": op.id, "seq": op.seq, "description": op.description,
            "work_centre": op.work_centre.code if op.work_centre else None,
            "work_centre_name": op.work_centre.name if op.work_centre else None,
            "setup_minutes": str(op.setup_minutes), "run_minutes": str(op.run_minutes),
            "round": op.round}


def next_operation(session, wo_id: int) -> dict:
    """The next pending operation, or none left (then the work order awaits inspection)."""
    wo = get_work_order(session, wo_id, lock=True)
    pending = [op for op in wo.operations if op.status == "pending"]
    if not pending:
        if wo.status == "in_progress":
            wo.status = "inspection"
        session.flush()
        return {"work_order_id": wo.id, "number": wo.number, "done": True, "operation": None,
                "total": len(wo.operations)}
    op = pending[0]
    return {"work_order_id": wo.id, "number": wo.number, "done": False,
            "operation": _operation_view(op), "total": len(wo.operations),
            "position": wo.operations.index(op) + 1}


def complete_operation(session, wo_id: int, operation_id: int, *, user: str | None,
                       note: str | None = None) -> dict:
    wo = get_work_order(session, wo_id, lock=True)
    op = next((o for o in wo.operations if o.id == int(operation_id)), None)
    if op is None:
        raise NotFound(f"operation {operation_id} is not on work order {wo.number}")
    if op.status != "done":
        if wo.status != "in_progress":
            raise Conflict(f"work order {wo.number} is {wo.status}; operations need its "
                           "materials issued")
        op.status, op.completed_by, op.completed_at = "done", user, utcnow()
        op.note = (note or None) and note[:2000]
    session.flush()
    return {"work_order_id": wo.id, "operation_id": op.id, "seq": op.seq, "status": op.status}


# ---------------------------------------------------------------- quality

def record_inspection(session, wo_id: int, *, result: str, outcome: str | None = None,
                      user: str | None, note: str | None = None) -> dict:
    """One inspection per round: pass → accept; fail → rework or scrap (the inspector says)."""
    wo = get_work_order(session, wo_id, lock=True)
    round_ = wo.rework_count + 1
    existing = session.scalar(select(QualityInspection).where(
        QualityInspection.work_order_id == wo.id, QualityInspection.round == round_))
    if existing is not None:
        return _inspection_view(existing, wo)
    problems = []
    if result not in INSPECTION_RESULTS:
        problems.append({"field": "result", "message": "pass or fail"})
    outcome = "accept" if result == "pass" else outcome
    if result == "fail" and outcome not in INSPECTION_OUTCOMES[1:]:
        problems.append({"field": "outcome",
                         "message": "a failed inspection needs rework or scrap"})
    if problems:
        raise Invalid("invalid inspection", problems)
    if wo.status != "inspection":
        raise Conflict(f"work order {wo.number} is {wo.status}, not awaiting inspection")
    inspection = QualityInspection(work_order_id=wo.id, round=round_, result=result,
                                   outcome=outcome, inspector=user, note=(note or None))
    session.add(inspection)
    session.flush()
    return _inspection_view(inspection, wo)


def _inspection_view(inspection: QualityInspection, wo: WorkOrder) -> dict:
    return {"work_order_id": wo.id, "number": wo.number, "round": inspection.round,
            "result": inspection.result, "outcome": inspection.outcome,
            "inspector": inspection.inspector}


def start_rework(session, wo_id: int) -> dict:
    """After a failed inspection with outcome rework: every operation runs again (next round)."""
    wo = get_work_order(session, wo_id, lock=True)
    last = session.scalar(select(QualityInspection).where(
        QualityInspection.work_order_id == wo.id, QualityInspection.round == wo.rework_count + 1))
    if last is not None and last.outcome == "rework":  # else: this round was reworked already
        wo.rework_count += 1
        wo.status = "in_progress"
        for op in wo.operations:
            op.status, op.round, op.completed_by, op.completed_at = \
                "pending", wo.rework_count, None, None
    session.flush()
    return {"work_order_id": wo.id, "number": wo.number, "rework_count": wo.rework_count}


def _serials_for(wo: WorkOrder) -> list[str]:
    return [f"{wo.number}-{n:04d}" for n in range(1, int(wo.quantity) + 1)]


def complete(session, wo_id: int, user: str | None = None) -> dict:
    """Finished goods into stock (batch = the work order number for batch-tracked products,
    serials numbered from it for serial-tracked ones); closes the planned order."""
    wo = get_work_order(session, wo_id, lock=True)
    if wo.status not in ("inspection", "completed"):
        raise Conflict(f"work order {wo.number} is {wo.status}; only an inspected one completes")
    passed = session.scalar(select(QualityInspection.id).where(
        QualityInspection.work_order_id == wo.id, QualityInspection.result == "pass"))
    if passed is None:
        raise Conflict(f"work order {wo.number} has not passed inspection")
    product, target = wo.product, session.get(Bin, wo.output_bin_id)
    warehouse = session.get(Warehouse, target.warehouse_id)
    movement = stock_ledger.receive(
        session, sku=product.sku, warehouse=warehouse.code, bin=target.code, quantity=wo.quantity,
        batch=wo.number if product.tracking == "batch" else None,
        serials=_serials_for(wo) if product.tracking == "serial" else None,
        doc_type="work_order", doc_id=wo.number, user=user)
    if wo.status != "completed":
        wo.status, wo.completed_qty, wo.completed_at = "completed", wo.quantity, utcnow()
        _close_planned(session, wo.planned_order_id)
    session.flush()
    return {"work_order_id": wo.id, "number": wo.number, "sku": product.sku,
            "quantity": str(wo.quantity), "warehouse": warehouse.code, "bin": target.code,
            "ledger_ids": [r.id for r in movement.rows], "replayed": movement.replayed}


def scrap(session, wo_id: int, *, user: str | None, reason: str | None = None) -> dict:
    """The lot is scrapped: issued components are consumed, nothing goes into stock, and the
    planned order closes so the demand shows as uncovered again."""
    wo = get_work_order(session, wo_id, lock=True)
    if wo.status not in ("scrapped", "inspection"):
        raise Conflict(f"work order {wo.number} is {wo.status}")
    if wo.status != "scrapped":
        wo.status, wo.scrapped_qty = "scrapped", wo.quantity
        wo.closed_reason = (reason or "failed quality inspection")[:2000]
        _close_planned(session, wo.planned_order_id)
    session.flush()
    return {"work_order_id": wo.id, "number": wo.number, "sku": wo.product.sku,
            "scrapped_qty": str(wo.scrapped_qty), "reason": wo.closed_reason}


def _close_planned(session, planned_order_id: int | None) -> None:
    if planned_order_id is not None:
        planned = session.get(PlannedOrder, planned_order_id)
        if planned is not None:
            planned.status = "closed"
