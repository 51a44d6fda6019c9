"""Read queries for the order beside a task form and for the order page.

The reservation, shipment, invoice and payment pieces come from domain modules that grow
independently; a piece that is missing (or fails) shows as "—" instead of breaking the page.
"""
import importlib
import logging

from sqlalchemy import select

from app.domain import orders
from app.engine import queries
from app.models.engine import (
    DeploymentFile,
    HumanTask,
    Incident,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
)
from app.models.sales import SalesOrder

log = logging.getLogger(__name__)

# piece -> where it may live, first found wins
PIECES = {
    "reservations": (("app.domain.reservations", "order_reservations"),
                     ("app.domain.inventory", "order_reservations")),
    "shipments": (("app.domain.shipping", "order_shipments"),),
    "invoices": (("app.domain.payments", "order_invoices"),
                 ("app.domain.invoicing", "order_invoices")),
    "payments": (("app.domain.payments", "order_payments"),),
    "balance": (("app.domain.payments", "order_balance"),),
    "returns": (("app.domain.return_views", "order_returns"),),
}
HISTORY_KINDS = ("task_completed", "task_claimed", "task_unclaimed", "task_delegated")
# Engine steps worth a line in the timeline; gateways and flows are noise to a reader.
QUIET_STEP_TYPES = ("Gateway", "SequenceFlow", "_BoundaryEventParent", "BoundaryEventSplit",
                    "BoundaryEventJoin", "Simple", "StartTask", "Root", "End")


def order_by_number(session, number: str | None) -> SalesOrder | None:
    if not number:
        return None
    return session.scalar(select(SalesOrder).where(SalesOrder.number == number))


def instance_of(session, order: SalesOrder) -> ProcessInstance | None:
    return queries.document_instance(session, order.process_instance_id, order.number)


def status_of(order: SalesOrder, instance: ProcessInstance | None) -> str:
    waits = [w.get("node_id") for w in (instance.waiting_at or [])] if instance else []
    return orders.derived_status(order, waits, instance.status if instance else None)


def _piece(session, name: str, order_id: int):
    for module_name, function_name in PIECES[name]:
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError):
            continue
        try:
            return function(session, order_id)
        except Exception:  # one unfinished piece must not take the whole page down
            log.exception("order page: %s of order %s failed", name, order_id)
            session.rollback()
            return None
    return None


def order_pieces(session, order: SalesOrder) -> dict:
    order_id = order.id
    return {name: _piece(session, name, order_id) for name in PIECES}


def history(session, instance_id: int, kinds=None) -> list[InstanceEvent]:
    query = select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
    if kinds:
        query = query.where(InstanceEvent.kind.in_(kinds))
    return list(session.scalars(query.order_by(InstanceEvent.id)))


def approval_history(session, instance_id: int) -> list[InstanceEvent]:
    """Who did what on the instance's tasks so far: completions, claims, hand-overs."""
    return history(session, instance_id, HISTORY_KINDS)


def timeline(events: list[InstanceEvent]) -> list[InstanceEvent]:
    return [e for e in events if e.kind != "step"
            or not any(q in (e.node_type or "") for q in QUIET_STEP_TYPES)]


def passed_nodes(events: list[InstanceEvent]) -> list[str]:
    return sorted({e.node_id for e in events if e.kind == "step" and e.node_id})


def open_tasks(session, instance_id: int) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.state == "open")
        .order_by(HumanTask.created_at)))


def open_incident(session, instance_id: int) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.instance_id == instance_id,
                                                 Incident.status == "open").limit(1))


def diagram_xml(session, instance: ProcessInstance) -> str | None:
    """The BPMN file of the instance's process in the deployment version it runs on."""
    return session.scalar(
        select(DeploymentFile.content)
        .join(ProcessDefinition, (ProcessDefinition.deployment_id == DeploymentFile.deployment_id)
              & (ProcessDefinition.file_name == DeploymentFile.name))
        .where(ProcessDefinition.deployment_id == instance.deployment_id,
               ProcessDefinition.process_id == instance.process_id))
