"""The order page: status, lines, documents, history, and the diagram with where it waits."""
from flask import Response, render_template

from app.extensions import db
from app.web import order_context
from app.web.auth import login_required
from app.web.blueprint import bp
from app.web.errors import render_error


def _order_or_none(number):
    return order_context.order_by_number(db.session, number[:32])


@bp.route("/orders/<number>")
@login_required
def order(number):
    order = _order_or_none(number)
    if order is None:
        return render_error(404, f"There is no order {number}.")
    pieces = order_context.order_pieces(db.session, order)  # may roll back: load it first
    instance = order_context.instance_of(db.session, order)
    events = order_context.history(db.session, instance.id) if instance else []
    return render_template(
        "order.html", order=order, on_order_page=True, pieces=pieces, instance=instance,
        status=order_context.status_of(order, instance),
        timeline=order_context.timeline(events),
        open_tasks=order_context.open_tasks(db.session, instance.id) if instance else [],
        incident=order_context.open_incident(db.session, instance.id) if instance else None,
        waiting=[w.get("node_id") for w in (instance.waiting_at or [])] if instance else [],
        passed=order_context.passed_nodes(events))


@bp.route("/orders/<number>/diagram.bpmn")
@login_required
def order_diagram(number):
    order = _order_or_none(number)
    instance = order_context.instance_of(db.session, order) if order else None
    xml = order_context.diagram_xml(db.session, instance) if instance else None
    if xml is None:
        return render_error(404, f"There is no process diagram for order {number}.")
    return Response(xml, mimetype="application/xml")
