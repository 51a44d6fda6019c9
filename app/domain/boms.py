"""Bills of materials: create and change them with validation, refuse cycles (naming the path),
and keep every item's low-level code current after each change.

A BOM is one version of a product's structure with optional effective dates; each line has its
own effective dates too, so a component change can be planned ahead. Structure checks (cycles,
levels) look at every active BOM and every line regardless of dates, because MRP may use any of
them on some day of its horizon. Writers of the structure queue on one advisory lock
(PostgreSQL) so two concurrent changes cannot close a cycle between them.
"""
from decimal import Decimal

from sqlalchemy import func, select, update

from app.domain.bom_structure import (
    STRUCTURE_LOCK,
    find_cycle,
    load_structure,
    low_level_codes,
    serialise,
)
from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.master_data import page_of
from app.models.inventory import Product
from app.models.manufacturing import Bom, BomLine, ItemPlanning
from app.models.types import ZERO

HUNDRED = Decimal("100")
BOM_FIELDS = ("effective_from", "effective_to", "active", "note", "lines")


def get_bom(session, bom_id: int) -> Bom:
    bom = session.get(Bom, bom_id)
    if bom is None:
        raise NotFound(f"BOM {bom_id} not found")
    return bom


def list_boms(session, *, product: str | None = None, active: bool | None = None,
              page: int = 1, per_page: int = 50) -> dict:
    """BOMs, newest version first per product, filtered by product SKU and active."""
    stmt = select(Bom).join(Product, Product.id == Bom.product_id)
    if product is not None:
        stmt = stmt.where(Product.sku == product)
    if active is not None:
        stmt = stmt.where(Bom.active.is_(active))
    return page_of(session, stmt.order_by(Product.sku), Bom.version.desc(), page, per_page)


def create_bom(session, *, product: str, lines: list[dict], version: int | None = None,
               effective_from=None, effective_to=None, active: bool = True,
               note: str | None = None) -> Bom:
    """A new BOM version for the product (next free version when none is given).

    lines: [{"component": sku, "qty_per": Decimal, "scrap_percent": Decimal (0),
    "effective_from": date|None, "effective_to": date|None}]. Every problem is reported at once
    (Invalid); a version that exists already is a Conflict; a cycle is refused with its path.
    """
    serialise(session, STRUCTURE_LOCK)
    problems: list[dict] = []
    parent = session.scalar(select(Product).where(Product.sku == product))
    if parent is None:
        problems.append({"field": "product", "message": f"unknown product {product!r}"})
    problems += _date_problems("", effective_from, effective_to)
    rows = _line_rows(session, lines, problems)
    if parent is not None and version is not None and session.scalar(
            select(Bom.id).where(Bom.product_id == parent.id, Bom.version == version)):
        raise Conflict(f"{product} already has BOM version {version}",
                       [{"field": "version", "message": "already exists"}])
    if parent is not None and active and not problems:
        problems += _cycle_problems(session, parent, rows, exclude_bom_id=None)
    _raise_if_any(problems)
    if version is None:
        version = (session.scalar(select(func.max(Bom.version))
                                  .where(Bom.product_id == parent.id)) or 0) + 1
    bom = Bom(product_id=parent.id, version=version, effective_from=effective_from,
              effective_to=effective_to, active=active, note=note,
              lines=[BomLine(line_no=no, **row) for no, row in enumerate(rows, start=1)])
    session.add(bom)
    session.flush()
    recompute_low_level_codes(session)
    return bom


def update_bom(session, bom_id: int, changes: dict) -> Bom:
    """Change dates, active, note, or replace the lines (the whole list); same checks as create."""
    unknown = sorted(set(changes) - set(BOM_FIELDS))
    if unknown:
        raise Invalid("unknown fields", [{"field": f, "message": "unknown field"} for f in unknown])
    serialise(session, STRUCTURE_LOCK)
    bom = session.scalar(select(Bom).where(Bom.id == bom_id).with_for_update())
    if bom is None:
        raise NotFound(f"BOM {bom_id} not found")
    problems = _date_problems("", changes.get("effective_from", bom.effective_from),
                              changes.get("effective_to", bom.effective_to))
    rows = _line_rows(session, changes["lines"], problems) if "lines" in changes else [
        {"component_id": ln.component_id, "qty_per": ln.qty_per,
         "scrap_percent": ln.scrap_percent, "effective_from": ln.effective_from,
         "effective_to": ln.effective_to} for ln in bom.lines]
    if changes.get("active", bom.active) and not problems:
        problems += _cycle_problems(session, bom.product, rows, exclude_bom_id=bom.id)
    _raise_if_any(problems)
    for name in ("effective_from", "effective_to", "active", "note"):
        if name in changes:
            setattr(bom, name, changes[name])
    if "lines" in changes:
        bom.lines.clear()
        session.flush()  # the old line numbers are free before the new lines take them
        bom.lines.extend(BomLine(line_no=no, **row) for no, row in enumerate(rows, start=1))
    session.flush()
    recompute_low_level_codes(session)
    return bom


def recompute_low_level_codes(session) -> dict[int, int]:
    """Store each product's low-level code in item_planning; returns {product_id: code} changed.

    Set-based: the whole structure is loaded once, codes computed in memory, and only rows
    whose code moved are written (a row is created for a component that has none yet).
    """
    codes = low_level_codes(load_structure(session))
    stored = dict(session.execute(
        select(ItemPlanning.product_id, ItemPlanning.low_level_code)).all())
    changed = {pid: code for pid, code in codes.items() if stored.get(pid, 0) != code}
    changed.update({pid: 0 for pid, code in stored.items() if code != 0 and pid not in codes})
    existing = [{"product_id": pid, "low_level_code": c} for pid, c in changed.items()
                if pid in stored]
    if existing:
        session.execute(update(ItemPlanning), existing)
    session.add_all(ItemPlanning(product_id=pid, low_level_code=c)
                    for pid, c in changed.items() if pid not in stored)
    session.flush()
    return changed


def _raise_if_any(problems: list[dict]) -> None:
    if problems:
        cycle = next((p["message"] for p in problems if p["message"].startswith("BOM cycle")), None)
        raise Invalid(cycle or "invalid BOM: " + ", ".join(
            dict.fromkeys(p["field"] for p in problems)), problems)


def sku_path(session, path: list[int]) -> str:
    skus = dict(session.execute(select(Product.id, Product.sku)
                                .where(Product.id.in_(set(path)))).all())
    return " → ".join(skus.get(pid, str(pid)) for pid in path)


def _cycle_problems(session, parent: Product, rows, *, exclude_bom_id) -> list[dict]:
    structure = load_structure(session, exclude_bom_id=exclude_bom_id)
    path = find_cycle(structure, parent.id, [r["component_id"] for r in rows])
    if path is None:
        return []
    return [{"field": "lines", "message": f"BOM cycle: {sku_path(session, path)}"}]


def _date_problems(prefix: str, start, end) -> list[dict]:
    if start is not None and end is not None and end < start:
        return [{"field": f"{prefix}effective_to", "message": "must be on or after effective_from"}]
    return []


def _line_rows(session, lines, problems: list[dict]) -> list[dict]:
    """Validated line values with component ids; problems appended with their line's index."""
    if not lines:
        problems.append({"field": "lines", "message": "a BOM needs at least one line"})
        return []
    skus = {ln.get("component") for ln in lines}
    ids = dict(session.execute(select(Product.sku, Product.id)
                               .where(Product.sku.in_(skus))).all())
    rows = []
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        component_id = ids.get(line.get("component"))
        if component_id is None:
            problems.append({"field": f"{field}.component",
                             "message": f"unknown product {line.get('component')!r}"})
        qty = line.get("qty_per")
        if qty is None or qty <= 0:
            problems.append({"field": f"{field}.qty_per", "message": "must be greater than 0"})
        scrap = line.get("scrap_percent") or ZERO
        if not ZERO <= scrap < HUNDRED:
            problems.append({"field": f"{field}.scrap_percent",
                             "message": "must be at least 0 and below 100"})
        start, end = line.get("effective_from"), line.get("effective_to")
        problems += _date_problems(f"{field}.", start, end)
        for j, other in enumerate(rows):
            if (other["component_id"] == component_id and component_id is not None
                    and _overlap(start, end, other["effective_from"], other["effective_to"])):
                problems.append({"field": f"{field}.component",
                                 "message": f"repeats line {j + 1} for overlapping dates"})
        rows.append({"component_id": component_id, "qty_per": qty, "scrap_percent": scrap,
                     "effective_from": start, "effective_to": end})
    return rows


def _overlap(a_from, a_to, b_from, b_to) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and \
        (b_to is None or a_from is None or a_from <= b_to)
