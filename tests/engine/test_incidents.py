"""Modelled BPMN errors take their path; anything else is an incident that can be retried."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine import clock, jobs, queries
from app.engine.errors import InvalidState
from app.engine.runtime import Actor, Runtime, Settings
from app.models.engine import HumanTask, Incident, Job
from tests.operators import FLAKY, STOCK

OTTO = Actor("otto", frozenset({"process_owner"}))


def test_declared_business_error_takes_the_boundary_path(runtime, deployed, session):
    STOCK["available"] = 3
    instance, _ = runtime.start("error_path", business_key="E-1", data={"qty": 5})
    assert instance.status == "completed"
    data = queries.workflow_data(session, instance)
    assert data["outcome"] == "shortage"
    assert data["error_info"]["short"] == 2
    assert session.scalar(select(Incident)) is None


def test_enough_stock_takes_the_normal_path(runtime, deployed, session):
    instance, _ = runtime.start("error_path", business_key="E-2", data={"qty": 5})
    assert queries.workflow_data(session, instance)["outcome"] == "reserved"


def test_unmodelled_exception_opens_an_incident_and_retry_continues(runtime, deployed, session):
    FLAKY["failing"] = True
    instance, created = runtime.start("incident_flow", business_key="I-1", data={"key": "k1"})
    assert created and instance.status == "error"
    incident = session.scalar(select(Incident).where(Incident.instance_id == instance.id))
    assert incident.status == "open"
    assert incident.node_id == "flaky_call"
    assert "ConnectionError: upstream unavailable for k1" in incident.message
    assert "Traceback" in incident.traceback
    assert session.scalar(select(HumanTask)) is None  # nothing after the failing node ran

    with pytest.raises(InvalidState):  # a message or task cannot move an instance in error
        runtime.fire_timers(instance.id)

    runtime.retry(instance.id, OTTO)  # still failing: the incident counts it
    incident = session.get(Incident, incident.id, populate_existing=True)
    assert incident.failures == 2 and incident.status == "open"

    FLAKY["failing"] = False  # the upstream is fixed
    instance = runtime.retry(instance.id, OTTO)
    assert instance.status == "waiting"
    incident = session.get(Incident, incident.id, populate_existing=True)
    assert (incident.status, incident.resolved_by) == ("resolved", "otto")
    assert session.scalar(select(HumanTask.node_id)) == "after_flaky"


def test_failure_after_a_user_task_keeps_the_submitted_form(runtime, deployed, session):
    instance, _ = runtime.start("task_then_flaky", business_key="I-2", data={"key": "k2"})
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    FLAKY["failing"] = True
    instance = runtime.complete_task(task.id, {"approved": True, "comment": "ok"},
                                     Actor("sam", frozenset({"approvers"})))
    assert instance.status == "error"
    assert session.get(HumanTask, task.id).state == "completed"  # the user's work is kept
    assert session.get(HumanTask, task.id).completed_by == "sam"
    incident = session.scalar(select(Incident))
    assert incident.node_id == "flaky_after_task"
    FLAKY["failing"] = False
    instance = runtime.retry(instance.id, OTTO)
    assert instance.status == "completed"
    data = queries.workflow_data(session, instance)
    assert data["approved"] is True and data["flaky_result"]["ok"] is True


def test_automatic_retries_back_off_then_stop(session, deployed, frozen_clock):
    runtime = Runtime(session, Settings(auto_retries=2, retry_backoff_seconds=30))
    FLAKY["failing"] = True
    instance, _ = runtime.start("incident_flow", business_key="I-3", data={"key": "k"})
    job = session.scalar(select(Job).where(Job.kind == "retry"))
    assert job.due_at == frozen_clock + timedelta(seconds=30)
    clock.travel(timedelta(seconds=31))
    assert jobs.run_due(runtime) == 1
    incident = session.scalar(select(Incident))
    assert (incident.failures, incident.retries_left) == (2, 1)
    job = session.scalar(select(Job).where(Job.kind == "retry"))
    assert job.due_at == clock.now() + timedelta(seconds=60)  # doubled
    clock.travel(timedelta(seconds=61))
    assert jobs.run_due(runtime) == 1
    incident = session.scalar(select(Incident))
    assert (incident.failures, incident.retries_left) == (3, 0)
    assert session.scalar(select(Job)) is None  # now it waits for a person
    calls = FLAKY["calls"]
    clock.travel(timedelta(days=1))
    assert jobs.run_due(runtime) == 0 and FLAKY["calls"] == calls


def test_terminate_closes_tasks_and_jobs(runtime, deployed, session):
    instance, _ = runtime.start("timers", business_key="X-1")
    instance = runtime.terminate(instance.id, OTTO, "duplicate order")
    assert instance.status == "terminated" and instance.end_reason == "duplicate order"
    assert {t.state for t in session.scalars(select(HumanTask))} == {"cancelled"}
    assert session.scalar(select(Job)) is None
    with pytest.raises(InvalidState):
        runtime.resume(instance.id, OTTO)
    # the business key is free again
    again, created = runtime.start("timers", business_key="X-1")
    assert created and again.id != instance.id
