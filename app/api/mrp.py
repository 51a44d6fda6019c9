"""BOMs, MRP runs and planned orders over HTTP.

Reading: any authenticated user. Writing BOMs and running MRP: the `planner` group (or admins),
because a BOM change or a run rewrites what production and purchasing are told to do.
"""
from decimal import Decimal

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.auth import require_group
from app.api.schemas import StrictSchema
from app.domain import boms, mrp
from app.extensions import db
from app.models.manufacturing import PLANNED_KINDS, PLANNED_STATUSES

blp = Blueprint("mrp", __name__, url_prefix="/api",
                description="Bills of materials, MRP runs and planned orders")

PLANNERS = ("planner",)
MAX_QTY = Decimal("1000000000")


def _three_places(value: Decimal):
    if value.normalize().as_tuple().exponent < -3:
        raise ValidationError("at most 3 decimal places")


def _dates_in_order(self, data, **kwargs):
    start, end = data.get("effective_from"), data.get("effective_to")
    if start is not None and end is not None and end < start:
        raise ValidationError("must be on or after effective_from", "effective_to")


class BomLineInSchema(StrictSchema):
    component = fields.String(required=True, validate=validate.Length(1, 64))
    qty_per = fields.Decimal(required=True, as_string=True, validate=[
        validate.Range(min=0, min_inclusive=False, max=MAX_QTY), _three_places])
    scrap_percent = fields.Decimal(load_default=Decimal("0"), as_string=True, validate=[
        validate.Range(min=0, max=100, max_inclusive=False), _three_places])
    effective_from = fields.Date(load_default=None)
    effective_to = fields.Date(load_default=None)
    check_dates = validates_schema(skip_on_field_errors=False)(_dates_in_order)


class BomUpdateSchema(StrictSchema):
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)
    active = fields.Boolean()
    note = fields.String(allow_none=True, validate=validate.Length(max=500))
    lines = fields.List(fields.Nested(BomLineInSchema), validate=validate.Length(1, 1000))
    check_dates = validates_schema(skip_on_field_errors=False)(_dates_in_order)


class BomCreateSchema(BomUpdateSchema):
    product = fields.String(required=True, validate=validate.Length(1, 64))
    version = fields.Integer(load_default=None, validate=validate.Range(1, 1_000_000))
    active = fields.Boolean(load_default=True)
    lines = fields.List(fields.Nested(BomLineInSchema), required=True,
                        validate=validate.Length(1, 1000))


def _low_level_code(obj):
    return obj.planning.low_level_code if obj.planning is not None else 0


class BomLineSchema(Schema):
    line_no = fields.Integer()
    component = fields.String(attribute="component.sku")
    qty_per = fields.Decimal(places=3, as_string=True)
    scrap_percent = fields.Decimal(as_string=True)
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)
    low_level_code = fields.Function(_low_level_code)


class BomSchema(Schema):
    id = fields.Integer()
    product = fields.String(attribute="product.sku")
    version = fields.Integer()
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)
    active = fields.Boolean()
    note = fields.String(allow_none=True)
    low_level_code = fields.Function(_low_level_code)
    lines = fields.List(fields.Nested(BomLineSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PlanningPageQuerySchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class BomQuerySchema(PlanningPageQuerySchema):
    product = fields.String(validate=validate.Length(1, 64))
    active = fields.Boolean()


class BomListSchema(Schema):
    items = fields.List(fields.Nested(BomSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class MrpRunInSchema(StrictSchema):
    horizon_days = fields.Integer(load_default=mrp.DEFAULT_HORIZON,
                                  validate=validate.Range(1, mrp.MAX_HORIZON))
    bucket = fields.String(load_default="day", validate=validate.OneOf(mrp.BUCKETS))


class MrpRunSchema(Schema):
    id = fields.Integer()
    plan_date = fields.Date()
    horizon_days = fields.Integer()
    bucket = fields.String()
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    exceptions = fields.List(fields.Dict())


class PeggingSchema(Schema):
    demand_type = fields.String()
    demand_id = fields.Integer()
    quantity = fields.Decimal(places=3, as_string=True)


class PlannedOrderSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    sku = fields.String(attribute="product.sku")
    quantity = fields.Decimal(places=3, as_string=True)
    release_date = fields.Date()
    due_date = fields.Date()
    status = fields.String()
    run_id = fields.Integer(allow_none=True)
    supplier_id = fields.Integer(allow_none=True)
    pegging = fields.List(fields.Nested(PeggingSchema))


class PlannedOrderQuerySchema(PlanningPageQuerySchema):
    kind = fields.String(validate=validate.OneOf(PLANNED_KINDS))
    status = fields.String(validate=validate.OneOf(PLANNED_STATUSES))
    product = fields.String(validate=validate.Length(1, 64))


class PlannedOrderListSchema(BomListSchema):
    items = fields.List(fields.Nested(PlannedOrderSchema))


# ---------------------------------------------------------------- BOMs

@blp.route("/boms", methods=["GET"])
@blp.arguments(BomQuerySchema, location="query")
@blp.response(200, BomListSchema)
def list_boms(args):
    """BOMs by product SKU, newest version first; filter by product and active."""
    return boms.list_boms(db.session, **args)


@blp.route("/boms/<int:bom_id>", methods=["GET"])
@blp.response(200, BomSchema)
def get_bom(bom_id):
    return boms.get_bom(db.session, bom_id)


@blp.route("/boms", methods=["POST"])
@require_group(*PLANNERS)  # before parsing: outsiders get 403, not 422
@blp.arguments(BomCreateSchema)
@blp.response(201, BomSchema)
def create_bom(args):
    """A new BOM version; a cycle is refused (422) with its path, e.g. "A → B → A"."""
    bom = boms.create_bom(db.session, **args)
    db.session.commit()
    return bom


@blp.route("/boms/<int:bom_id>", methods=["PATCH"])
@require_group(*PLANNERS)
@blp.arguments(BomUpdateSchema)
@blp.response(200, BomSchema)
def update_bom(args, bom_id):
    """Change dates, active or note, or replace all lines."""
    bom = boms.update_bom(db.session, bom_id, args)
    db.session.commit()
    return bom


# ---------------------------------------------------------------- MRP

@blp.route("/mrp/runs", methods=["POST"])
@require_group(*PLANNERS)
@blp.arguments(MrpRunInSchema)
@blp.response(201, MrpRunSchema)
def run_mrp(args):
    """Run MRP: planned orders of the previous run are updated in place, never duplicated."""
    run = mrp.run_mrp(db.session, started_by=g.actor.username, **args)
    db.session.commit()
    return run


@blp.route("/mrp/runs/<int:run_id>", methods=["GET"])
@blp.response(200, MrpRunSchema)
def get_run(run_id):
    return mrp.get_run(db.session, run_id)


@blp.route("/planned-orders", methods=["GET"])
@blp.arguments(PlannedOrderQuerySchema, location="query")
@blp.response(200, PlannedOrderListSchema)
def list_planned_orders(args):
    """Planned orders by due date with their pegging; filter by kind, status and product."""
    return mrp.list_planned_orders(db.session, **args)
