"""Schemas of the orders API."""
from marshmallow import Schema, fields, validate

from app.api.order_status_filter import FILTERABLE
from app.api.schemas import EventSchema, StrictSchema, TaskSchema, WaitSchema


class AddressSchema(Schema):
    line1 = fields.String(required=True, validate=validate.Length(1, 200))
    line2 = fields.String(validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(1, 100))
    postcode = fields.String(validate=validate.Length(max=20))
    country = fields.String(required=True, validate=validate.Length(2, 2))
    contact = fields.String(validate=validate.Length(max=200))
    phone = fields.String(validate=validate.Length(max=50))


class OrderLineInSchema(StrictSchema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    quantity = fields.Decimal(required=True, as_string=True,
                              validate=validate.Range(min=0, min_inclusive=False))
    unit_price = fields.Decimal(as_string=True, load_default=None,
                                validate=validate.Range(min=0))


class OrderCreateSchema(StrictSchema):
    customer = fields.String(required=True, validate=validate.Length(1, 32))
    external_ref = fields.String(load_default=None, validate=validate.Length(1, 100))
    lines = fields.List(fields.Nested(OrderLineInSchema), required=True,
                        validate=validate.Length(min=1, max=500))
    requested_date = fields.Date(load_default=None)
    ship_to = fields.Nested(AddressSchema, load_default=None)
    currency = fields.String(load_default=None, validate=validate.Length(3, 3))
    shipping_policy = fields.String(load_default=None,
                                    validate=validate.OneOf(("complete", "partial")))


class OrderSummarySchema(Schema):
    number = fields.String()
    status = fields.String()
    customer = fields.String(attribute="customer.code")
    customer_name = fields.String(attribute="customer.name")
    external_ref = fields.String(allow_none=True)
    net_total = fields.Decimal(as_string=True)
    tax_total = fields.Decimal(as_string=True)
    total = fields.Decimal(as_string=True)
    currency = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    process_instance_id = fields.Integer(allow_none=True)


class OrderLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String(attribute="product.sku")
    name = fields.String(attribute="product.name")
    quantity = fields.Decimal(as_string=True)
    unit = fields.String(attribute="product.unit")
    list_price = fields.Decimal(as_string=True)
    discount_percent = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)
    tax_rate = fields.Decimal(as_string=True)
    tax_amount = fields.Decimal(as_string=True)
    pricing_source = fields.String()
    delivered_qty = fields.Decimal(as_string=True)
    invoiced_qty = fields.Decimal(as_string=True)


class ProcessStateSchema(Schema):
    instance_id = fields.Integer()
    status = fields.String()
    waiting_at = fields.List(fields.Nested(WaitSchema))
    open_tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(EventSchema))
    incident = fields.Dict(allow_none=True)


class OrderDetailSchema(OrderSummarySchema):
    requested_date = fields.Date(allow_none=True)
    ship_to = fields.Dict(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    shipping_policy = fields.String()
    backorder_cancelled_at = fields.DateTime(allow_none=True)
    credit_checked = fields.Dict(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))
    reservations = fields.List(fields.Dict())
    shipments = fields.List(fields.Dict())
    invoices = fields.List(fields.Dict())
    payments = fields.List(fields.Dict())
    returns = fields.List(fields.Dict(), metadata={"description": "the order's returns (RMAs)"})
    process = fields.Nested(ProcessStateSchema, allow_none=True)


class OrderQuerySchema(StrictSchema):
    status = fields.List(fields.String(validate=validate.OneOf(FILTERABLE)), metadata={
        "description": "derived status; repeat for several (status=credit_hold&status=picking)"})
    customer = fields.String()
    external_ref = fields.String()
    q = fields.String(validate=validate.Length(max=100))
    created_from = fields.Date()
    created_to = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class OrderListSchema(Schema):
    items = fields.List(fields.Nested(OrderSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
