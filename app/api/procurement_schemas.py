"""Marshmallow schemas of the procurement and production API."""
from marshmallow import Schema, fields, validate

from app.api.schemas import StrictSchema
from app.models.procurement import PO_STATUSES, WO_STATUSES


def Qty():  # noqa: N802 - reads like a field class
    return fields.Decimal(places=3, as_string=True)


def Money():  # noqa: N802
    return fields.Decimal(places=2, as_string=True)


class ReleaseManySchema(StrictSchema):
    planned_order_ids = fields.List(fields.Integer(validate=validate.Range(min=1)),
                                    required=True, validate=validate.Length(1, 500))


class DocumentSchema(Schema):
    type = fields.String()
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    planned_order_id = fields.Integer(allow_none=True)
    process_id = fields.String()
    process_instance_id = fields.Integer(allow_none=True)


class ReleaseSchema(Schema):
    planned_order_id = fields.Integer()
    created = fields.Boolean()
    document = fields.Nested(DocumentSchema)
    documents = fields.List(fields.Nested(DocumentSchema))


class ReleaseListSchema(Schema):
    items = fields.List(fields.Nested(ReleaseSchema))


class PageQuerySchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class PurchaseOrderQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(PO_STATUSES))
    supplier = fields.String(validate=validate.Length(1, 32))


class WorkOrderQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(WO_STATUSES))
    product = fields.String(validate=validate.Length(1, 64))


class PurchaseOrderLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String(attribute="product.sku")
    quantity = Qty()
    unit_price = fields.Decimal(as_string=True)
    amount = Money()
    received_qty = Qty()


class ReceiptLineSchema(Schema):
    sku = fields.String(attribute="product.sku")
    quantity = Qty()
    batch = fields.String(allow_none=True)
    serials = fields.List(fields.String(), allow_none=True)
    expiry = fields.Date(allow_none=True)
    bin = fields.String(attribute="bin.code")


class GoodsReceiptSchema(Schema):
    number = fields.String()
    reference = fields.String()
    source = fields.String()
    received_by = fields.String(allow_none=True)
    received_at = fields.DateTime()
    lines = fields.List(fields.Nested(ReceiptLineSchema))


class PurchaseOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    supplier = fields.String(attribute="supplier.code")
    status = fields.String()
    currency = fields.String()
    net_total = Money()
    tax_total = Money()
    total = Money()
    due_date = fields.Date()
    planned_order_id = fields.Integer(allow_none=True)
    requested_by = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    ordered_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    closed_reason = fields.String(allow_none=True)
    chased = fields.List(fields.Dict(), allow_none=True)
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))


class PurchaseOrderDetailSchema(PurchaseOrderSchema):
    receipts = fields.List(fields.Nested(GoodsReceiptSchema))


class MaterialSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String(attribute="product.sku")
    required_qty = Qty()
    issued_qty = Qty()


class OperationSchema(Schema):
    seq = fields.Integer()
    description = fields.String(allow_none=True)
    work_centre = fields.String(attribute="work_centre.code", allow_none=True)
    status = fields.String()
    round = fields.Integer()
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class InspectionSchema(Schema):
    round = fields.Integer()
    result = fields.String()
    outcome = fields.String()
    inspector = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    at = fields.DateTime()


class WorkOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    sku = fields.String(attribute="product.sku")
    quantity = Qty()
    status = fields.String()
    release_date = fields.Date()
    due_date = fields.Date()
    planned_order_id = fields.Integer(allow_none=True)
    rework_count = fields.Integer()
    completed_qty = Qty()
    scrapped_qty = Qty()
    closed_reason = fields.String(allow_none=True)
    materials = fields.List(fields.Nested(MaterialSchema))
    operations = fields.List(fields.Nested(OperationSchema))


class WorkOrderDetailSchema(WorkOrderSchema):
    inspections = fields.List(fields.Nested(InspectionSchema))


class PurchaseOrderListSchema(Schema):
    items = fields.List(fields.Nested(PurchaseOrderSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class WorkOrderListSchema(PurchaseOrderListSchema):
    items = fields.List(fields.Nested(WorkOrderSchema))
