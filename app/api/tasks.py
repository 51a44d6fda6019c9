"""The task inbox over HTTP: list, read, claim, unclaim, delegate, complete."""
from flask import g
from flask_smorest import Blueprint

from app import identity
from app.api.schemas import (
    CompleteSchema,
    DelegateSchema,
    InstanceSchema,
    TaskDetailSchema,
    TaskListSchema,
    TaskQuerySchema,
    TaskSchema,
)
from app.api.services import runtime
from app.engine import deployments, queries, tasks
from app.engine.errors import NotFound
from app.extensions import db

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Human tasks")


@blp.route("", methods=["GET"])
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskListSchema)
def list_tasks(args):
    return queries.list_tasks(db.session, g.actor, **args)


@blp.route("/<string:task_id>", methods=["GET"])
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    human = queries.visible_task(db.session, task_id, g.actor)
    parsed = deployments.parsed_for(db.session, queries.instance(db.session, human.instance_id)
                                    .deployment_id)
    human.form_schema_json = parsed.forms.get(human.form_schema) if human.form_schema else None
    human.form_ui_schema_json = parsed.forms.get(human.form_ui_schema) \
        if human.form_ui_schema else None
    human.data = queries.task_data(db.session, human) if human.state == "open" else {}
    return human


@blp.route("/<string:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
def claim(task_id):
    return tasks.claim(db.session, task_id, g.actor)


@blp.route("/<string:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
def unclaim(task_id):
    return tasks.unclaim(db.session, task_id, g.actor)


@blp.route("/<string:task_id>/delegate", methods=["POST"])
@blp.arguments(DelegateSchema)
@blp.response(200, TaskSchema)
def delegate(args, task_id):
    to = identity.actor_by_username(db.session, args["to"])
    if to is None:
        raise NotFound(f"user {args['to']!r} not found")
    return tasks.delegate(db.session, task_id, g.actor, to)


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, InstanceSchema)
def complete(args, task_id):
    return runtime().complete_task(task_id, args["data"], g.actor)
