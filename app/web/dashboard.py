"""The KPI dashboard: each KPI as a number and a weekly chart (Chart.js), the master-data quality
counts with the call that fixes each record, and the KPIs as CSV.

For process owners and general managers (and admins); the figures come from app.domain.kpis.
"""
from datetime import date
from functools import wraps
from decimal import Decimal

from flask import Response, current_app, g, render_template, request

from app.domain import data_quality, kpis, saved_filters
from app.domain.errors import Invalid
from app.extensions import db
from app.web.auth import login_required
from app.web.blueprint import bp
from app.web.errors import render_error

ROLES = ("process_owner", "general_manager")
QUALITY_ITEMS_SHOWN = 5
SLOWEST_STEPS_CHARTED = 5


def may_see_dashboard(actor) -> bool:
    return actor is not None and (actor.is_admin or bool(set(ROLES) & set(actor.groups)))


@bp.app_context_processor
def _dashboard_link():
    """The header shows the Dashboard link to those who may open it."""
    return {"may_see_dashboard": lambda: may_see_dashboard(g.get("actor"))}


def _date(name) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("invalid period", details=[{"field": name, "message": "a date "
                                                  "like 2026-03-02"}]) from None


def _compute() -> dict:
    days = current_app.config.get("KPI_FULFILMENT_DAYS", kpis.DEFAULT_FULFILMENT_DAYS)
    return kpis.compute(db.session, kpis.period(_date("from"), _date("to")), fulfilment_days=days)


def _number(value) -> float | None:
    return None if value is None else float(value)  # for drawing only; the figures stay Decimal


def _percent(value) -> float | None:
    return None if value is None else float(Decimal(value) * 100)


def chart_data(result: dict) -> dict:
    """What dashboard.js draws: week labels and, per chart, its datasets."""
    def line(label, points, key, convert=_number):
        return {"label": label, "data": [convert(point[key]) for point in points]}

    cycle, approval = result["order_cycle_time"], result["approval_lead_time"]
    slowest = cycle["steps"][:SLOWEST_STEPS_CHARTED]
    return {
        "labels": [week.isoformat() for week in result["weeks"]],
        "charts": {
            "fulfilment": {"type": "line", "unit": "%", "datasets": [
                line("complete and on time", result["fulfilment_rate"]["series"], "value",
                     _percent)]},
            "cycle": {"type": "line", "unit": "h", "datasets": [
                line("p50", cycle["series"], "p50"), line("p90", cycle["series"], "p90")]},
            "steps": {"type": "line", "unit": "h", "datasets": [
                line(step["node_name"] or step["node_id"], step["series"], "p50")
                for step in slowest]},
            "approval": {"type": "line", "unit": "h", "datasets": [
                line("p50", approval["series"], "p50"), line("p90", approval["series"], "p90")]},
            "credit_hold": {"type": "bar", "unit": "orders", "datasets": [
                line("on hold at week end", result["credit_hold"]["series"], "value"),
                line("put on hold", result["credit_hold"]["series"], "entered")]},
            "turnover": {"type": "line", "unit": "days", "datasets": [
                line(group["group"], group["series"], "days")
                for group in result["inventory_turnover"]["groups"]]},
            "dso": {"type": "line", "unit": "days", "datasets": [
                line("DSO", result["dso"]["series"], "value")]},
        },
    }


def _kpi_page(render):
    """Signed in, allowed, a valid period: then ``render(result)``; else the error page."""
    @wraps(render)
    @login_required
    def view():
        if not may_see_dashboard(g.actor):
            return render_error(403, "The dashboard is for process owners and general managers.")
        try:
            result = _compute()
        except Invalid as err:
            return render_error(400, "; ".join(f"{d['field']}: {d['message']}"
                                               for d in err.details))
        return render(result)
    return view


@bp.route("/dashboard")
@_kpi_page
def dashboard(result):
    return render_template(
        "dashboard.html", kpi=result, charts=chart_data(result),
        quality=data_quality.report(db.session, limit=QUALITY_ITEMS_SHOWN),
        saved=saved_filters.list_filters(db.session, g.user.username, "kpis"),
        query_string=saved_filters.query_string,
        period_args={"from": result["period"]["from"].isoformat(),
                     "to": result["period"]["to"].isoformat()})


@bp.route("/dashboard/kpis.csv")
@_kpi_page
def dashboard_csv(result):
    period = result["period"]
    return Response(kpis.to_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="kpis-{period["from"]}-{period["to"]}.csv"'})
