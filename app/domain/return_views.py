"""The read side of a return: its facts for the API (the status comes from the caller, which
knows where the process waits)."""
from sqlalchemy import func, select

from app.domain import credit_notes, surveys
from app.models.finance import Invoice
from app.models.inventory import Bin, Product, StockLedger, Warehouse
from app.models.returns import CustomerSurvey, RepairOrder, ReturnRequest
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.types import ZERO


def return_ledger(session, ret: ReturnRequest) -> list[dict]:
    """The return's stock movements (receipt into quarantine, then restock / write-off / issue)."""
    rows = session.execute(
        select(StockLedger, Product.sku, Bin.code, Warehouse.code)
        .join(Product, Product.id == StockLedger.product_id)
        .join(Bin, Bin.id == StockLedger.bin_id)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .where(StockLedger.doc_type == "return", StockLedger.doc_id.like(f"{ret.number}/%"))
        .order_by(StockLedger.id))
    return [{"sku": sku, "warehouse": wh, "bin": bin_code, "quantity": row.quantity,
             "kind": row.kind, "batch": row.batch, "serial": row.serial, "doc_id": row.doc_id,
             "note": row.note, "at": row.at, "by": row.created_by}
            for row, sku, bin_code, wh in rows]


def describe(session, ret: ReturnRequest) -> dict:
    """The return's facts for the API: lines, stock movements, repair, replacement, credit
    notes and survey (its status comes from the caller, which knows the process)."""
    lines = [{"line_no": ln.line_no,
              "order_line_no": session.get(SalesOrderLine, ln.order_line_id).line_no,
              "sku": session.get(Product, ln.product_id).sku, "quantity": ln.quantity,
              "serials": ln.serials or [], "received_qty": ln.received_qty,
              "received_serials": ln.received_serials or [], "batch": ln.batch}
             for ln in ret.lines]
    repair = session.scalar(select(RepairOrder).where(RepairOrder.return_id == ret.id))
    replacement = session.get(SalesOrder, ret.replacement_order_id) \
        if ret.replacement_order_id else None
    notes = credit_notes.credit_notes_of_return(session, ret.id)
    survey = session.scalar(select(CustomerSurvey).where(CustomerSurvey.return_id == ret.id))
    fields = {c.key: getattr(ret, c.key) for c in ReturnRequest.__table__.columns}
    return {**fields,
            "order": session.get(SalesOrder, ret.order_id).number,
            "customer": session.get(Customer, ret.customer_id).code,
            "lines": lines, "receipts": return_ledger(session, ret),
            "repair_order": repair,
            "replacement_order": replacement.number if replacement else None,
            "credit_notes": [{"number": n.number, "total": n.total,
                              "invoice": session.get(Invoice, n.credited_invoice_id).number}
                             for n in notes],
            "survey": surveys.survey_view(survey)}


def stage_of(ret: ReturnRequest) -> str:
    """How far the return got, from its recorded facts (no process needed)."""
    for stage, at in (("rejected", ret.rejected_at), ("closed", ret.closed_at),
                      ("credited", ret.credited_at), ("inspected", ret.inspected_at),
                      ("received", ret.received_at), ("approved", ret.approved_at)):
        if at is not None:
            return stage
    return "requested"


def order_returns(session, order_id: int) -> list[dict]:
    """The order's returns, oldest first: number, stage, reason, outcome and quantities."""
    returns = session.scalars(select(ReturnRequest).where(ReturnRequest.order_id == order_id)
                              .order_by(ReturnRequest.id))
    return [{"number": r.number, "stage": stage_of(r), "origin": r.origin, "reason": r.reason,
             "outcome": r.outcome, "created_at": r.created_at,
             "quantity": sum((ln.quantity for ln in r.lines), start=ZERO)} for r in returns]


def recent_returns(session, *, q: str | None = None, limit: int = 100) -> list[dict]:
    """The newest returns for the list page, optionally matching a return, order or customer."""
    query = (select(ReturnRequest, SalesOrder.number, Customer.code, Customer.name)
             .join(SalesOrder, SalesOrder.id == ReturnRequest.order_id)
             .join(Customer, Customer.id == ReturnRequest.customer_id))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(ReturnRequest.number).like(like)
                            | func.lower(SalesOrder.number).like(like)
                            | func.lower(Customer.code).like(like)
                            | func.lower(Customer.name).like(like))
    rows = session.execute(query.order_by(ReturnRequest.id.desc()).limit(limit))
    return [{"number": r.number, "order": order, "customer_code": code, "customer_name": name,
             "stage": stage_of(r), "origin": r.origin, "outcome": r.outcome, "reason": r.reason,
             "created_at": r.created_at} for r, order, code, name in rows]
