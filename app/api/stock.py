"""Stock over HTTP: availability per product, receipts, adjustments and the ledger."""
from decimal import Decimal

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api import process_events
from app.api.auth import require_group
from app.api.procurement import receive_against_po
from app.api.schemas import StrictSchema
from app.domain import inventory
from app.extensions import db

blp = Blueprint("stock", __name__, url_prefix="/api/stock",
                description="Stock levels, receipts, adjustments and the stock ledger")

MAX_QTY = Decimal("1000000000")


def _three_places(value: Decimal):
    # Quantities are stored with 3 decimals: refuse more rather than round silently.
    if value.normalize().as_tuple().exponent < -3:
        raise ValidationError("at most 3 decimal places")


def _not_zero(value: Decimal):
    if value == 0:
        raise ValidationError("must not be 0")


def QtyIn(**kwargs):  # noqa: N802 - reads like a field class
    # No `places` here: it would round the input before _three_places sees it.
    return fields.Decimal(as_string=True, **kwargs)


def Qty():  # noqa: N802
    """Quantities out, always with the 3 places they are stored with."""
    return fields.Decimal(places=3, as_string=True)


class ReceiptSchema(StrictSchema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    warehouse = fields.String(required=True, validate=validate.Length(1, 32))
    bin = fields.String(required=True, validate=validate.Length(1, 32))
    quantity = QtyIn(required=True, validate=[
        validate.Range(min=0, min_inclusive=False, max=MAX_QTY), _three_places])
    batch = fields.String(load_default=None, validate=validate.Length(1, 64))
    serials = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=None,
                          validate=validate.Length(1, 10000))
    expiry = fields.Date(load_default=None)
    reference = fields.String(load_default=None, validate=validate.Length(1, 64))
    # A receipt against a purchase order (its number): the PO's process is told; needs a reference.
    purchase_order = fields.String(load_default=None, validate=validate.Length(1, 32))

    @validates_schema
    def _po_needs_reference(self, data, **kwargs):
        if data.get("purchase_order") and not data.get("reference"):
            raise ValidationError("a receipt against a purchase order needs a reference",
                                  "reference")


class AdjustmentSchema(StrictSchema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    warehouse = fields.String(required=True, validate=validate.Length(1, 32))
    bin = fields.String(required=True, validate=validate.Length(1, 32))
    quantity_delta = QtyIn(required=True, validate=[
        validate.Range(min=-MAX_QTY, max=MAX_QTY), _not_zero, _three_places])
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    serials = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=None,
                          validate=validate.Length(1, 10000))
    batch = fields.String(load_default=None, validate=validate.Length(1, 64))
    reference = fields.String(load_default=None, validate=validate.Length(1, 64))


class StockQuerySchema(StrictSchema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))


class LedgerQuerySchema(StrictSchema):
    sku = fields.String(load_default=None, validate=validate.Length(1, 64))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class LevelSchema(Schema):
    warehouse = fields.String()
    bin = fields.String()
    on_hand = Qty()
    reserved = Qty()
    available = Qty()


class MovementSchema(Schema):
    sku = fields.String()
    ledger_ids = fields.List(fields.Integer())
    replayed = fields.Boolean()
    levels = fields.List(fields.Nested(LevelSchema))
    fulfilled_orders = fields.List(fields.Integer())
    goods_receipt = fields.String()
    purchase_order = fields.String()


class BinAvailabilitySchema(Schema):
    bin = fields.String()
    on_hand = Qty()
    reserved = Qty()
    available = Qty()


class WarehouseAvailabilitySchema(Schema):
    warehouse = fields.String()
    name = fields.String()
    on_hand = Qty()
    reserved = Qty()
    available = Qty()
    bins = fields.List(fields.Nested(BinAvailabilitySchema))


class TotalsSchema(Schema):
    on_hand = Qty()
    reserved = Qty()
    available = Qty()
    on_order = Qty()
    projected = Qty()


class AvailabilitySchema(Schema):
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    warehouses = fields.List(fields.Nested(WarehouseAvailabilitySchema))
    totals = fields.Nested(TotalsSchema)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    warehouse = fields.String()
    bin = fields.String()
    quantity = Qty()
    kind = fields.String()
    batch = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    expiry = fields.Date(allow_none=True)
    doc_type = fields.String(allow_none=True)
    doc_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    at = fields.DateTime()


@blp.route("", methods=["GET"])
@blp.arguments(StockQuerySchema, location="query")
@blp.response(200, AvailabilitySchema)
def get_availability(args):
    return inventory.availability(db.session, args["sku"])


@blp.route("/receipts", methods=["POST"])
@require_group("warehouse")
@blp.arguments(ReceiptSchema)
@blp.response(201, MovementSchema)
def post_receipt(args):
    if args["purchase_order"]:
        result = receive_against_po(args, g.actor)
        return result, 200 if result["replayed"] else 201
    result = inventory.receive_for_requests(
        db.session, sku=args["sku"], warehouse=args["warehouse"], bin=args["bin"],
        quantity=args["quantity"], batch=args["batch"], serials=args["serials"],
        expiry=args["expiry"], doc_id=args["reference"], user=g.actor.username)
    db.session.commit()
    process_events.tell_orders("goods_received", result["fulfilled_orders"],
                               f"receipt-{result['ledger_ids'][0]}", {"sku": result["sku"]},
                               actor=g.actor)
    return result, 200 if result["replayed"] else 201


@blp.route("/adjustments", methods=["POST"])
@require_group("warehouse")
@blp.arguments(AdjustmentSchema)
@blp.response(201, MovementSchema)
def post_adjustment(args):
    result = inventory.adjust_stock(
        db.session, sku=args["sku"], warehouse=args["warehouse"], bin=args["bin"],
        quantity_delta=args["quantity_delta"], reason=args["reason"], serials=args["serials"],
        batch=args["batch"], doc_id=args["reference"], user=g.actor.username)
    db.session.commit()
    return result, 200 if result["replayed"] else 201


@blp.route("/ledger", methods=["GET"])
@blp.arguments(LedgerQuerySchema, location="query")
@blp.response(200, LedgerEntrySchema(many=True))
def get_ledger(args):
    return inventory.ledger_entries(db.session, sku=args["sku"], limit=args["limit"])
