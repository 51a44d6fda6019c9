"""Schemas of the returns and credit-notes API."""
from marshmallow import Schema, fields, validate

from app.api.order_schemas import ProcessStateSchema
from app.api.schemas import StrictSchema

Money = fields.Decimal(as_string=True)
Qty = fields.Decimal(places=3, as_string=True)


def QtyIn(**kwargs):  # noqa: N802 - reads like a field class
    return fields.Decimal(as_string=True, validate=validate.Range(min=0, min_inclusive=False),
                          **kwargs)


class ReturnLineInSchema(StrictSchema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1),
                             metadata={"description": "the order line's number"})
    quantity = QtyIn(required=True)
    serials = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=None,
                          validate=validate.Length(1, 10000))


class ReturnCreateSchema(StrictSchema):
    order = fields.String(required=True, validate=validate.Length(1, 32))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    lines = fields.List(fields.Nested(ReturnLineInSchema), required=True,
                        validate=validate.Length(min=1, max=500))
    external_ref = fields.String(load_default=None, validate=validate.Length(1, 100))
    contact_email = fields.String(load_default=None, validate=validate.Length(3, 200))


class ReturnQuerySchema(StrictSchema):
    order = fields.String(validate=validate.Length(1, 32))
    customer = fields.String(validate=validate.Length(1, 32))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ReturnLineSchema(Schema):
    line_no = fields.Integer()
    order_line_no = fields.Integer()
    sku = fields.String()
    quantity = Qty
    serials = fields.List(fields.String())
    received_qty = Qty
    received_serials = fields.List(fields.String())
    batch = fields.String(allow_none=True)


class ReceiptRowSchema(Schema):
    sku = fields.String()
    warehouse = fields.String()
    bin = fields.String()
    quantity = Qty
    kind = fields.String()
    batch = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    doc_id = fields.String()
    note = fields.String(allow_none=True)
    at = fields.DateTime()
    by = fields.String(allow_none=True)


class CreditNoteRefSchema(Schema):
    number = fields.String()
    invoice = fields.String()
    total = Money


class SurveySchema(Schema):
    status = fields.String()
    email = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    expires_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    score = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)


class RepairOrderSchema(Schema):
    number = fields.String()
    status = fields.String()
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    shipped_back_at = fields.DateTime(allow_none=True)


class ReturnSummarySchema(Schema):
    number = fields.String()
    status = fields.String()
    order = fields.String()
    customer = fields.String()
    origin = fields.String()
    external_ref = fields.String(allow_none=True)
    reason = fields.String()
    requested_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)


class ReturnDetailSchema(ReturnSummarySchema):
    contact_email = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    rejected_by = fields.String(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    decision_comment = fields.String(allow_none=True)
    received_by = fields.String(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    receipt_note = fields.String(allow_none=True)
    inspected_by = fields.String(allow_none=True)
    inspected_at = fields.DateTime(allow_none=True)
    inspection_note = fields.String(allow_none=True)
    credited_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(ReturnLineSchema))
    receipts = fields.List(fields.Nested(ReceiptRowSchema))
    repair_order = fields.Nested(RepairOrderSchema, allow_none=True)
    replacement_order = fields.String(allow_none=True)
    credit_notes = fields.List(fields.Nested(CreditNoteRefSchema))
    survey = fields.Nested(SurveySchema, allow_none=True)
    process = fields.Nested(ProcessStateSchema, allow_none=True)


class ReturnListSchema(Schema):
    items = fields.List(fields.Nested(ReturnSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CreditLineInSchema(StrictSchema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1),
                             metadata={"description": "the order line's number"})
    quantity = QtyIn(required=True)


class CreditNoteCreateSchema(StrictSchema):
    invoice = fields.String(required=True, validate=validate.Length(1, 32))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    lines = fields.List(fields.Nested(CreditLineInSchema), required=True,
                        validate=validate.Length(min=1, max=500))


class CreditNoteLineSchema(Schema):
    line_no = fields.Integer()
    sku = fields.String()
    quantity = Qty
    unit_price = fields.Decimal(as_string=True)
    net_amount = Money
    tax_rate = fields.Decimal(as_string=True)
    tax_amount = Money


class CreditNoteSchema(Schema):
    number = fields.String()
    invoice = fields.String()
    order = fields.String()
    customer = fields.String()
    currency = fields.String()
    issue_date = fields.Date()
    status = fields.String()
    net_total = Money
    tax_total = Money
    total = Money
    reason = fields.String(allow_none=True)
    return_number = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(CreditNoteLineSchema))
