"""The process owners' pages: stuck orders, incidents (with retry / suspend / resume /
terminate, one or a batch), SLA, the exception board and the heatmap. Same queries as the
API (app/api/report_views.py); process owners and admins only."""
from functools import wraps

from flask import Response, flash, g, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, ValidationError

from app.api import report_schemas as schemas
from app.api import report_views
from app.api.services import runtime
from app.engine import report_heatmap, reports
from app.extensions import db
from app.web.auth import login_required
from app.web.blueprint import bp
from app.web.errors import render_error

OWNER_GROUP = "process_owner"
PAGES = (("stuck", "Stuck"), ("incidents", "Incidents"), ("sla", "SLA"),
         ("exceptions", "Exceptions"), ("heatmap", "Heatmap"))


def is_process_owner(actor) -> bool:
    return actor is not None and (actor.is_admin or OWNER_GROUP in actor.groups)


def owner_required(view):
    @login_required
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_process_owner(g.actor):
            return render_error(403, "The reports are for process owners.")
        return view(*args, **kwargs)
    return wrapper


@bp.app_template_global()
def may_see_reports() -> bool:
    return is_process_owner(g.get("actor"))


@bp.app_template_filter("duration")
def duration(seconds) -> str:
    """Seconds as a short span: 90 -> 1 min, 7200 -> 2 h, 259200 -> 3 d."""
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


def _args(schema_class, source=None):
    """Page filters through the API's schema; unreadable ones are named and left out."""
    source = {k: v for k, v in (source or request.args).items() if v != ""}
    schema = schema_class(unknown=EXCLUDE)
    try:
        return schema.load(source), {}
    except ValidationError as err:
        bad = err.messages if isinstance(err.messages, dict) else {}
        kept = {k: v for k, v in source.items() if k not in bad}
    try:
        return schema.load(kept), bad
    except ValidationError:  # a required filter was the bad one: the view checks for it
        return schema.load(kept, partial=True), bad


def _link(endpoint, **changes) -> str:
    args = {k: v for k, v in request.args.items() if v}
    args.update(changes)
    return url_for(endpoint, **{k: v for k, v in args.items() if v is not None})


def _page(template, **context):
    return render_template(f"reports/{template}.html", pages=PAGES, link=_link,
                           processes=reports.processes(db.session), **context)


@bp.route("/reports")
@owner_required
def reports_home():
    return redirect(url_for("web.reports_stuck"))


@bp.route("/reports/stuck")
@owner_required
def reports_stuck():
    args, errors = _args(schemas.StuckQuerySchema)
    return _page("stuck", current="stuck", args=args, errors=errors,
                 result=report_views.stuck_report(db.session, args))


@bp.route("/reports/incidents")
@owner_required
def reports_incidents():
    args, errors = _args(schemas.IncidentQuerySchema)
    return _page("incidents", current="incidents", args=args, errors=errors,
                 result=report_views.incident_report(db.session, args),
                 actions=("retry", "suspend", "resume", "terminate"))


@bp.route("/reports/incidents/actions", methods=["POST"])
@owner_required
def reports_incident_actions():
    form = request.form
    filters, _ = _args(schemas.IncidentFilterSchema, {
        k: form.get(k, "") for k in ("process_id", "version", "node_id", "q", "customer")})
    body = {"action": form.get("action", ""), "reason": form.get("reason", "").strip() or None}
    if form.get("scope") == "all":
        body["filter"] = filters
    else:
        body["instance_ids"] = form.getlist("instance_id")
    try:
        args = schemas.IncidentActionSchema().load({k: v for k, v in body.items()
                                                    if v is not None})
    except ValidationError as err:
        flash(_explain(err.messages), "error")
    else:
        result = report_views.incident_action(runtime(), args, g.actor)
        failed = [f"{r['instance_id']}: {r['message']}" for r in result["results"] if not r["ok"]]
        flash(f"{args['action'].capitalize()}: {result['succeeded']} of {result['requested']} "
              f"instance(s) done." + (f" Not done — {'; '.join(failed[:5])}" if failed else ""),
              "error" if failed else "success")
    back = url_for("web.reports_incidents", **{k: v for k, v in filters.items()
                                               if k not in ("limit", "offset") and v})
    return redirect(back)


def _explain(messages) -> str:
    texts = {"instance_ids": "Select at least one instance (or apply to all matching).",
             "reason": "Give a reason to terminate.", "action": "Choose an action."}
    return " ".join(texts.get(field, f"{field}: {msg}") for field, msg in messages.items())


@bp.route("/reports/sla")
@owner_required
def reports_sla():
    args, errors = _args(schemas.SlaQuerySchema)
    return _page("sla", current="sla", args=args, errors=errors,
                 result=report_views.sla_report(db.session, args))


@bp.route("/reports/exceptions")
@owner_required
def reports_exceptions():
    args, errors = _args(schemas.ExceptionQuerySchema)
    return _page("exceptions", current="exceptions", args=args, errors=errors,
                 result=report_views.exception_board(db.session, **args))


def _heatmap_args():
    source = dict(request.args)
    if not source.get("process_id"):
        known = [pid for pid, _name in reports.processes(db.session)]
        source["process_id"] = "order_lifecycle" if "order_lifecycle" in known else \
            (known[0] if known else "")
    return _args(schemas.HeatmapQuerySchema, source)


@bp.route("/reports/heatmap")
@owner_required
def reports_heatmap():
    args, errors = _heatmap_args()
    if "process_id" not in args:
        return _page("heatmap", current="heatmap", args=args, errors=errors, result=None)
    result = report_views.heatmap_report(db.session, args)
    return _page("heatmap", current="heatmap", args=args, errors=errors, result=result)


@bp.route("/reports/heatmap/diagram.bpmn")
@owner_required
def reports_heatmap_diagram():
    xml = report_heatmap.diagram_xml(db.session, request.args.get("process_id", "")[:200])
    if xml is None:
        return render_error(404, "There is no such process diagram.")
    return Response(xml, mimetype="application/xml")


@bp.route("/reports/heatmap/node")
@owner_required
def reports_heatmap_node():
    """The instances behind one node, as a fragment the heatmap page puts under the diagram."""
    args, errors = _heatmap_args()
    if errors or not args.get("node_id"):
        return render_error(400, "Give a process and a node.")
    rows = report_views.attach_orders(db.session, report_heatmap.instances_at(
        db.session, args["process_id"], args["node_id"]))
    return render_template("reports/_node_instances.html", node_id=args["node_id"], rows=rows)
