"""Return requests (RMA): entry against delivered order lines, the approval decision, the read side.

Rules (shared/docs/erp-rules.md): a return references the original delivery; returned qty ≤
delivered − already returned, checked at entry with the order row locked (two requests for the
last unit cannot both pass). "Already returned" counts the goods received back and what open
requests still claim; a serial number can be claimed by one return at a time.
What happens to the goods (receipt, inspection, repair, credit) is in app.domain.return_goods;
the flow between the steps is processes/return_request.bpmn.
The status is derived from the recorded facts and where the process waits, never stored.
"""
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, func, or_, select

from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.numbering import next_number
from app.models.inventory import Product
from app.models.returns import ReturnLine, ReturnRequest
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import ZERO, utcnow

PROCESS_ID = "return_request"
KIND, PREFIX = "return", "RMA"  # gap-free numbers "RMA-2026-00001"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Where the process waits says what the return waits for.
WAIT_STATUS = {
    "approve_return": "awaiting_approval", "receive_return": "awaiting_goods",
    "inspect_return": "awaiting_inspection", "repair_return": "in_repair",
    "wait_survey": "awaiting_feedback", "survey_answered": "awaiting_feedback",
    "survey_timeout": "awaiting_feedback",
}


# ----------------------------------------------------------------- entry

def request_return(session, *, order: str, lines: list[dict], reason: str,
                   external_ref: str | None = None, idempotency_key: str | None = None,
                   contact_email: str | None = None,
                   requested_by: str | None = None) -> tuple[ReturnRequest, bool]:
    """A new RMA for delivered goods, or the existing one for the same idempotency key or
    (order, external_ref). Raises Invalid naming every problem; nothing is written then."""
    if idempotency_key and len(idempotency_key) > 200:
        raise Invalid("the return is not valid", details=[
            {"field": "Idempotency-Key", "message": "at most 200 characters"}])
    if idempotency_key:
        existing = session.scalar(select(ReturnRequest).where(
            ReturnRequest.idempotency_key == idempotency_key))
        if existing is not None:
            if session.get(SalesOrder, existing.order_id).number != order:
                raise Conflict("this Idempotency-Key was used for a return of another order")
            return existing, False
    found = session.scalar(select(SalesOrder).where(SalesOrder.number == order))
    if found is None:
        raise Invalid("the return is not valid",
                      details=[{"field": "order", "message": f"unknown order {order!r}"}])
    if external_ref:
        existing = find_by_external_ref(session, found.id, external_ref)
        if existing is not None:
            return existing, False
    locked = _locked_order(session, found.id)
    problems = _request_problems(reason, contact_email)
    checked, line_problems = check_lines(session, locked, lines, basis="delivered")
    if problems or line_problems:
        raise Invalid("the return is not valid", details=problems + line_problems)
    ret = _new_return(session, locked, checked, reason=reason.strip(), origin="customer",
                      requested_by=requested_by, external_ref=external_ref,
                      idempotency_key=idempotency_key, contact_email=contact_email)
    return ret, True


def open_for_cancellation(session, order_id: int, reason: str,
                          requested_by: str | None = None) -> tuple[ReturnRequest | None, bool]:
    """After-shipment cancellation: an RMA for everything shipped and not yet returned.

    Shipped counts goods still in transit too (they come back refused). Returns (None, False)
    when nothing is left to take back; an open cancellation RMA of the order is returned again.
    """
    order = _locked_order(session, order_id)
    existing = session.scalar(select(ReturnRequest).where(
        ReturnRequest.order_id == order.id, ReturnRequest.origin == "cancellation",
        ReturnRequest.rejected_at.is_(None), ReturnRequest.closed_at.is_(None)))
    if existing is not None:
        return existing, False
    left = returnable(session, order, basis="shipped")
    wanted = [{"line_no": line.line_no, "quantity": left[line.id]}
              for line in order.lines if left.get(line.id, ZERO) > 0]
    if not wanted:
        return None, False
    checked, problems = check_lines(session, order, wanted, basis="shipped")
    if problems:  # cannot happen for quantities computed above; a bug if it does
        raise Conflict("the cancellation return is inconsistent", details=problems)
    ret = _new_return(session, order, checked, reason=(reason or "order cancelled").strip(),
                      origin="cancellation", requested_by=requested_by)
    return ret, True


def find_by_external_ref(session, order_id: int, external_ref: str) -> ReturnRequest | None:
    return session.scalar(select(ReturnRequest).where(ReturnRequest.order_id == order_id,
                                                      ReturnRequest.external_ref == external_ref))


def _locked_order(session, order_id: int) -> SalesOrder:
    order = session.scalar(select(SalesOrder).where(SalesOrder.id == order_id).with_for_update()
                           .execution_options(populate_existing=True))
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def _request_problems(reason, contact_email) -> list[dict]:
    problems = []
    if not (reason or "").strip():
        problems.append({"field": "reason", "message": "say why the goods come back"})
    if contact_email is not None and not EMAIL.match(contact_email):
        problems.append({"field": "contact_email", "message": "not an e-mail address"})
    return problems


def _new_return(session, order, checked, **facts) -> ReturnRequest:
    now = utcnow()
    ret = ReturnRequest(number=next_number(session, KIND, now.year, PREFIX), order_id=order.id,
                        customer_id=order.customer_id, created_at=now, **facts)
    for line_no, (order_line, qty, serials) in enumerate(checked, start=1):
        ret.lines.append(ReturnLine(line_no=line_no, order_line_id=order_line.id,
                                    product_id=order_line.product_id, quantity=qty,
                                    serials=serials or None))
    session.add(ret)
    session.flush()
    return ret


# ----------------------------------------------------------------- what may come back

def parse_quantity(value) -> Decimal | None:
    """A finite decimal from a number or text (str() first: a float's shortest repr), or None."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _quantity(value) -> Decimal | None:
    result = parse_quantity(value)
    return result if result is not None and result > 0 else None


def _still_claims():
    """A request claims goods unless it was rejected or closed without receiving any."""
    return and_(ReturnRequest.rejected_at.is_(None),
                or_(ReturnRequest.closed_at.is_(None), ReturnRequest.received_at.is_not(None)))


def claimed(session, order_line_ids) -> dict[int, Decimal]:
    """Per order line: received back, plus what requests not yet received still claim."""
    if not order_line_ids:
        return {}
    counted = case((ReturnRequest.received_at.is_not(None), ReturnLine.received_qty),
                   else_=ReturnLine.quantity)
    rows = session.execute(
        select(ReturnLine.order_line_id, func.sum(counted))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnLine.order_line_id.in_(list(order_line_ids)), _still_claims())
        .group_by(ReturnLine.order_line_id))
    return {line_id: Decimal(qty or 0) for line_id, qty in rows}


def claimed_serials(session, order_line_id: int, except_return_id: int | None = None) -> set:
    serials = set()
    for line in session.scalars(
            select(ReturnLine).join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
            .where(ReturnLine.order_line_id == order_line_id, _still_claims())):
        if line.return_id != except_return_id:
            serials |= set(line.received_serials or line.serials or [])
    return serials


def shipped(session, order_id: int, *, delivered_only: bool) -> dict[int, tuple[Decimal, set]]:
    """Per order line: the quantity that left the warehouse (or was delivered) and its serials."""
    query = (select(ShipmentLine).join(Shipment, Shipment.id == ShipmentLine.shipment_id)
             .where(Shipment.order_id == order_id, Shipment.picked_at.is_not(None),
                    Shipment.status != "cancelled"))
    if delivered_only:
        query = query.where(Shipment.status == "delivered")
    out: dict[int, list] = defaultdict(lambda: [ZERO, set()])
    for line in session.scalars(query):
        out[line.order_line_id][0] += line.quantity
        out[line.order_line_id][1] |= set(line.serials or [])
    return {k: (v[0], v[1]) for k, v in out.items()}


def returnable(session, order: SalesOrder, *, basis: str) -> dict[int, Decimal]:
    """Per order line: what may still be returned (delivered or shipped, minus claimed)."""
    base = ({ln.id: ln.delivered_qty for ln in order.lines} if basis == "delivered" else
            {k: q for k, (q, _) in shipped(session, order.id, delivered_only=False).items()})
    taken = claimed(session, [ln.id for ln in order.lines])
    return {line_id: max(ZERO, qty - taken.get(line_id, ZERO)) for line_id, qty in base.items()}


def check_lines(session, order: SalesOrder, lines, *, basis: str):
    """[(order line, qty, serials)] and the problems, each naming its field."""
    by_no = {ln.line_no: ln for ln in order.lines}
    left = returnable(session, order, basis=basis)
    sent = shipped(session, order.id, delivered_only=basis == "delivered")
    problems, checked, seen = [], [], set()
    if not lines:
        problems.append({"field": "lines", "message": "return at least one line"})
    for index, line in enumerate(lines or []):
        at = f"lines[{index}]"
        order_line, qty = by_no.get(line.get("line_no")), _quantity(line.get("quantity"))
        if order_line is None:
            problems.append({"field": f"{at}.line_no",
                             "message": f"order {order.number} has no line {line.get('line_no')}"})
            continue
        if order_line.id in seen:
            problems.append({"field": f"{at}.line_no", "message": "line repeated"})
            continue
        seen.add(order_line.id)
        if qty is None:
            problems.append({"field": f"{at}.quantity", "message": "must be greater than 0"})
            continue
        may = left.get(order_line.id, ZERO)
        if qty > may:
            done = (order_line.delivered_qty if basis == "delivered"
                    else sent.get(order_line.id, (ZERO, set()))[0])
            problems.append({"field": f"{at}.quantity", "message":
                             f"at most {may.normalize():f} can be returned "
                             f"({basis} {Decimal(done).normalize():f}, already returned or "
                             f"requested {(Decimal(done) - may).normalize():f})"})
            continue
        serials = line.get("serials") or []
        problems += _serial_problems(session, at, order_line, qty, serials,
                                     sent.get(order_line.id, (ZERO, set()))[1])
        checked.append((order_line, qty, list(serials)))
    return checked, problems


def _serial_problems(session, at, order_line, qty, serials, sent_serials) -> list[dict]:
    if not serials:
        return []
    product = session.get(Product, order_line.product_id)
    field = f"{at}.serials"
    if product.tracking != "serial":
        return [{"field": field, "message": f"{product.sku} is not serial-tracked"}]
    if len(set(serials)) != len(serials) or len(serials) != qty:
        return [{"field": field,
                 "message": f"give {qty.normalize():f} distinct serial numbers"}]
    unknown = sorted(set(serials) - sent_serials)
    if unknown:
        return [{"field": field, "message": f"not shipped on this line: {', '.join(unknown)}"}]
    again = sorted(set(serials) & claimed_serials(session, order_line.id))
    if again:
        return [{"field": field, "message": f"already returned: {', '.join(again)}"}]
    return []


# ----------------------------------------------------------------- decision

def get_return(session, number_or_id) -> ReturnRequest:
    column = ReturnRequest.id if isinstance(number_or_id, int) else ReturnRequest.number
    ret = session.scalar(select(ReturnRequest).where(column == number_or_id))
    if ret is None:
        raise NotFound(f"return {number_or_id} not found")
    return ret


def locked_return(session, return_id: int) -> ReturnRequest:
    ret = session.scalar(select(ReturnRequest).where(ReturnRequest.id == return_id)
                         .with_for_update().execution_options(populate_existing=True))
    if ret is None:
        raise NotFound(f"return {return_id} not found")
    return ret


def approve(session, return_id: int, user: str | None, comment: str | None = None):
    ret = locked_return(session, return_id)
    if ret.rejected_at is not None:
        raise Conflict(f"return {ret.number} was rejected")
    if ret.approved_at is None:
        ret.approved_by, ret.approved_at = user, utcnow()
        ret.decision_comment = comment or None
    return ret


def reject(session, return_id: int, user: str | None, comment: str | None):
    ret = locked_return(session, return_id)
    if ret.approved_at is not None:
        raise Conflict(f"return {ret.number} was approved")
    if ret.rejected_at is None:
        ret.rejected_by, ret.rejected_at = user, utcnow()
        ret.decision_comment, ret.closed_at = comment or None, utcnow()
    return ret


def close(session, return_id: int):
    ret = locked_return(session, return_id)
    if ret.closed_at is None:
        ret.closed_at = utcnow()
    return ret


# ----------------------------------------------------------------- read side

def derived_status(ret: ReturnRequest, waiting_nodes: list[str]) -> str:
    if ret.rejected_at:
        return "rejected"
    if ret.closed_at:
        return "closed"
    for node in waiting_nodes:
        if node in WAIT_STATUS:
            return WAIT_STATUS[node]
    for fact, status in ((ret.credited_at, "credited"), (ret.inspected_at, "inspected"),
                         (ret.received_at, "received"), (ret.approved_at, "approved")):
        if fact:
            return status
    return "requested"


def process_data(session, ret: ReturnRequest) -> dict:
    """What the return_request process starts with: ids, a summary for the task pages, and
    the optional form fields set empty (a later form that leaves one out must not see an
    earlier answer)."""
    order = session.get(SalesOrder, ret.order_id)
    lines = [{"line_no": ln.line_no, "order_line_no": session.get(SalesOrderLine,
                                                                  ln.order_line_id).line_no,
              "sku": session.get(Product, ln.product_id).sku,
              "quantity": str(ln.quantity.normalize()), "serials": ln.serials or []}
             for ln in ret.lines]
    return {"rma_id": ret.id, "rma_number": ret.number, "order_number": order.number,
            "customer_code": session.get(Customer, ret.customer_id).code,
            "requested_by": ret.requested_by or "", "origin": ret.origin,
            "return_reason": ret.reason, "rma_lines": lines,
            "decision_comment": "", "receipt_warehouse": None, "receipt_note": "",
            "inspection_note": "", "restock_warehouse": None, "restock_bin": None,
            "repair_note": ""}


def list_returns(session, *, order: str | None = None, customer: str | None = None,
                 page: int = 1, per_page: int = 50) -> tuple[list[ReturnRequest], int]:
    query = select(ReturnRequest)
    if order:
        query = query.join(SalesOrder, SalesOrder.id == ReturnRequest.order_id).where(
            SalesOrder.number == order)
    if customer:
        query = query.join(Customer, Customer.id == ReturnRequest.customer_id).where(
            Customer.code == customer)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(ReturnRequest.id.desc())
                            .offset((page - 1) * per_page).limit(per_page))
    return list(items), total
