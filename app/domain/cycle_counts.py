"""Cycle counts: freeze what the book says is in some bins, count blind, post the differences.

- ``create_count`` freezes one line per bin x product (x batch for batch-tracked goods) with the
  expected quantity (and serials) the stock ledger holds up to its last row (the watermark).
- ``bin_sheet`` is what a counter sees: the bin's lines without any quantity.
- ``record_count`` takes a bin's (re)count, checked against the sheet first (nothing changes when
  it does not match: app.domain.cycle_count_entries). Each line is compared with its **book
  quantity at that moment**: the frozen quantity adjusted by what moved on the bin since the
  freeze (picks, receipts, adjustments), so goods moved during the count are not mistaken for a
  difference.
  A difference within the tolerance is posted at once; beyond it the line goes to a recount, and
  after a recount still beyond it to an approval (``decide``).
- Differences are posted with ``stock_ledger.adjust`` (reason "cycle count CC-…", document id
  "CC-…/<line no>"), so a replay posts nothing twice; what the ledger refuses (below the reserved
  quantity, a serial on hand in another bin) stays on the line as "refused" with the reason.

The tolerance comes from the process (a DMN table): ``{"qty", "percent", "value", "price_list"}``;
a line is within it when |difference| <= max(qty, percent % of the book quantity) and
|difference x unit price| <= value. Serial goods are within it only when the serials match.
"""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select

from app.domain import cycle_count_entries as entries
from app.domain import pricing, stock_ledger
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.numbering import next_number
from app.models.counting import CycleCount, CycleCountLine
from app.models.engine import TERMINATED, ProcessInstance
from app.models.inventory import Bin, Product, StockLedger, Warehouse
from app.models.sales import PriceList
from app.models.types import ZERO, utcnow

OPEN_STATUSES = ("counting", "approval")


@dataclass(frozen=True)
class Tolerance:
    qty: Decimal = ZERO
    percent: Decimal = ZERO
    value: Decimal = ZERO
    price_list: str | None = None

    @classmethod
    def parse(cls, raw: dict | None) -> "Tolerance":
        raw = raw or {}
        try:
            return cls(*(Decimal(str(raw.get(k) if raw.get(k) is not None else 0))
                         for k in ("qty", "percent", "value")), raw.get("price_list") or None)
        except InvalidOperation:
            raise Invalid("the tolerance is not a number", [
                {"field": "tolerance", "message": f"got {raw!r}"}]) from None

    def as_dict(self) -> dict:
        return {"qty": str(self.qty), "percent": str(self.percent), "value": str(self.value),
                "price_list": self.price_list}


# ---------------------------------------------------------------- creating a count

def create_count(session, *, warehouse: str, bins: list[str] | None = None,
                 skus: list[str] | None = None, user: str | None = None) -> CycleCount:
    """Freeze the expected stock of the bins (all of the warehouse's when none are named)."""
    wh = session.scalar(select(Warehouse).where(Warehouse.code == warehouse)
                        .with_for_update())  # one count creation per warehouse at a time
    if wh is None:
        raise NotFound(f"unknown warehouse {warehouse!r}",
                       [{"field": "warehouse", "message": f"unknown warehouse {warehouse!r}"}])
    all_bins = {b.code: b for b in session.scalars(select(Bin).where(Bin.warehouse_id == wh.id))}
    codes = list(dict.fromkeys(bins)) if bins else sorted(all_bins)
    problems = [{"field": f"bins[{i}]", "message": f"no bin {c!r} in {warehouse}"}
                for i, c in enumerate(codes) if c not in all_bins]
    products = {}
    for i, sku in enumerate(dict.fromkeys(skus or [])):
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None or not product.stock_tracked:
            problems.append({"field": f"skus[{i}]", "message": f"no stock-tracked product {sku!r}"})
        else:
            products[product.id] = product
    if not codes:
        problems.append({"field": "bins", "message": f"{warehouse} has no bins"})
    if problems:
        raise Invalid("; ".join(p["message"] for p in problems), problems)
    _refuse_overlap(session, wh, codes, skus)

    watermark = session.scalar(select(func.max(StockLedger.id))) or 0
    count = CycleCount(number=next_number(session, "cycle_count", utcnow().year, "CC"),
                       warehouse_id=wh.id, bins=codes, skus=list(dict.fromkeys(skus)) if skus
                       else None, frozen_ledger_id=watermark, frozen_at=utcnow(),
                       created_by=user, status="counting")
    bin_ids = {all_bins[c].id: c for c in codes}
    order = {c: i for i, c in enumerate(codes)}
    frozen = _frozen_stock(session, list(bin_ids), list(products) or None, watermark)
    keys = sorted(frozen, key=lambda k: (order[bin_ids[k[0]]], frozen[k]["sku"], k[2] or ""))
    for no, key in enumerate(keys, start=1):
        bin_id, product_id, batch = key
        entry = frozen[key]
        count.lines.append(CycleCountLine(
            line_no=no, bin_id=bin_id, product_id=product_id, batch=batch, status="open",
            expected_qty=entry["qty"],
            expected_serials=sorted(entry["serials"]) if entry["serials"] is not None else None))
    session.add(count)
    session.flush()
    return count


def _refuse_overlap(session, wh, codes, skus) -> None:
    """One open count per bin (and product): a count whose process was terminated is over."""
    for other in session.scalars(
            select(CycleCount)
            .outerjoin(ProcessInstance, ProcessInstance.id == CycleCount.process_instance_id)
            .where(CycleCount.warehouse_id == wh.id, CycleCount.status.in_(OPEN_STATUSES),
                   or_(ProcessInstance.id.is_(None), ProcessInstance.status != TERMINATED))):
        shared = sorted(set(other.bins) & set(codes))
        if shared and (not other.skus or not skus or set(other.skus) & set(skus)):
            raise Conflict(f"count {other.number} is still open on bins {', '.join(shared)}",
                           [{"field": "bins", "message": f"open in {other.number}"}])


def _frozen_stock(session, bin_ids, product_ids, watermark) -> dict:
    """{(bin_id, product_id, batch|None): {"qty", "serials", "sku"}}: the ledger up to the mark."""
    where = [StockLedger.bin_id.in_(bin_ids), StockLedger.id <= watermark]
    if product_ids:
        where.append(StockLedger.product_id.in_(product_ids))
    rows = session.execute(
        select(StockLedger.bin_id, StockLedger.product_id, StockLedger.batch, StockLedger.serial,
               Product.sku, Product.tracking, func.sum(StockLedger.quantity))
        .join(Product, Product.id == StockLedger.product_id).where(*where)
        .group_by(StockLedger.bin_id, StockLedger.product_id, StockLedger.batch,
                  StockLedger.serial, Product.sku, Product.tracking))
    frozen = {}
    for bin_id, product_id, batch, serial, sku, tracking, qty in rows:
        key = (bin_id, product_id, batch if tracking == "batch" else None)
        entry = frozen.setdefault(key, {"qty": ZERO, "sku": sku,
                                        "serials": set() if tracking == "serial" else None})
        entry["qty"] += Decimal(qty)
        if tracking == "serial" and serial and qty > 0:
            entry["serials"].add(serial)
    return {k: v for k, v in frozen.items() if v["qty"] > 0}


# ---------------------------------------------------------------- what counters see

def get_count(session, *, number: str | None = None, count_id: int | None = None,
              lock: bool = False) -> CycleCount:
    query = select(CycleCount).where(CycleCount.number == number) if number is not None \
        else select(CycleCount).where(CycleCount.id == count_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    count = session.scalar(query)
    if count is None:
        raise NotFound(f"cycle count {number or count_id} not found")
    return count


def bin_sheet(session, count_id: int, bin_code: str, *, recount: bool = False) -> dict:
    """The lines of a bin to (re)count: what and where, never how many."""
    count = get_count(session, count_id=count_id)
    wanted = "recount" if recount else "open"
    lines = [ln for ln in count.lines if ln.bin.code == bin_code and ln.status == wanted]
    return {"count_id": count.id, "number": count.number, "warehouse": count.warehouse.code,
            "bin": bin_code, "recount": recount, "lines": [_sheet_line(ln) for ln in lines]}


def _sheet_line(line: CycleCountLine) -> dict:
    return {"line_id": line.id, "line_no": line.line_no, "sku": line.product.sku,
            "name": line.product.name, "unit": line.product.unit, "batch": line.batch,
            "serial_tracked": line.product.tracking == "serial"}


# ---------------------------------------------------------------- recording a (re)count

def record_count(session, count_id: int, bin_code: str, counts: list, *, user: str | None,
                 tolerance: dict | None, found: list | None = None,
                 recount: bool = False) -> dict:
    """Record what was counted in one bin; post what is within the tolerance.

    Every line of the bin still to be (re)counted must be given once; ``found`` adds goods that
    were not expected in the bin (first count only). A recount must be made by someone else.
    """
    count = get_count(session, count_id=count_id, lock=True)
    if count.status != "counting":
        raise Conflict(f"count {count.number} is {count.status}")
    if bin_code not in count.bins:
        raise Invalid(f"bin {bin_code!r} is not part of {count.number}",
                      [{"field": "bin", "message": "not in this count"}])
    tol = Tolerance.parse(tolerance)
    wanted = "recount" if recount else "open"
    todo = {ln.id: ln for ln in count.lines if ln.bin.code == bin_code and ln.status == wanted}
    given, problems = entries.check_counts(todo, counts, user, recount)
    added = entries.found_lines(session, count, bin_code, found or [], problems) \
        if not recount else []
    if found and recount:
        problems.append({"field": "found", "message": "found goods go on the first count"})
    if problems:  # nothing was changed yet: the process sends the counter back to the sheet
        raise Invalid("the count does not match the count sheet", problems)

    if count.tolerance is None:
        count.tolerance = tol.as_dict()
    count.lines.extend(line for line, _qty, _serials in added)
    now = utcnow()
    for line, qty, serials in list(given.values()) + added:
        if recount:
            line.recount_qty, line.recount_serials = qty, serials
            line.recounted_by, line.recounted_at = user, now
        else:
            line.counted_qty, line.counted_serials = qty, serials
            line.counted_by, line.counted_at = user, now
        _compare(session, line, qty, serials, tol)
        if line.variance_qty == 0 and not line.missing_serials and not line.extra_serials:
            line.status = "matched"
        elif line.within_tolerance:
            _post(session, count, line, user)
        else:
            line.status = "approval" if recount else "recount"
    session.flush()
    to_recount = [ln for ln in count.lines if ln.bin.code == bin_code and ln.status == "recount"]
    return {"bin": bin_code, "counted_by": user, "recount": recount,
            "lines": len(given) + len(added), "needs_recount": bool(to_recount)}


def _compare(session, line: CycleCountLine, qty: Decimal, serials, tol: Tolerance) -> None:
    """Book quantity now (= frozen + moved since), the difference, and whether it is tolerable."""
    book = _book(session, line)
    line.book_qty, line.moved_qty = book["qty"], book["qty"] - line.expected_qty
    line.variance_qty = qty - book["qty"]
    if book["serials"] is not None:
        line.book_serials = book["serials"]
        line.missing_serials = sorted(set(book["serials"]) - set(serials or []))
        line.extra_serials = sorted(set(serials or []) - set(book["serials"]))
    price = _unit_value(session, line.product, tol.price_list)
    line.unit_value = price
    line.variance_value = pricing.money(line.variance_qty * price) if price is not None else None
    limit = max(tol.qty, line.book_qty * tol.percent / 100)
    line.within_tolerance = (not line.missing_serials and not line.extra_serials
                             and abs(line.variance_qty) <= limit
                             and (line.variance_value is None
                                  or abs(line.variance_value) <= tol.value))


def _book(session, line: CycleCountLine) -> dict:
    where = [StockLedger.product_id == line.product_id, StockLedger.bin_id == line.bin_id]
    if line.product.tracking == "batch":
        where.append(StockLedger.batch == line.batch if line.batch is not None
                     else StockLedger.batch.is_(None))
    qty = Decimal(session.scalar(select(func.sum(StockLedger.quantity)).where(*where)) or ZERO)
    serials = None
    if line.product.tracking == "serial":
        serials = sorted(session.scalars(
            select(StockLedger.serial).where(*where, StockLedger.serial.is_not(None))
            .group_by(StockLedger.serial).having(func.sum(StockLedger.quantity) > 0)))
    return {"qty": qty, "serials": serials}


def _unit_value(session, product, price_list_code) -> Decimal | None:
    if not price_list_code:
        return None
    price_list = session.scalar(select(PriceList).where(PriceList.code == price_list_code))
    if price_list is None:
        return None
    price = pricing.item_price(session, price_list, product, Decimal(1), utcnow().date())
    return price.unit_price if price is not None else None


def _post(session, count: CycleCount, line: CycleCountLine, user) -> None:
    """Adjust the bin by the line's difference; a refusal by the ledger is kept on the line."""
    common = dict(sku=line.product.sku, warehouse=count.warehouse.code, bin=line.bin.code,
                  reason=f"cycle count {count.number}", user=user)
    doc = f"{count.number}/{line.line_no}"
    rows = []
    try:
        if line.product.tracking == "serial":
            for sign, serials in ((-1, line.missing_serials), (1, line.extra_serials)):
                if serials:
                    rows += stock_ledger.adjust(
                        session, quantity_delta=Decimal(sign * len(serials)), serials=serials,
                        doc_id=f"{doc}{'-' if sign < 0 else '+'}", **common).rows
        else:
            rows += stock_ledger.adjust(session, quantity_delta=line.variance_qty,
                                        batch=line.batch, doc_id=doc, **common).rows
    except (Invalid, Conflict) as err:
        line.status = "refused"
        line.note = f"not posted: {err.message}"[:500]
    else:
        line.status = "posted"
    line.adjustment_ids = [r.id for r in rows]


# ---------------------------------------------------------------- review and approval

def review(session, count_id: int) -> dict:
    """After every bin is counted: the lines still off after their recount need an approval;
    without any, the count is complete."""
    count = get_count(session, count_id=count_id, lock=True)
    pending = [ln for ln in count.lines if ln.status == "approval"]
    counters = sorted({u for ln in count.lines for u in (ln.counted_by, ln.recounted_by) if u})
    if pending:
        count.status = "approval"
    elif count.status == "counting":
        count.status, count.completed_at = "completed", utcnow()
    session.flush()
    return {"number": count.number, "needs_approval": bool(pending), "counters": counters,
            "lines": [line_view(ln) for ln in pending]}


def decide(session, count_id: int, decision: str, *, user: str | None,
           comment: str | None = None) -> dict:
    """Approve (post) or reject the differences that are still off after their recount."""
    count = get_count(session, count_id=count_id, lock=True)
    if count.status == "completed" and count.decision == decision:
        return summary(count)  # a replay
    if count.status != "approval":
        raise Conflict(f"count {count.number} is {count.status}, not awaiting approval")
    if decision not in ("approve", "reject"):
        raise Invalid("decide approve or reject", [{"field": "decision", "message": "unknown"}])
    counters = {u for ln in count.lines for u in (ln.counted_by, ln.recounted_by) if u}
    if user in counters:
        raise Invalid(f"{user} counted in {count.number} and cannot approve it",
                      [{"field": "user", "message": "segregation of duties"}])
    for line in (ln for ln in count.lines if ln.status == "approval"):
        if decision == "approve":
            _post(session, count, line, user)
        else:
            line.status = "rejected"
    count.decision, count.decided_by, count.decided_at = decision, user, utcnow()
    count.decision_comment = (comment or "")[:500] or None
    count.status, count.completed_at = "completed", utcnow()
    session.flush()
    return summary(count)


# ---------------------------------------------------------------- read side

def summary(count: CycleCount) -> dict:
    by_status = {}
    for line in count.lines:
        by_status[line.status] = by_status.get(line.status, 0) + 1
    return {"number": count.number, "status": count.status, "lines": len(count.lines),
            "by_status": by_status}


BLIND_FIELDS = ("expected_qty", "expected_serials", "book_qty", "book_serials", "moved_qty",
                "variance_qty", "variance_value", "missing_serials", "extra_serials",
                "within_tolerance")


def line_view(line: CycleCountLine, *, blind: bool = False) -> dict:
    view = {"line_id": line.id, "line_no": line.line_no, "bin": line.bin.code,
            "sku": line.product.sku, "name": line.product.name, "batch": line.batch,
            "found": line.found, "status": line.status,
            "expected_qty": line.expected_qty, "expected_serials": line.expected_serials,
            "counted_qty": line.counted_qty, "counted_serials": line.counted_serials,
            "counted_by": line.counted_by, "counted_at": line.counted_at,
            "recount_qty": line.recount_qty, "recount_serials": line.recount_serials,
            "recounted_by": line.recounted_by, "recounted_at": line.recounted_at,
            "book_qty": line.book_qty, "book_serials": line.book_serials,
            "moved_qty": line.moved_qty, "variance_qty": line.variance_qty,
            "missing_serials": line.missing_serials, "extra_serials": line.extra_serials,
            "unit_value": line.unit_value, "variance_value": line.variance_value,
            "within_tolerance": line.within_tolerance, "note": line.note}
    if blind:
        view.update(dict.fromkeys(BLIND_FIELDS))
    return view


def count_view(session, number: str, *, blind: bool = False) -> dict:
    """The count with its lines and the ledger rows it posted; ``blind`` hides what the book
    says (for counters while the count is still being counted)."""
    count = get_count(session, number=number)
    blind = blind and count.status == "counting"
    ids = [i for ln in count.lines for i in (ln.adjustment_ids or [])]
    rows = {r.id: r for r in session.scalars(
        select(StockLedger).where(StockLedger.id.in_(ids)))} if ids else {}
    lines = []
    for line in count.lines:
        view = line_view(line, blind=blind)
        view["adjustments"] = [{"ledger_id": i, "quantity": rows[i].quantity,
                                "serial": rows[i].serial, "batch": rows[i].batch,
                                "reason": rows[i].note, "at": rows[i].at}
                               for i in (line.adjustment_ids or []) if i in rows]
        lines.append(view)
    return {"number": count.number, "warehouse": count.warehouse.code, "status": count.status,
            "bins": count.bins, "skus": count.skus, "frozen_at": count.frozen_at,
            "created_by": count.created_by, "created_at": count.created_at,
            "tolerance": count.tolerance, "decision": count.decision,
            "decided_by": count.decided_by, "decided_at": count.decided_at,
            "decision_comment": count.decision_comment, "completed_at": count.completed_at,
            "process_instance_id": count.process_instance_id, "blind": blind,
            "summary": summary(count)["by_status"], "lines": lines}
