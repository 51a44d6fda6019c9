"""Process owners' reports over real instances moved through time: stuck (per-node thresholds
from the diagram), the silent kind, incidents and batch actions, SLA, the heatmap."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine import clock, deployments, jobs, report_heatmap, report_incidents, report_sla
from app.engine import reports, specs
from app.engine.runtime import Actor
from app.models.engine import HumanTask, Incident, InstanceEvent
from tests.conftest import HERE
from tests.operators import FLAKY

OTTO = Actor("otto", frozenset({"process_owner"}))
SAM = Actor("sam", frozenset({"approvers"}))
CLERK = Actor("cleo", frozenset({"clerks"}))

# A user task that counts as stuck after 2 hours (its diagram says so), then a wait for a signal
# that nothing will ever send: no task, no timer, no message subscription.
PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_stuck_probe" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="stuck_probe" name="Stuck probe" isExecutable="true">
    <bpmn:startEvent id="probe_start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="candidateGroups" value="clerks" />
          <spiffworkflow:property name="stuckAfter" value="PT2H" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="wait_signal" name="Never signalled">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:signalEventDefinition id="never_def" signalRef="Signal_never" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="probe_end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="probe_start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="wait_signal" />
    <bpmn:sequenceFlow id="f3" sourceRef="wait_signal" targetRef="probe_end" />
  </bpmn:process>
  <bpmn:signal id="Signal_never" name="never" />
</bpmn:definitions>
"""


@pytest.fixture
def probe(session, app):
    files = {**specs.read_dir(HERE / "processes"), "stuck_probe.bpmn": ("bpmn", PROBE)}
    deployment, _ = deployments.deploy(session, files, source="tests", actor="test",
                                       forms_dir=app.config["FORMS_DIR"])
    session.commit()
    return deployment


def open_task(session, instance_id):
    session.expire_all()
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.state == "open"))


def stuck_nodes(session, **kwargs):
    return [(r["business_key"], r["node_id"]) for r in
            reports.stuck_instances(session, **kwargs)["items"]]


def test_a_node_threshold_comes_from_the_diagram_and_a_query_may_override_it(
        runtime, probe, session, frozen_clock):
    instance, _ = runtime.start("stuck_probe", business_key="P-1")
    clock.travel(timedelta(hours=1, minutes=59))
    assert stuck_nodes(session) == []
    assert stuck_nodes(session, min_age=timedelta(hours=1)) == [("P-1", "check")]
    clock.travel(timedelta(minutes=1))
    [row] = reports.stuck_instances(session)["items"]
    assert (row["node_id"], row["wait_kind"], row["threshold_seconds"]) == (
        "check", "user_task", 7200)
    assert row["waiting_since"] == frozen_clock and row["age_seconds"] == 7200
    assert row["candidate_groups"] == ["clerks"] and row["version"] == probe.version
    assert row["last_event"]["kind"] == "step"
    assert stuck_nodes(session, node_id="other") == []
    assert stuck_nodes(session, business_keys=["P-2"]) == []
    assert stuck_nodes(session, version=probe.version + 1) == []


def test_a_message_wait_is_stuck_after_the_default_day(runtime, deployed, session,
                                                       frozen_clock):
    runtime.start("message_wait", business_key="M-1")
    clock.travel(timedelta(hours=23, minutes=59))
    assert stuck_nodes(session) == []
    clock.travel(timedelta(minutes=1))
    [row] = reports.stuck_instances(session)["items"]
    assert (row["node_id"], row["wait_kind"], row["threshold_seconds"]) == (
        "wait_payment", "message", 86400)
    runtime.deliver_message("payment_received", business_key="M-1", payload={"amount": 5})
    assert stuck_nodes(session) == []  # it moved on


def test_an_instance_nothing_can_move_is_silent_not_stuck_waiting(runtime, probe, session,
                                                                  frozen_clock):
    instance, _ = runtime.start("stuck_probe", business_key="P-3")
    runtime.start("message_wait", business_key="M-3")  # waits for a message: not silent
    clock.travel(timedelta(days=2))
    assert reports.silent_instances(session)["items"] == []  # the open task can move it
    runtime.complete_task(open_task(session, instance.id).id, {}, CLERK)
    assert reports.silent_instances(session)["items"] == []  # not a day yet
    clock.travel(timedelta(days=1))
    silent = reports.silent_instances(session)
    assert [(r["business_key"], r["waiting_at"]) for r in silent["items"]] == [
        ("P-3", ["wait_signal"])]
    assert silent["total"] == 1
    assert reports.silent_instances(session, min_age=timedelta(days=2))["items"] == []


def test_incidents_are_listed_and_a_batch_retry_clears_them(runtime, deployed, session):
    FLAKY["failing"] = True
    ids = [runtime.start("incident_flow", business_key=f"I-{n}", data={"key": f"k{n}"})[0].id
           for n in range(5)]
    listed = report_incidents.incidents(session, process_id="incident_flow")
    assert listed["total"] == 5
    first = listed["items"][0]
    assert first["node_id"] == "flaky_call" and "upstream unavailable" in first["message"]
    assert first["instance_status"] == "error" and "Traceback" in first["traceback"]
    assert report_incidents.incidents(session, q="no such text")["total"] == 0
    selection = report_incidents.incident_selection(session, node_id="flaky_call")
    assert sorted(selection) == sorted(ids)

    FLAKY["failing"] = False
    result = report_incidents.run_action(runtime, "retry", selection, OTTO)
    assert (result["requested"], result["succeeded"], result["failed"]) == (5, 5, 0)
    assert {r["status"] for r in result["results"]} == {"waiting"}
    assert report_incidents.incidents(session)["total"] == 0
    session.expire_all()
    assert {i.resolved_by for i in session.scalars(select(Incident))} == {"otto"}
    retried = session.scalars(select(InstanceEvent.instance_id).where(
        InstanceEvent.kind == "retry", InstanceEvent.actor == "otto")).all()
    assert sorted(retried) == sorted(ids)


def test_a_retry_that_fails_again_is_reported_as_such(runtime, deployed, session):
    FLAKY["failing"] = True
    instance, _ = runtime.start("incident_flow", business_key="I-9", data={"key": "k"})
    result = report_incidents.run_action(runtime, "retry", [instance.id, 999999], OTTO)
    assert [(r["ok"], r["error"]) for r in result["results"]] == [
        (False, "still_failing"), (False, "not_found")]
    assert report_incidents.incidents(session)["items"][0]["failures"] == 2


def test_suspend_holds_the_timers_and_resume_fires_an_overdue_one_once(
        runtime, deployed, session, frozen_clock):
    instance, _ = runtime.start("timers", business_key="T-1")
    result = report_incidents.run_action(runtime, "suspend", [instance.id], OTTO, "audit")
    assert result["results"][0]["status"] == "suspended"
    clock.travel(timedelta(hours=5))  # the 4 h reminder falls due while suspended
    assert jobs.run_until_idle(runtime) == 0
    report_incidents.run_action(runtime, "resume", [instance.id], OTTO)
    assert jobs.run_until_idle(runtime) == 1
    assert jobs.run_until_idle(runtime) == 0
    history = session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance.id).order_by(InstanceEvent.id)).all()
    assert [(e.kind, e.actor) for e in history if e.kind in ("suspended", "resumed")] == [
        ("suspended", "otto"), ("resumed", "otto")]
    assert sum(1 for e in history if e.node_id == "reminder_timer") == 1


def test_terminate_needs_an_active_instance(runtime, deployed, session):
    instance, _ = runtime.start("message_wait", business_key="M-9")
    done = report_incidents.run_action(runtime, "terminate", [instance.id], OTTO, "duplicate")
    again = report_incidents.run_action(runtime, "terminate", [instance.id], OTTO, "duplicate")
    assert done["results"][0]["status"] == "terminated"
    assert again["results"][0]["error"] == "invalid_state"


def test_overdue_tasks_by_group_and_assignee_and_the_breach_rate(runtime, deployed, session,
                                                                 frozen_clock):
    started = [runtime.start("timers", business_key=f"T-{n}")[0] for n in range(3)]
    runtime.complete_task(open_task(session, started[0].id).id, {"ok": True}, Actor(
        "rita", frozenset({"reviewers"})))  # on time
    clock.travel(timedelta(hours=9))  # review is due after 8 h
    tasks = report_sla.overdue_tasks(session)
    assert tasks["total"] == 2
    assert tasks["by_group"] == [{"group": "reviewers", "count": 2,
                                  "oldest_due_at": frozen_clock + timedelta(hours=8)}]
    assert tasks["by_assignee"][0]["assignee"] is None
    assert tasks["items"][0]["overdue_seconds"] == 3600
    rates = report_sla.breach_rates(session, since=frozen_clock - timedelta(days=1))
    [review] = [r for r in rates if r["node_id"] == "review"]
    assert (review["tasks"], review["breached"], review["open_overdue"]) == (3, 2, 2)
    assert review["rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report_sla.breach_rates(session, since=frozen_clock + timedelta(hours=1)) == []


def test_heatmap_counts_the_waiting_instances_and_times_the_node(runtime, deployed, session,
                                                                 frozen_clock):
    started = [runtime.start("basic_flow", business_key=f"B-{n}", data={"items": [900, 900]})[0]
               for n in range(3)]
    clock.travel(timedelta(hours=2))
    runtime.complete_task(open_task(session, started[0].id).id, {"approved": True}, SAM)
    clock.travel(timedelta(hours=4))
    runtime.complete_task(open_task(session, started[1].id).id, {"approved": False}, SAM)
    heat = report_heatmap.heatmap(session, "basic_flow", since=frozen_clock)
    nodes = {n["node_id"]: n for n in heat["nodes"]}
    assert nodes["approve"]["waiting"] == 1 == heat["waiting_total"]
    assert (nodes["approve"]["visits"], nodes["approve"]["avg_seconds"],
            nodes["approve"]["p90_seconds"]) == (2, 4 * 3600, 6 * 3600)
    assert nodes["compute_total"]["timed"] is False
    at = report_heatmap.instances_at(session, "basic_flow", "approve")
    assert [(r["business_key"], r["wait_kind"]) for r in at] == [("B-2", "user_task")]
    later = report_heatmap.heatmap(session, "basic_flow", since=frozen_clock + timedelta(hours=3))
    assert {n["node_id"]: n["visits"] for n in later["nodes"]}["approve"] == 1


def test_heatmap_shows_incidents_at_their_node(runtime, deployed, session):
    FLAKY["failing"] = True
    runtime.start("incident_flow", business_key="I-1", data={"key": "k"})
    nodes = {n["node_id"]: n for n in report_heatmap.heatmap(
        session, "incident_flow", since=clock.now() - timedelta(days=1))["nodes"]}
    assert nodes["flaky_call"]["incidents"] == 1 and nodes["flaky_call"]["waiting"] == 0
    [row] = report_heatmap.instances_at(session, "incident_flow", "flaky_call")
    assert (row["business_key"], row["wait_kind"]) == ("I-1", "incident")


def test_unreadable_durations_fall_back_to_the_default():
    assert reports.parse_duration("PT48H") == timedelta(hours=48)
    assert reports.parse_duration('"P2D"') == timedelta(days=2)
    assert reports.parse_duration("soon") is None and reports.parse_duration(None) is None
