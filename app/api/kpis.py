"""KPIs (JSON and CSV), master-data quality, and the saved filters of the reports.

Process owners and general managers (and admins) read them; saved filters are per user, shared
ones visible to every report user, changed only by their owner.
"""
from flask import Response, current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.api.auth import require_group
from app.api.kpi_schemas import (
    DataQualityQuerySchema,
    DataQualitySchema,
    KpiQuerySchema,
    KpiSchema,
    SavedFilterCreateSchema,
    SavedFilterListSchema,
    SavedFilterQuerySchema,
    SavedFilterSchema,
    SavedFilterUpdateSchema,
)
from app.domain import data_quality, kpis, saved_filters
from app.extensions import db

blp = Blueprint("kpis", __name__, url_prefix="/api",
                description="KPI dashboard, master-data quality, saved report filters")

REPORT_USERS = ("process_owner", "general_manager")  # admins pass every require_group


def _kpis(args) -> dict:
    days = args.get("fulfilment_days") or current_app.config.get(
        "KPI_FULFILMENT_DAYS", kpis.DEFAULT_FULFILMENT_DAYS)
    return kpis.compute(db.session, kpis.period(args.get("start"), args.get("end")),
                        fulfilment_days=days)


@blp.route("/kpis", methods=["GET"])
@require_group(*REPORT_USERS)
@blp.arguments(KpiQuerySchema, location="query", unknown=RAISE)
@blp.response(200, KpiSchema)
def get_kpis(args):
    """Every KPI of the period (default: the last 12 weeks) with its weekly series."""
    return _kpis(args)


@blp.route("/kpis.csv", methods=["GET"])
@require_group(*REPORT_USERS)
@blp.arguments(KpiQuerySchema, location="query", unknown=RAISE)
@blp.response(200, content_type="text/csv", description="kpi,week,dimension,value,unit")
def get_kpis_csv(args):
    """The same KPIs as CSV, one row per figure (week empty = the whole period)."""
    result = _kpis(args)
    period = result["period"]
    return Response(kpis.to_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="kpis-{period["from"]}-{period["to"]}.csv"'})


@blp.route("/data-quality", methods=["GET"])
@require_group(*REPORT_USERS)
@blp.arguments(DataQualityQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DataQualitySchema)
def get_data_quality(args):
    """Master-data problems by check, each record with the API call that fixes it."""
    return data_quality.report(db.session, **args)


@blp.route("/saved-filters", methods=["GET"])
@require_group(*REPORT_USERS)
@blp.arguments(SavedFilterQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SavedFilterListSchema)
def list_saved_filters(args):
    """My filters, then the ones others shared; optionally of one report."""
    return {"items": saved_filters.list_filters(db.session, g.actor.username, **args)}


@blp.route("/saved-filters", methods=["POST"])
@require_group(*REPORT_USERS)
@blp.arguments(SavedFilterCreateSchema)
@blp.response(201, SavedFilterSchema)
def create_saved_filter(args):
    """Save a filter; the same one saved again returns 200 with the existing filter."""
    saved, created = saved_filters.create_filter(db.session, g.actor.username, **args)
    db.session.commit()
    return saved, 201 if created else 200


@blp.route("/saved-filters/<int:filter_id>", methods=["GET"])
@require_group(*REPORT_USERS)
@blp.response(200, SavedFilterSchema)
def get_saved_filter(filter_id):
    """One of my filters or a shared one."""
    return saved_filters.get_filter(db.session, filter_id, g.actor.username)


@blp.route("/saved-filters/<int:filter_id>", methods=["PATCH"])
@require_group(*REPORT_USERS)
@blp.arguments(SavedFilterUpdateSchema)
@blp.response(200, SavedFilterSchema)
def update_saved_filter(args, filter_id):
    """Rename, change the query, share or unshare one of my filters."""
    saved = saved_filters.update_filter(db.session, filter_id, g.actor.username, args)
    db.session.commit()
    return saved


@blp.route("/saved-filters/<int:filter_id>", methods=["DELETE"])
@require_group(*REPORT_USERS)
@blp.response(204)
def delete_saved_filter(filter_id):
    """Delete one of my filters."""
    saved_filters.delete_filter(db.session, filter_id, g.actor.username)
    db.session.commit()
