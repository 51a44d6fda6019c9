"""What a counter hands in for a bin, checked against the count sheet before anything changes.

Every problem is collected as {"field", "message"} (the cycle count process shows them to the
counter and sends the task back); nothing is written here: ``found_lines`` builds the lines for
goods the sheet did not list without adding them to the count.
"""
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app.models.counting import CycleCount, CycleCountLine
from app.models.inventory import Bin, Product
from app.models.types import ZERO

PLACES = Decimal("0.001")
MAX_QTY = Decimal("1e9")


def check_counts(todo: dict, counts, user, recount) -> tuple[dict, list]:
    given, problems = {}, []
    if not isinstance(counts, list):
        return given, [{"field": "counts", "message": "must be a list"}]
    for i, entry in enumerate(counts):
        at = f"counts[{i}]"
        line_id = _whole(entry.get("line_id")) if isinstance(entry, dict) else None
        line = todo.get(line_id)
        if line is None:
            problems.append({"field": f"{at}.line_id",
                             "message": f"line {line_id} is not on this count sheet"})
            continue
        if line_id in given:
            problems.append({"field": f"{at}.line_id", "message": f"line {line_id} given twice"})
            continue
        if recount and user is not None and user == line.counted_by:
            problems.append({"field": at, "message": f"{user} made the first count of line "
                                                     f"{line.line_no}: someone else recounts"})
        qty, serials = _quantity(line.product, entry, at, problems)
        given[line_id] = (line, qty, serials)
    for line_id, line in todo.items():
        if line_id not in given:
            problems.append({"field": "counts", "message": f"line {line.line_no} "
                                                           f"({line.product.sku}) is not counted"})
    return given, problems


def _whole(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return int(value) if value == int(value) else None
    except (OverflowError, ValueError):  # inf, nan
        return None


def _quantity(product, entry, at, problems) -> tuple[Decimal | None, list | None]:
    raw = entry.get("quantity")
    try:
        qty = Decimal(str(raw)) if raw is not None and not isinstance(raw, bool) else None
    except InvalidOperation:
        qty = None
    if qty is None or not qty.is_finite() or not 0 <= qty < MAX_QTY \
            or qty != qty.quantize(PLACES):
        problems.append({"field": f"{at}.quantity",
                         "message": "a number >= 0 with at most 3 decimals"})
        return None, None
    serials = entry.get("serials")
    if product.tracking != "serial":
        if serials:
            problems.append({"field": f"{at}.serials",
                             "message": f"{product.sku} is not serial-tracked"})
        return qty, None
    serials = serials or []
    if not isinstance(serials, list) or not all(isinstance(s, str) and s for s in serials):
        problems.append({"field": f"{at}.serials", "message": "a list of serial numbers"})
        return qty, []
    if len(set(serials)) != len(serials):
        problems.append({"field": f"{at}.serials", "message": "a serial is given twice"})
    elif len(serials) != qty:
        problems.append({"field": f"{at}.serials",
                         "message": f"{len(serials)} serials for {qty} pieces"})
    return qty, sorted(set(serials))


def found_lines(session, count: CycleCount, bin_code, found, problems) -> list:
    """Lines for goods a counter found that the sheet did not list (expected 0), not yet
    added to the count."""
    if not isinstance(found, list):
        problems.append({"field": "found", "message": "must be a list"})
        return []
    bin_ = session.scalar(select(Bin).where(Bin.warehouse_id == count.warehouse_id,
                                            Bin.code == bin_code))
    existing = {(ln.product_id, ln.batch): ln for ln in count.lines if ln.bin_id == bin_.id}
    added, line_no = [], max((ln.line_no for ln in count.lines), default=0)
    for i, entry in enumerate(found):
        at = f"found[{i}]"
        sku = entry.get("sku") if isinstance(entry, dict) else None
        product = session.scalar(select(Product).where(Product.sku == sku)) if sku else None
        if product is None or not product.stock_tracked:
            problems.append({"field": f"{at}.sku", "message": f"no stock-tracked product {sku!r}"})
            continue
        if count.skus and sku not in count.skus:
            problems.append({"field": f"{at}.sku", "message": f"{sku} is not in this count"})
            continue
        batch = (entry.get("batch") or None) if product.tracking == "batch" else None
        if product.tracking == "batch" and not batch:
            problems.append({"field": f"{at}.batch", "message": f"{sku} is batch-tracked"})
            continue
        if (product.id, batch) in existing:
            problems.append({"field": at, "message": f"count {sku} on line "
                                                     f"{existing[product.id, batch].line_no}"})
            continue
        qty, serials = _quantity(product, entry, at, problems)
        line_no += 1
        line = CycleCountLine(line_no=line_no, bin_id=bin_.id, product_id=product.id, batch=batch,
                              status="open", found=True, expected_qty=ZERO,
                              expected_serials=[] if product.tracking == "serial" else None)
        line.product, line.bin = product, bin_
        existing[product.id, batch] = line
        added.append((line, qty, serials))
    return added
