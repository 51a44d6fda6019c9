"""Process owners' reports: stuck instances, incidents (and batch actions), SLA, the exception
board and the heatmap. Members of process_owner (or admins) only."""
from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.api import report_views
from app.api.auth import require_group
from app.api.report_schemas import (
    ActionReportSchema,
    ExceptionBoardSchema,
    ExceptionQuerySchema,
    HeatmapQuerySchema,
    HeatmapSchema,
    IncidentActionSchema,
    IncidentQuerySchema,
    IncidentReportSchema,
    SlaQuerySchema,
    SlaReportSchema,
    StoppedCommandsSchema,
    StuckQuerySchema,
    StuckReportSchema,
)
from app.api.services import runtime
from app.engine import commands
from app.engine.errors import NotFound
from app.extensions import db

blp = Blueprint("reports", __name__, url_prefix="/api/reports",
                description="Process owners' reports")
OWNERS = ("process_owner",)


@blp.route("/stuck", methods=["GET"])
@blp.arguments(StuckQuerySchema, location="query", unknown=RAISE)
@blp.response(200, StuckReportSchema)
@require_group(*OWNERS)
def stuck(args):
    return report_views.stuck_report(db.session, args)


@blp.route("/incidents", methods=["GET"])
@blp.arguments(IncidentQuerySchema, location="query", unknown=RAISE)
@blp.response(200, IncidentReportSchema)
@require_group(*OWNERS)
def incidents(args):
    return report_views.incident_report(db.session, args)


@blp.route("/incidents/actions", methods=["POST"])
@blp.arguments(IncidentActionSchema)
@blp.response(200, ActionReportSchema)
@require_group(*OWNERS)
def incident_actions(args):
    """Each instance is its own unit of work (committed by the runtime); see the results."""
    return report_views.incident_action(runtime(), args, g.actor)


@blp.route("/sla", methods=["GET"])
@blp.arguments(SlaQuerySchema, location="query", unknown=RAISE)
@blp.response(200, SlaReportSchema)
@require_group(*OWNERS)
def sla(args):
    return report_views.sla_report(db.session, args)


@blp.route("/exceptions", methods=["GET"])
@blp.arguments(ExceptionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ExceptionBoardSchema)
@require_group(*OWNERS)
def exceptions(args):
    return report_views.exception_board(db.session, **args)


@blp.route("/heatmap", methods=["GET"])
@blp.arguments(HeatmapQuerySchema, location="query", unknown=RAISE)
@blp.response(200, HeatmapSchema)
@require_group(*OWNERS)
def heatmap(args):
    return report_views.heatmap_report(db.session, args)


@blp.route("/commands", methods=["GET"])
@blp.response(200, StoppedCommandsSchema)
@require_group(*OWNERS)
def stopped_commands():
    """Process starts and messages asked for by a process that failed or found nobody waiting."""
    return {"items": commands.stopped(db.session)}


@blp.route("/commands/<int:command_id>/retry", methods=["POST"])
@blp.response(200, StoppedCommandsSchema)
@require_group(*OWNERS)
def retry_command(command_id):
    """Queue a stopped command again (after fixing its cause); the scheduler carries it out."""
    if not commands.retry(db.session, command_id):
        raise NotFound(f"no failed or undelivered command {command_id}")
    return {"items": commands.stopped(db.session)}
