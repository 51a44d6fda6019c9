"""Finance over HTTP: invoices, incoming payments, and the caller's notifications."""
from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import process_events
from app.api.auth import require_group
from app.api.schemas import StrictSchema
from app.domain import invoicing, notifications, payments
from app.extensions import db

blp = Blueprint("finance", __name__, url_prefix="/api",
                description="Invoices, payments and notifications")

Money = fields.Decimal(as_string=True)


class InvoiceQuerySchema(StrictSchema):
    customer = fields.String(validate=validate.Length(1, 32))
    status = fields.String(validate=validate.OneOf(["posted", "paid", "cancelled"]))


class InvoiceLineSchema(Schema):
    order_line_id = fields.Integer()
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    net_amount = Money
    tax_rate = fields.Decimal(as_string=True)
    tax_amount = Money


class InvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    order_id = fields.Integer()
    shipment_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer()
    currency = fields.String()
    issue_date = fields.Date()
    due_date = fields.Date()
    net_total = Money
    tax_total = Money
    total = Money
    paid_amount = Money
    status = fields.String()
    dunning_level = fields.Integer()


class InvoiceDetailSchema(InvoiceSchema):
    lines = fields.List(fields.Nested(InvoiceLineSchema))


class PaymentInSchema(StrictSchema):
    external_id = fields.String(required=True, validate=validate.Length(1, 100))
    amount = fields.Decimal(required=True, places=2, validate=validate.Range(min=0.01),
                            allow_nan=False)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{3}$"))
    reference = fields.String(load_default=None, validate=validate.Length(1, 100))
    customer = fields.String(load_default=None, validate=validate.Length(1, 32))


class AllocationSchema(Schema):
    invoice_number = fields.String()
    amount = Money


class PaymentResultSchema(Schema):
    payment_id = fields.Integer()
    allocations = fields.List(fields.Nested(AllocationSchema))
    unallocated = Money
    order_ids_fully_paid = fields.List(fields.Integer())


class NotificationSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    username = fields.String(allow_none=True)
    group = fields.String(attribute="group_name", allow_none=True)
    subject = fields.String()
    body = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


@blp.route("/invoices", methods=["GET"])
@require_group("finance")  # before parsing: outsiders get 403, not 422
@blp.arguments(InvoiceQuerySchema, location="query")
@blp.response(200, InvoiceSchema(many=True))
def list_invoices(args):
    return invoicing.list_invoices(db.session, customer_code=args.get("customer"),
                                   status=args.get("status"))


@blp.route("/invoices/<string:number>", methods=["GET"])
@require_group("finance")
@blp.response(200, InvoiceDetailSchema)
def get_invoice(number):
    return invoicing.invoice_by_number(db.session, number)


@blp.route("/payments", methods=["POST"])
@require_group("finance")  # before parsing: outsiders get 403, not 422
@blp.arguments(PaymentInSchema)
@blp.response(201, PaymentResultSchema)
@blp.alt_response(200, schema=PaymentResultSchema, description="a replay of external_id")
def post_payment(args):
    result = payments.record_payment(
        db.session, external_id=args["external_id"], amount=args["amount"],
        currency=args["currency"], reference=args["reference"], customer_code=args["customer"])
    db.session.commit()
    process_events.tell_orders("payment_received", result["order_ids_fully_paid"],
                               f"payment-{args['external_id']}",
                               {"external_id": args["external_id"],
                                "amount": str(args["amount"])}, actor=g.actor)
    return result, 201 if result["created"] else 200


@blp.route("/notifications", methods=["GET"])
@blp.response(200, NotificationSchema(many=True))
def list_notifications():
    return notifications.notifications_for(db.session, g.actor.username, g.actor.groups)


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def read_notification(notification_id):
    notice = notifications.mark_read(db.session, notification_id, g.actor.username,
                                     g.actor.groups)
    db.session.commit()
    return notice
