"""Cycle counts over HTTP: create one (and start its process), read one.

Creating: the `warehouse` or `process_owner` group. Reading: anyone signed in; while the count is
still being counted, what the book says (expected, book, difference) is shown only to process
owners and admins, so a counter cannot look the answer up before counting.
"""
from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import require_group
from app.api.schemas import StrictSchema
from app.api.services import runtime
from app.domain import cycle_counts
from app.engine import deployments
from app.extensions import db
from app.models.counting import CycleCount

blp = Blueprint("counting", __name__, url_prefix="/api",
                description="Cycle counts: blind counts per bin, recounts, approved adjustments")

PROCESS_ID = "cycle_count"
CREATORS = ("warehouse", "process_owner")
SEES_THE_BOOK = ("process_owner",)


class CycleCountCreateSchema(StrictSchema):
    warehouse = fields.String(required=True, validate=validate.Length(1, 32))
    bins = fields.List(fields.String(validate=validate.Length(1, 32)), load_default=None,
                       validate=validate.Length(1, 1000))
    skus = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=None,
                       validate=validate.Length(1, 1000))


def Qty():  # noqa: N802
    return fields.Decimal(places=3, as_string=True, allow_none=True)


class CountAdjustmentSchema(Schema):
    ledger_id = fields.Integer()
    quantity = Qty()
    serial = fields.String(allow_none=True)
    batch = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


class CycleCountLineSchema(Schema):
    line_id = fields.Integer()
    line_no = fields.Integer()
    bin = fields.String()
    sku = fields.String()
    name = fields.String()
    batch = fields.String(allow_none=True)
    found = fields.Boolean()
    status = fields.String()
    expected_qty = Qty()
    expected_serials = fields.List(fields.String(), allow_none=True)
    counted_qty = Qty()
    counted_serials = fields.List(fields.String(), allow_none=True)
    counted_by = fields.String(allow_none=True)
    counted_at = fields.DateTime(allow_none=True)
    recount_qty = Qty()
    recount_serials = fields.List(fields.String(), allow_none=True)
    recounted_by = fields.String(allow_none=True)
    recounted_at = fields.DateTime(allow_none=True)
    book_qty = Qty()
    book_serials = fields.List(fields.String(), allow_none=True)
    moved_qty = Qty()
    variance_qty = Qty()
    missing_serials = fields.List(fields.String(), allow_none=True)
    extra_serials = fields.List(fields.String(), allow_none=True)
    unit_value = fields.Decimal(places=4, as_string=True, allow_none=True)
    variance_value = fields.Decimal(places=2, as_string=True, allow_none=True)
    within_tolerance = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)
    adjustments = fields.List(fields.Nested(CountAdjustmentSchema))


class CycleCountSchema(Schema):
    number = fields.String()
    warehouse = fields.String()
    status = fields.String()
    bins = fields.List(fields.String())
    skus = fields.List(fields.String(), allow_none=True)
    frozen_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    tolerance = fields.Dict(allow_none=True)
    decision = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_comment = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    blind = fields.Boolean()
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())
    lines = fields.List(fields.Nested(CycleCountLineSchema))


def _blind_for(actor) -> bool:
    return not (actor.is_admin or set(SEES_THE_BOOK) & set(actor.groups))


@blp.route("/stock/cycle-counts", methods=["POST"])
@require_group(*CREATORS)
@blp.arguments(CycleCountCreateSchema)
@blp.response(201, CycleCountSchema)
def create_count(args):
    """Freeze the expected stock of the bins and start the count's process."""
    deployments.latest_deployment_id(db.session, PROCESS_ID)  # 404 before any count is made
    count = cycle_counts.create_count(db.session, warehouse=args["warehouse"], bins=args["bins"],
                                      skus=args["skus"], user=g.actor.username)
    db.session.commit()  # the count exists on its own; its process starts as the next unit
    number, count_id = count.number, count.id
    try:
        instance, _ = runtime().start(PROCESS_ID, business_key=number, actor=g.actor, data={
            "count_id": count_id, "count_number": number, "warehouse": args["warehouse"],
            "bins": list(count.bins), "created_by": g.actor.username})
    except Exception:
        db.session.rollback()  # the process did not start: do not leave a count that blocks bins
        db.session.delete(db.session.get(CycleCount, count_id))
        db.session.commit()
        raise
    count = db.session.get(CycleCount, count_id)
    count.process_instance_id = instance.id
    db.session.commit()
    return cycle_counts.count_view(db.session, number, blind=_blind_for(g.actor))


@blp.route("/stock/cycle-counts/<string:number>", methods=["GET"])
@blp.response(200, CycleCountSchema)
def get_count(number):
    """Lines with expected, counted, difference, status and the adjustments posted."""
    return cycle_counts.count_view(db.session, number, blind=_blind_for(g.actor))
