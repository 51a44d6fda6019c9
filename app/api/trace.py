"""Batch and serial traceability over HTTP: GET /api/stock/trace?serial=… or ?batch=… (&sku=…)."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.schemas import StrictSchema
from app.domain import stock_trace
from app.extensions import db

blp = Blueprint("trace", __name__, url_prefix="/api",
                description="Where a serial number or a batch came from and where it went")


class TraceQuerySchema(StrictSchema):
    serial = fields.String(load_default=None, validate=validate.Length(1, 64))
    batch = fields.String(load_default=None, validate=validate.Length(1, 64))
    sku = fields.String(load_default=None, validate=validate.Length(1, 64))


class PlaceSchema(Schema):
    warehouse = fields.String(allow_none=True)
    bin = fields.String(allow_none=True)


class TraceEventSchema(Schema):
    at = fields.String()
    event = fields.String(metadata={"description": (
        "received | reserved | picked | shipped | delivered | moved | adjusted | returned | "
        "scrapped | issued")})
    quantity = fields.String()
    warehouse = fields.String(allow_none=True)
    bin = fields.String(allow_none=True)
    batch = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    expiry = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    ledger_ids = fields.List(fields.Integer())
    document = fields.Dict(metadata={"description": "the document behind the event"})
    supplier = fields.Dict(allow_none=True)
    supplier_source = fields.String(allow_none=True)
    reservation_id = fields.Integer()
    # moved
    from_ = fields.Nested(PlaceSchema, data_key="from", attribute="from", allow_none=True)
    to = fields.Nested(PlaceSchema, allow_none=True)


class ProductRefSchema(Schema):
    sku = fields.String()
    name = fields.String()
    tracking = fields.String()
    unit = fields.String()


class TraceSchema(Schema):
    serial = fields.String(allow_none=True)
    batch = fields.String(allow_none=True)
    product = fields.Nested(ProductRefSchema)
    events = fields.List(fields.Nested(TraceEventSchema))
    summary = fields.Dict(metadata={"description": (
        "serial: status (in_stock | shipped | delivered | scrapped | issued | written_off) "
        "with its bin or customer; batch: received, on hand per bin, shipped per customer "
        "(the recall list)")})


@blp.route("/stock/trace", methods=["GET"])
@blp.arguments(TraceQuerySchema, location="query")
@blp.response(200, TraceSchema)
def get_trace(args):
    """Chronological events of a serial number or batch, and where it is now."""
    return stock_trace.trace(db.session, serial=args["serial"], batch=args["batch"],
                             sku=args["sku"])
