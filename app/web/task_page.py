"""The task page: the form from the task's JSON Schema beside the order it is about."""
from flask import current_app, flash, g, redirect, render_template, request, url_for

from app.engine import deployments, queries
from app.engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from app.engine.runtime import Runtime, Settings
from app.extensions import db
from app.web import inbox_query, order_context, schema_form
from app.web.auth import login_required
from app.web.blueprint import bp
from app.web.errors import render_error

GONE = "This task does not exist (any more), or it is not offered to your groups."


def _runtime() -> Runtime:
    config = current_app.config
    return Runtime(db.session, Settings(
        max_attempts=config["UNIT_MAX_ATTEMPTS"], auto_retries=config["INCIDENT_AUTO_RETRIES"],
        retry_backoff_seconds=config["INCIDENT_RETRY_BACKOFF_SECONDS"]))


def _visible(task_id):
    try:
        return queries.visible_task(db.session, task_id, g.actor)
    except NotFound:
        return None


def _forms(human):
    """(schema, ui schema) of the task in the deployment version its instance runs on."""
    if not human.form_schema:
        return None, {}
    instance = queries.instance(db.session, human.instance_id)
    forms = deployments.parsed_for(db.session, instance.deployment_id).forms
    return forms.get(human.form_schema), forms.get(human.form_ui_schema) or {}


def _context(human) -> dict:
    order = order_context.order_by_number(db.session, human.business_key)
    instance = queries.instance(db.session, human.instance_id)
    return {
        "order": order,
        "status": order_context.status_of(order, instance) if order else None,
        "show_credit": bool(order and order.credit_checked and "credit" in human.node_id),
        "history": order_context.approval_history(db.session, human.instance_id),
        "instance": instance,
    }


def _missing_form(human, schema) -> str | None:
    """The task names a form its deployment does not carry: it cannot be completed here."""
    if human.form_schema and schema is None:
        return (f"This task's form {human.form_schema} is not part of the deployed process "
                "version, so it cannot be completed here. Please tell the process owner.")
    return None


def _render(human, *, values=None, errors=None, status=200):
    schema, ui = _forms(human)
    missing = _missing_form(human, schema)
    errors = errors or {}
    data = queries.task_data(db.session, human) if human.state == "open" else {}
    fields = []
    if schema:
        fields = schema_form.fill(schema_form.build_fields(schema, ui), values or {}, errors,
                                  schema, ui, data)
    unplaced = {path: msg for path, msg in errors.items()
                if path not in schema_form.field_names(fields)}
    me = g.actor.username
    return render_template(
        "task.html", task=human, schema=schema, fields=fields, errors=errors, unplaced=unplaced,
        missing_form=missing,
        may_complete=human.state == "open" and human.assignee in (None, me)
        and me not in (human.excluded_users or []) and not missing,
        delegates=inbox_query.delegates_for(db.session, human, g.actor)
        if human.state == "open" else [],
        next_task=None if human.state == "open"
        else inbox_query.next_task_for(db.session, g.actor, human.instance_id),
        **_context(human)), status


@bp.route("/tasks/<task_id>")
@login_required
def task(task_id):
    human = _visible(task_id)
    if human is None:
        return render_error(404, GONE)
    return _render(human)


@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def complete(task_id):
    human = _visible(task_id)
    if human is None:
        return render_error(404, GONE)
    if human.state != "open":
        flash(f"This task is already {human.state}.", "error")
        return redirect(url_for("web.task", task_id=task_id))
    schema, ui = _forms(human)
    if _missing_form(human, schema):
        flash(_missing_form(human, schema), "error")
        return redirect(url_for("web.task", task_id=task_id))
    data, texts, errors = {}, {}, {}
    if schema:
        fields = schema_form.build_fields(schema, ui)
        data, texts, conversion = schema_form.parse(fields, schema, request.form)
        errors = {**schema_form.validate(schema, data), **conversion}
    if errors:
        return _render(human, values=texts, errors=errors, status=422)
    try:
        _runtime().complete_task(task_id, data, g.actor)
    except InvalidInput as err:
        db.session.rollback()
        problems = schema_form.engine_errors(err.details) or {"": err.message}
        return _render(human, values=texts, errors=problems, status=422)
    except (InvalidState, Forbidden, NotFound) as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("web.task", task_id=task_id))
    flash(f"Done: {human.node_name or 'task'} completed.", "success")
    return redirect(url_for("web.task", task_id=task_id))
