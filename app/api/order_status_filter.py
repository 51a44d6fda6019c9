"""The derived order status (app.domain.orders.derived_status) as a SQL condition, so
GET /api/orders can filter and page by it: facts on the order, where its process waits
(instance_wait) and whether the process stopped on an incident."""
from sqlalchemy import and_, exists, or_

from app.domain.orders import WAIT_STATUS
from app.models.engine import ERROR, InstanceWait, ProcessInstance
from app.models.sales import SalesOrder, SalesOrderLine

# The statuses read from where the process waits; "backordered" is a wait at goods or picking
# after part of the order was delivered.
PART_DELIVERED_NODES = ("wait_goods", "pick_pack")
FILTERABLE = ("cancelled", "rejected", "completed", "on_hold_incident", "backordered",
              *sorted(set(WAIT_STATUS.values())))


def _delivered_some():
    return exists().where(SalesOrderLine.order_id == SalesOrder.id,
                          SalesOrderLine.delivered_qty > 0)


def _process_failed():
    return exists().where(ProcessInstance.id == SalesOrder.process_instance_id,
                          ProcessInstance.status == ERROR)


def _waits_at(nodes):
    return exists().where(InstanceWait.business_key == SalesOrder.number,
                          InstanceWait.process_id == "order_lifecycle",
                          InstanceWait.node_id.in_(nodes))


def _still_open():
    return and_(SalesOrder.cancelled_at.is_(None), SalesOrder.rejected_at.is_(None),
                SalesOrder.closed_at.is_(None), ~_process_failed())


def status_condition(status: str):
    """The orders whose derived status is ``status``."""
    if status == "cancelled":
        return SalesOrder.cancelled_at.is_not(None)
    if status == "rejected":
        return and_(SalesOrder.cancelled_at.is_(None), SalesOrder.rejected_at.is_not(None))
    if status == "completed":
        return and_(SalesOrder.cancelled_at.is_(None), SalesOrder.rejected_at.is_(None),
                    SalesOrder.closed_at.is_not(None))
    if status == "on_hold_incident":
        return and_(SalesOrder.cancelled_at.is_(None), SalesOrder.rejected_at.is_(None),
                    SalesOrder.closed_at.is_(None), _process_failed())
    if status == "backordered":
        return and_(_still_open(), _waits_at(PART_DELIVERED_NODES), _delivered_some())
    nodes = sorted(node for node, s in WAIT_STATUS.items() if s == status)
    part = [n for n in nodes if n in PART_DELIVERED_NODES]
    rest = [n for n in nodes if n not in PART_DELIVERED_NODES]
    options = [_waits_at(rest)] if rest else []
    if part:  # the same wait after a partial delivery is "backordered"
        options.append(and_(_waits_at(part), ~_delivered_some()))
    return and_(_still_open(), or_(*options))


def statuses_condition(statuses: list[str]):
    return or_(*(status_condition(s) for s in statuses))



