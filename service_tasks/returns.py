"""Operators for returns (processes/return_request.bpmn) and the order lifecycle's
after-shipment cancellation, which opens a return."""
import os

from app.domain import orders, return_goods, returns, surveys
from app.domain.errors import DomainError, Invalid
from app.engine.operators import BusinessError, UnitContext, operator
from service_tasks.orders import drop_open_quantity

# Where the survey link points; the pages are served by this application.
PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _business_error(code: str, err: DomainError) -> BusinessError:
    return BusinessError(code, err.message, {"details": err.details or []})


@operator("returns.open_for_cancellation")
def open_for_cancellation(ctx: UnitContext, order_id, reason=None):
    """An RMA for everything shipped and not yet returned, and its return_request process
    (started after this unit commits): {opened, return_number}; nothing shipped → opened False."""
    # The goods on their way come back as a return; what has not left is not sent any more.
    drop_open_quantity(ctx.session, int(order_id), reason or "order cancelled after shipment")
    ret, created = returns.open_for_cancellation(ctx.session, int(order_id),
                                                 reason or "order cancelled after shipment",
                                                 requested_by=ctx.actor)
    if ret is None:
        return {"opened": False, "return_number": None}
    if created:
        ctx.start_process(returns.PROCESS_ID, business_key=ret.number,
                          data=returns.process_data(ctx.session, ret))
    return {"opened": True, "return_number": ret.number}


@operator("returns.approve")
def approve(ctx: UnitContext, rma_id, approved_by, comment=None):
    ret = returns.approve(ctx.session, int(rma_id), approved_by or ctx.actor, comment)
    return {"approved_by": ret.approved_by}


@operator("returns.reject")
def reject(ctx: UnitContext, rma_id, rejected_by, comment=None):
    ret = returns.reject(ctx.session, int(rma_id), rejected_by or ctx.actor, comment)
    return {"rejected_by": ret.rejected_by}


@operator("returns.receive", errors=("receipt_mismatch",))
def receive(ctx: UnitContext, rma_id, lines, user=None, warehouse=None, note=None):
    """Book the goods that arrived into the returns bin; a mismatch goes back to the task."""
    try:
        result = return_goods.receive_goods(ctx.session, int(rma_id), lines or [],
                                            user=user or ctx.actor, warehouse=warehouse,
                                            note=note)
    except Invalid as err:
        raise _business_error("receipt_mismatch", err) from err
    return {"received_at": result["received_at"],
            "lines": [{"line_no": ln["line_no"], "sku": ln["sku"],
                       "received_qty": str(ln["received_qty"].normalize())}
                      for ln in result["lines"]]}


@operator("returns.inspect", errors=("inspection_invalid",))
def inspect(ctx: UnitContext, rma_id, outcome, user=None, note=None, warehouse=None, bin=None):
    """Record the outcome and move the goods; a replacement order's lifecycle is started."""
    try:
        result = return_goods.inspect(ctx.session, int(rma_id), outcome, user=user or ctx.actor,
                                      note=note, warehouse=warehouse, bin=bin)
    except Invalid as err:
        raise _business_error("inspection_invalid", err) from err
    if result["replacement_order"]:
        order = orders.get_order(ctx.session, result["replacement_order"])
        ctx.start_process("order_lifecycle", business_key=order.number,
                          data=return_goods.replacement_process_data(ctx.session, order))
    return result


@operator("returns.complete_repair")
def complete_repair(ctx: UnitContext, rma_id, repaired, user=None, note=None):
    return return_goods.complete_repair(ctx.session, int(rma_id), bool(repaired),
                                        user=user or ctx.actor, note=note)


@operator("returns.credit")
def credit(ctx: UnitContext, rma_id, user=None):
    """Credit notes for the received goods against the original invoices (once). The order's
    balance changed: its process is told as it is of a payment, so a fully credited order
    closes instead of waiting for money that will not come."""
    result = return_goods.credit(ctx.session, int(rma_id), user=user or ctx.actor)
    ret = returns.get_return(ctx.session, int(rma_id))
    order = orders.get_order(ctx.session, ret.order_id)
    for number in result["credit_notes"]:
        ctx.send_message("payment_received", business_key=order.number,
                         message_id=f"payment_received:credit:{number}",
                         payload={"credit_note": number})
    return result


@operator("returns.send_survey")
def send_survey(ctx: UnitContext, rma_id):
    """Queue the satisfaction survey e-mail: {sent, survey_id, expires_at}."""
    ret = returns.get_return(ctx.session, int(rma_id))
    return surveys.send_survey(ctx.session, ret,
                               link_base=os.environ.get(PUBLIC_BASE_URL, DEFAULT_BASE_URL))


@operator("returns.record_survey")
def record_survey(ctx: UnitContext, survey_id, score, comment=None):
    """Record the answer the survey page sent; one that came too late is not recorded."""
    try:
        survey = surveys.record_answer(ctx.session, int(survey_id), score, comment)
    except surveys.SurveyClosed as err:
        return {"recorded": False, "reason": err.message}
    return {"recorded": True, "score": survey.score}


@operator("returns.expire_survey")
def expire_survey(ctx: UnitContext, survey_id=None):
    return surveys.expire(ctx.session, int(survey_id) if survey_id else None)


@operator("returns.close")
def close(ctx: UnitContext, rma_id):
    ret = returns.close(ctx.session, int(rma_id))
    return {"closed_at": ret.closed_at}
