"""Naming the document behind a stock-ledger row from its doc_type and doc_id, generically.

The doc_id (up to the first "/": "GR-2026-00001/1" -> "GR-2026-00001") is looked up by the
``number`` column of the doc_type's table (``DOCUMENT_TABLES`` names the tables that are called
differently from their doc_type); the row's plain columns are shown and its foreign keys to
``NAMED_TABLES`` are named by number/code, once more for those rows (a goods receipt names its
purchase order and that order's supplier; a return its customer and order). Documents whose
table does not exist (yet) show as their type and id only. Shipments are read by stock_trace.
"""
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, select

from app.extensions import db
from app.models.shipping import Shipment

# doc_type -> tables that may hold the document, looked up by their `number` column
DOCUMENT_TABLES = {
    "return": ("return_request",),
    "goods_receipt": ("goods_receipt",),
    "receipt": ("goods_receipt",),
    "work_order": ("work_order",),
    "purchase_order": ("purchase_order",),
    "repair": ("repair_order",),
}
# a document's foreign keys to these tables are shown by the target's number/code (and followed
# once more, so a goods receipt names its purchase order and that order's supplier)
NAMED_TABLES = ("supplier", "customer", "sales_order", "purchase_order", "work_order",
                "return_request", "shipment", "repair_order", "product", "warehouse")
SHOWN_TYPES = (String, DateTime, Date, Numeric, Integer, Boolean)
HIDDEN_COLUMNS = ("id", "process_instance_id", "label_pdf", "normalized_name", "tax_id",
                  "idempotency_key")


class Documents:
    """Documents looked up once per trace (or report)."""

    def __init__(self, session):
        self.session = session
        self._shipments: dict[str, Shipment | None] = {}
        self._generic: dict[tuple, dict] = {}

    def shipment(self, number) -> Shipment | None:
        if number not in self._shipments:
            self._shipments[number] = self.session.scalar(
                select(Shipment).where(Shipment.number == number))
        return self._shipments[number]

    def generic(self, doc_type, doc_id) -> dict:
        if not doc_type or not doc_id:
            return {}
        number = doc_id.split("/")[0]
        key = (doc_type, number)
        if key not in self._generic:
            self._generic[key] = self._lookup(doc_type, number)
        return self._generic[key]

    def _lookup(self, doc_type, number) -> dict:
        for name in DOCUMENT_TABLES.get(doc_type, (doc_type,)):
            table = db.metadata.tables.get(name)
            if table is None or "number" not in table.c:
                continue
            row = self.session.execute(
                select(table).where(table.c.number == number)).mappings().first()
            if row is not None:
                return {"number": number, **_describe(self.session, table, row, depth=2)}
        return {}


def _describe(session, table, row, *, depth) -> dict:
    """The row's plain columns, and its foreign keys to named tables by number/code."""
    out = {}
    for column in table.c:
        value = row[column.name]
        if value is None or column.name in HIDDEN_COLUMNS or column.name == "number":
            continue
        targets = [fk.column.table for fk in column.foreign_keys]
        if targets:
            target = targets[0]
            if depth > 0 and target.name in NAMED_TABLES:
                out[column.name.removesuffix("_id")] = _reference(session, target, value, depth)
            continue
        if isinstance(column.type, SHOWN_TYPES):
            out[column.name] = value
    return out


def _reference(session, table, key, depth) -> dict | None:
    row = session.execute(select(table).where(table.c.id == key)).mappings().first()
    if row is None:
        return None
    ref = {c: row[c] for c in ("number", "code", "name", "email", "status") if c in table.c
           and row[c] is not None}
    if depth > 1:  # follow once more: a purchase order's supplier, a return's customer
        for column in table.c:
            targets = [fk.column.table for fk in column.foreign_keys]
            if targets and targets[0].name in ("supplier", "customer") and row[column.name]:
                ref[column.name.removesuffix("_id")] = _reference(
                    session, targets[0], row[column.name], 0)
    return ref
