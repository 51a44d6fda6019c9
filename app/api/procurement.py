"""Releasing MRP's planned orders into purchase and work orders (each then runs its process),
reading purchase and work orders, and goods receipts against a PO through the stock API.

Releasing and receiving are planners' and the warehouse's business; reading is open to any
authenticated user, like the planned orders themselves.
"""
from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api import process_events
from app.api.auth import require_group
from app.api.procurement_schemas import (
    PurchaseOrderDetailSchema,
    PurchaseOrderListSchema,
    PurchaseOrderQuerySchema,
    ReleaseListSchema,
    ReleaseManySchema,
    ReleaseSchema,
    WorkOrderDetailSchema,
    WorkOrderListSchema,
    WorkOrderQuerySchema,
)
from app.api.services import runtime
from app.domain import inventory, production, purchasing, supply
from app.extensions import db
from app.models.engine import ProcessInstance

blp = Blueprint("procurement", __name__, url_prefix="/api",
                description="Purchase orders, work orders and releasing planned orders")

PLANNERS = ("planner",)


def start_processes(documents: list[dict], actor) -> list[dict]:
    """Start each document's process unless it has one (any state): after the release was
    committed, so a failed start is repaired by simply releasing again."""
    for doc in documents:
        instance_id = db.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.process_id == doc["process_id"],
            ProcessInstance.business_key == doc["business_key"]).limit(1))
        if instance_id is None:
            instance, _ = runtime().start(doc["process_id"], business_key=doc["business_key"],
                                          data=doc["start_data"], actor=actor)
            instance_id = instance.id
        doc["process_instance_id"] = instance_id
    return documents


def _documents_to_run(result: dict) -> list[dict]:
    # Created now: the document and any it brought along; a replay: make sure its one runs.
    return result["documents"] or [result["document"]]


@blp.route("/mrp/planned-orders/<int:planned_order_id>/release", methods=["POST"])
@require_group(*PLANNERS)
@blp.response(201, ReleaseSchema)
def release_planned_order(planned_order_id):
    """A planned purchase request becomes a purchase request (procurement process), a planned
    work order a work order (production process). Releasing again returns the same document
    (200)."""
    result = supply.release_planned_order(db.session, planned_order_id, g.actor.username)
    db.session.commit()
    start_processes(_documents_to_run(result), g.actor)
    return result, 201 if result["created"] else 200


@blp.route("/mrp/planned-orders/release", methods=["POST"])
@require_group(*PLANNERS)
@blp.arguments(ReleaseManySchema)
@blp.response(200, ReleaseListSchema)
def release_planned_orders(args):
    """Release several planned orders at once: all of them, or none (422 names the refused)."""
    results = supply.release_many(db.session, args["planned_order_ids"], g.actor.username)
    db.session.commit()
    for result in results:
        start_processes(_documents_to_run(result), g.actor)
    return {"items": results}


@blp.route("/purchase-orders", methods=["GET"])
@blp.arguments(PurchaseOrderQuerySchema, location="query")
@blp.response(200, PurchaseOrderListSchema)
def list_purchase_orders(args):
    return purchasing.list_purchase_orders(db.session, **args)


@blp.route("/purchase-orders/<string:number>", methods=["GET"])
@blp.response(200, PurchaseOrderDetailSchema)
def get_purchase_order(number):
    return purchasing.by_number(db.session, number)


@blp.route("/work-orders", methods=["GET"])
@blp.arguments(WorkOrderQuerySchema, location="query")
@blp.response(200, WorkOrderListSchema)
def list_work_orders(args):
    return production.list_work_orders(db.session, **args)


@blp.route("/work-orders/<string:number>", methods=["GET"])
@blp.response(200, WorkOrderDetailSchema)
def get_work_order(number):
    return production.by_number(db.session, number)


def receive_against_po(args: dict, actor) -> dict:
    """POST /api/stock/receipts naming a purchase order: the goods receipt (ledger rows with
    batch/serial) is committed, then the PO's procurement process and the orders whose
    replenishment requests it covers are told (message ids from the receipt)."""
    receipt = purchasing.receive_by_number(
        db.session, args["purchase_order"], reference=args["reference"], source="api",
        lines=[{"sku": args["sku"], "quantity": args["quantity"], "batch": args["batch"],
                "serials": args["serials"], "expiry": args["expiry"]}],
        warehouse=args["warehouse"], bin=args["bin"], user=actor.username)
    product = inventory.get_product(db.session, args["sku"])
    fulfilled = inventory.fulfil_requests(db.session, product.id)
    db.session.commit()
    process_events.tell_process("goods_received", receipt["purchase_order"], receipt["number"],
                                {"receipt_id": receipt["receipt_id"],
                                 "number": receipt["number"]}, actor=actor)
    process_events.tell_orders("goods_received", fulfilled, receipt["number"],
                               {"sku": args["sku"]}, actor=actor)
    return {"sku": args["sku"], "ledger_ids": receipt["ledger_ids"],
            "replayed": receipt["replayed"], "levels": receipt["levels"],
            "fulfilled_orders": fulfilled, "goods_receipt": receipt["number"],
            "purchase_order": receipt["purchase_order"]}
