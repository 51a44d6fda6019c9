"""Placing an order: the order row (its own commit), then its process, then the link.

The order is committed before its process starts, so an engine failure can never take the order
with it; a replay of the same (customer, external_ref) finds the order and starts its process
if that had not happened.
"""
from datetime import datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.api.order_status_filter import statuses_condition
from app.api.services import runtime
from app.domain import orders
from app.extensions import db
from app.models.engine import HumanTask, Incident, InstanceEvent, ProcessInstance
from app.models.sales import Customer, SalesOrder

PROCESS_ID = "order_lifecycle"


def place_order(args: dict, actor) -> tuple[SalesOrder, bool]:
    try:
        order, created = orders.create_order(
            db.session, customer_code=args["customer"], lines=args["lines"],
            external_ref=args["external_ref"], requested_date=args["requested_date"],
            ship_to=args["ship_to"], currency=args["currency"], created_by=actor.username,
            shipping_policy=args["shipping_policy"])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same external_ref raced us: theirs is the order
        order = orders.find_by_external_ref(db.session, args["customer"], args["external_ref"])
        if order is None:
            raise
        created = False
    if order.process_instance_id is None:
        start_process(order, actor)
    return order, created


def start_process(order: SalesOrder, actor) -> ProcessInstance:
    instance, _ = runtime().start(PROCESS_ID, business_key=order.number, actor=actor, data={
        "order_id": order.id, "order_number": order.number, "amount": float(order.total),
        "vip": order.customer.type == "vip", "created_by": order.created_by or actor.username,
        "customer_code": order.customer.code, "shipping_policy": order.shipping_policy})
    order = db.session.get(SalesOrder, order.id)
    order.process_instance_id = instance.id
    db.session.commit()
    return instance


def _process_state(order: SalesOrder) -> dict | None:
    if order.process_instance_id is None:
        return None
    return process_state(db.session.get(ProcessInstance, order.process_instance_id))


def process_state(instance: ProcessInstance) -> dict:
    """Where a business document's process is: status, waits, open tasks, history, incident."""
    open_tasks = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "open"))
    history = db.session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance.id).order_by(InstanceEvent.id))
    incident = db.session.scalar(select(Incident).where(
        Incident.instance_id == instance.id, Incident.status == "open"))
    return {"instance_id": instance.id, "status": instance.status,
            "waiting_at": instance.waiting_at, "open_tasks": list(open_tasks),
            "history": list(history),
            "incident": {"node_id": incident.node_id, "message": incident.message}
            if incident else None}


def with_status(order: SalesOrder) -> SalesOrder:
    instance = db.session.get(ProcessInstance, order.process_instance_id) \
        if order.process_instance_id else None
    waits = [w["node_id"] for w in instance.waiting_at] if instance else []
    order.status = orders.derived_status(order, waits, instance.status if instance else None)
    return order


def describe(number: str) -> SalesOrder:
    order = with_status(orders.get_order(db.session, number))
    order.process = _process_state(order)
    from app.domain import inventory, payments, return_views, shipping

    order.reservations = inventory.order_reservations(db.session, order.id)
    order.shipments = shipping.order_shipments(db.session, order.id)
    order.invoices = payments.order_invoices(db.session, order.id)
    order.payments = payments.order_payments(db.session, order.id)
    order.returns = return_views.order_returns(db.session, order.id)
    return order


def list_orders(customer=None, external_ref=None, q=None, created_from=None, created_to=None,
                page=1, per_page=50, status=None) -> dict:
    query = select(SalesOrder).join(Customer)
    if status:
        query = query.where(statuses_condition(status))
    if customer:
        query = query.where(Customer.code == customer)
    if external_ref:
        query = query.where(SalesOrder.external_ref == external_ref)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(SalesOrder.number).like(like)
                            | func.lower(Customer.name).like(like))
    if created_from:
        query = query.where(SalesOrder.created_at >= datetime.combine(
            created_from, time.min, timezone.utc))
    if created_to:
        query = query.where(SalesOrder.created_at <= datetime.combine(
            created_to, time.max, timezone.utc))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(SalesOrder.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return {"items": [with_status(o) for o in items], "total": total, "page": page,
            "per_page": per_page}


