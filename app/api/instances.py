"""Process instances: start, read, and the operator actions."""
from flask import g
from flask_smorest import Blueprint

from app.api.auth import require_group
from app.api.schemas import (
    InstanceDetailSchema,
    InstanceListSchema,
    InstanceQuerySchema,
    InstanceSchema,
    InstanceStartSchema,
    ReasonSchema,
)
from app.api.services import runtime
from app.engine import queries
from app.extensions import db

blp = Blueprint("instances", __name__, url_prefix="/api/process-instances",
                description="Running and finished process instances")
OPERATORS = ("process_owner",)


@blp.route("", methods=["POST"])
@blp.arguments(InstanceStartSchema)
@blp.response(201, InstanceSchema)
def start_instance(args):
    instance, created = runtime().start(args["process_id"], business_key=args["business_key"],
                                        data=args["data"], actor=g.actor)
    return instance, 201 if created else 200


@blp.route("", methods=["GET"])
@blp.arguments(InstanceQuerySchema, location="query")
@blp.response(200, InstanceListSchema)
def list_instances(args):
    return queries.list_instances(db.session, **args)


@blp.route("/<int:instance_id>", methods=["GET"])
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    instance = queries.instance(db.session, instance_id)
    for key, value in queries.describe(db.session, instance).items():
        setattr(instance, key, value)
    return instance


def _action(name):
    @blp.route(f"/<int:instance_id>/{name}", methods=["POST"], endpoint=name)
    @blp.arguments(ReasonSchema)
    @blp.response(200, InstanceSchema)
    @require_group(*OPERATORS)
    def action(args, instance_id):
        rt = runtime()
        if name == "retry":
            return rt.retry(instance_id, g.actor)
        return getattr(rt, name)(instance_id, g.actor, args["reason"])
    return action


for _name in ("suspend", "resume", "terminate", "retry"):
    _action(_name)
