"""Service task + gateway + user task through the runtime, and a restart in the middle."""
from sqlalchemy import select

from app import create_app
from app.engine.runtime import Actor
from app.extensions import db
from app.models.engine import HumanTask, InstanceEvent, ProcessInstance

APPROVER = Actor("sam", frozenset({"approvers"}))


def open_task(session, instance_id):
    return session.scalar(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.state == "open"))


def test_small_total_takes_the_automatic_path(runtime, deployed):
    instance, created = runtime.start("basic_flow", business_key="A-1", data={"items": [100, 200]})
    assert created
    assert instance.status == "completed"
    assert runtime.session.get(ProcessInstance, instance.id).ended_at is not None
    from app.engine import queries
    assert queries.workflow_data(runtime.session, instance)["outcome"] == "auto"
    assert queries.workflow_data(runtime.session, instance)["total"] == 300


def test_big_total_waits_for_approval_then_completes(runtime, deployed, session):
    instance, _ = runtime.start("basic_flow", business_key="A-2", data={"items": [700, 800]})
    assert instance.status == "waiting"
    assert [w["node_id"] for w in instance.waiting_at] == ["approve"]
    task = open_task(session, instance.id)
    assert task.node_name == "Approve"
    assert task.candidate_groups == ["approvers"]
    assert task.form_schema == "approve.schema.json"
    assert "1500" in task.instructions
    revision = instance.revision

    instance = runtime.complete_task(task.id, {"approved": True, "comment": "fine"}, APPROVER)
    assert instance.status == "completed"
    assert instance.revision == revision + 1
    task = session.get(HumanTask, task.id)
    assert (task.state, task.completed_by) == ("completed", "sam")
    from app.engine import queries
    assert queries.workflow_data(session, instance)["outcome"] == "approved"
    kinds = [e.kind for e in session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance.id).order_by(InstanceEvent.id))]
    assert kinds[0] == "started" and "task_completed" in kinds
    nodes = {e.node_id for e in session.scalars(select(InstanceEvent))}
    assert {"compute_total", "big_gateway", "mark_approved", "end_approved"} <= nodes


def test_same_business_key_returns_the_active_instance(runtime, deployed):
    first, created = runtime.start("basic_flow", business_key="K", data={"items": [2000]})
    second, created_again = runtime.start("basic_flow", business_key="K", data={"items": [1]})
    assert created and not created_again
    assert second.id == first.id
    # once the first one has ended, the key is free again
    task = open_task(runtime.session, first.id)
    runtime.complete_task(task.id, {"approved": False}, APPROVER)
    third, created_third = runtime.start("basic_flow", business_key="K", data={"items": [1]})
    assert created_third and third.id != first.id


def test_restart_continues_where_it_was(database_url, deployed, runtime, app):
    instance, _ = runtime.start("basic_flow", business_key="R-1", data={"items": [5000]})
    task_id = open_task(runtime.session, instance.id).id
    instance_id = instance.id
    db.session.remove()

    # a new application object over the same database, with cold caches
    from app.engine import deployments, specs
    specs._cache.clear()
    deployments.forget_ids()
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                        "FORMS_DIR": app.config["FORMS_DIR"]})
    with other.app_context():
        from app.api.services import runtime as make_runtime
        done = make_runtime().complete_task(task_id, {"approved": False}, APPROVER)
        assert done.id == instance_id
        assert done.status == "completed"
        db.session.remove()


def test_history_names_the_data_each_step_changed(runtime, deployed, session):
    instance, _ = runtime.start("basic_flow", business_key="H-1", data={"items": [1, 2]})
    steps = {e.node_id: e.details for e in session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "step"))}
    assert steps["compute_total"] == {"changed": ["total"]}
    assert steps["mark_auto"] == {"changed": ["outcome"]}
    assert steps["big_gateway"] is None
