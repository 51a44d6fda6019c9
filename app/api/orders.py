"""Sales orders over HTTP. Cancelling is a message: POST /api/messages/order_cancelled."""
from flask import g
from flask_smorest import Blueprint

from app.api import order_flow
from app.api.order_schemas import (
    OrderCreateSchema,
    OrderDetailSchema,
    OrderListSchema,
    OrderQuerySchema,
    OrderSummarySchema,
)

blp = Blueprint("orders", __name__, url_prefix="/api/orders", description="Sales orders")


@blp.route("", methods=["POST"])
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSummarySchema)
def create_order(args):
    order, created = order_flow.place_order(args, g.actor)
    return order_flow.with_status(order), 201 if created else 200


@blp.route("", methods=["GET"])
@blp.arguments(OrderQuerySchema, location="query")
@blp.response(200, OrderListSchema)
def list_orders(args):
    return order_flow.list_orders(**args)


@blp.route("/<string:number>", methods=["GET"])
@blp.response(200, OrderDetailSchema)
def get_order(number):
    return order_flow.describe(number)
