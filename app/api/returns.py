"""Returns (RMA) and credit notes over HTTP.

A return request is committed before its process starts (as orders are, app.api.order_flow), so
an engine failure never takes the request with it; a replay by Idempotency-Key or by
(order, external_ref) finds the request and starts its process if that had not happened.
"""
from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api.auth import require_group
from app.api.order_flow import process_state
from app.api.return_schemas import (
    CreditNoteCreateSchema,
    CreditNoteSchema,
    ReturnCreateSchema,
    ReturnDetailSchema,
    ReturnListSchema,
    ReturnQuerySchema,
)
from app.api.services import runtime
from app.domain import credit_notes, return_views, returns
from app.engine import queries
from app.extensions import db
from app.models.engine import ProcessInstance
from app.models.returns import ReturnRequest
from app.models.sales import Customer, SalesOrder

blp = Blueprint("returns", __name__, url_prefix="/api",
                description="Returns (RMA), credit notes")

REQUESTERS = ("sales", "sales_supervisor", "general_manager", "services")
CREDIT_READERS = ("finance", "sales", "sales_supervisor", "general_manager")


# ----------------------------------------------------------------- returns

@blp.route("/returns", methods=["POST"])
@require_group(*REQUESTERS)  # before parsing: outsiders get 403, not 422
@blp.arguments(ReturnCreateSchema)
@blp.response(201, ReturnDetailSchema)
@blp.alt_response(200, schema=ReturnDetailSchema,
                  description="a replay (same Idempotency-Key, or same order and external_ref)")
def create_return(args):
    ret, created = place_return(args, g.actor, request.headers.get("Idempotency-Key") or None)
    return describe(ret), 201 if created else 200


@blp.route("/returns", methods=["GET"])
@blp.arguments(ReturnQuerySchema, location="query")
@blp.response(200, ReturnListSchema)
def list_returns(args):
    items, total = returns.list_returns(db.session, **args)
    return {"items": [_summary(ret) for ret in items], "total": total, "page": args["page"],
            "per_page": args["per_page"]}


@blp.route("/returns/<string:number>", methods=["GET"])
@blp.response(200, ReturnDetailSchema)
def get_return(number):
    return describe(returns.get_return(db.session, number))


def place_return(args: dict, actor, idempotency_key: str | None):
    try:
        ret, created = returns.request_return(
            db.session, order=args["order"], lines=args["lines"], reason=args["reason"],
            external_ref=args["external_ref"], idempotency_key=idempotency_key,
            contact_email=args["contact_email"], requested_by=actor.username)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same key or external_ref raced us: theirs is the return
        ret = _replayed(args, idempotency_key)
        if ret is None:
            raise
        created = False
    if ret.process_instance_id is None:
        instance, _ = runtime().start(returns.PROCESS_ID, business_key=ret.number, actor=actor,
                                      data=returns.process_data(db.session, ret))
        ret = db.session.get(ReturnRequest, ret.id)
        ret.process_instance_id = instance.id
        db.session.commit()
    return ret, created


def _replayed(args, idempotency_key) -> ReturnRequest | None:
    if idempotency_key:
        found = db.session.scalar(select(ReturnRequest).where(
            ReturnRequest.idempotency_key == idempotency_key))
        if found is not None:
            return found
    order = db.session.scalar(select(SalesOrder).where(SalesOrder.number == args["order"]))
    if order is None or not args["external_ref"]:
        return None
    return returns.find_by_external_ref(db.session, order.id, args["external_ref"])


def _instance(ret: ReturnRequest) -> ProcessInstance | None:
    """Linked when the API started it; a return opened by a cancellation is found by its key."""
    return queries.document_instance(db.session, ret.process_instance_id, ret.number,
                                     returns.PROCESS_ID)


def _summary(ret: ReturnRequest) -> dict:
    instance = _instance(ret)
    waits = [w["node_id"] for w in instance.waiting_at] if instance else []
    return {"number": ret.number, "status": returns.derived_status(ret, waits),
            "order": db.session.get(SalesOrder, ret.order_id).number,
            "customer": db.session.get(Customer, ret.customer_id).code, "origin": ret.origin,
            "external_ref": ret.external_ref, "reason": ret.reason,
            "requested_by": ret.requested_by, "created_at": ret.created_at,
            "outcome": ret.outcome, "process_instance_id": instance.id if instance else None}


def describe(ret: ReturnRequest) -> dict:
    instance = _instance(ret)
    waits = [w["node_id"] for w in instance.waiting_at] if instance else []
    return {**return_views.describe(db.session, ret),
            "status": returns.derived_status(ret, waits),
            "process_instance_id": instance.id if instance else None,
            "process": process_state(instance) if instance else None}


# ----------------------------------------------------------------- credit notes

@blp.route("/credit-notes", methods=["POST"])
@require_group("finance")
@blp.arguments(CreditNoteCreateSchema)
@blp.response(201, CreditNoteSchema)
def create_credit_note(args):
    """A credit note against an invoice (a price correction, goods not returned); returns
    credit their goods themselves."""
    note = credit_notes.create_credit_note(db.session, args["invoice"], args["lines"],
                                           reason=args["reason"], user=g.actor.username)
    db.session.commit()
    return credit_notes.credit_note_view(db.session, note)


@blp.route("/credit-notes/<string:number>", methods=["GET"])
@require_group(*CREDIT_READERS)
@blp.response(200, CreditNoteSchema)
def get_credit_note(number):
    return credit_notes.credit_note_view(db.session,
                                         credit_notes.get_credit_note(db.session, number))
