"""Boundary timers fire through the job table when the clock moves; never twice."""
from datetime import timedelta

from sqlalchemy import func, select

from app.engine import clock, jobs
from app.engine.runtime import Actor
from app.models.engine import HumanTask, InstanceEvent, Job

REVIEWER = Actor("rita", frozenset({"reviewers"}))


def fired(session, instance_id, node_id):
    return session.scalar(select(func.count()).select_from(InstanceEvent).where(
        InstanceEvent.instance_id == instance_id, InstanceEvent.node_id == node_id))


def tasks_by_node(session, instance_id):
    return {t.node_id: t for t in session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id))}


def test_reminder_is_non_interrupting_and_escalation_interrupts(runtime, deployed, session,
                                                                  frozen_clock):
    instance, _ = runtime.start("timers", business_key="T-1")
    review = tasks_by_node(session, instance.id)["review"]
    assert review.due_at == frozen_clock + timedelta(hours=8)  # the dueIn property
    assert instance.next_due_at == frozen_clock + timedelta(hours=4)
    assert session.scalar(select(Job.due_at).where(Job.instance_id == instance.id)) == \
        frozen_clock + timedelta(hours=4)

    clock.travel(timedelta(hours=3, minutes=59))
    assert jobs.run_due(runtime) == 0

    clock.travel(timedelta(minutes=2))
    assert jobs.run_due(runtime) == 1
    assert fired(session, instance.id, "reminder_timer") == 1
    assert fired(session, instance.id, "count_reminder") == 1
    review = session.get(HumanTask, review.id)
    assert review.state == "open"  # non-interrupting: the review stays
    assert jobs.run_due(runtime) == 0  # and the reminder does not come again

    clock.travel(timedelta(hours=21))
    assert jobs.run_due(runtime) == 1
    tasks = tasks_by_node(session, instance.id)
    assert tasks["review"].state == "cancelled"
    assert tasks["escalated_review"].state == "open"
    assert tasks["escalated_review"].candidate_groups == ["managers"]
    assert fired(session, instance.id, "reminder_timer") == 1
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_completing_in_time_removes_the_timers(runtime, deployed, session, frozen_clock):
    instance, _ = runtime.start("timers", business_key="T-2")
    review = tasks_by_node(session, instance.id)["review"]
    instance = runtime.complete_task(review.id, {"ok": True}, REVIEWER)
    assert instance.status == "completed"
    assert session.scalar(select(func.count()).select_from(Job)) == 0
    clock.travel(timedelta(days=3))
    assert jobs.run_due(runtime) == 0


def test_timers_overdue_after_downtime_fire_once(runtime, deployed, session, frozen_clock):
    instance, _ = runtime.start("timers", business_key="T-3")
    clock.travel(timedelta(days=10))  # the scheduler was down for ten days
    assert jobs.run_until_idle(runtime) == 1  # one unit fires everything that fell due
    assert fired(session, instance.id, "reminder_timer") == 1
    assert fired(session, instance.id, "escalate_timer") == 1
    assert tasks_by_node(session, instance.id)["escalated_review"].state == "open"


def test_suspended_instance_waits_for_its_timers_until_resumed(runtime, deployed, session,
                                                               frozen_clock):
    otto = Actor("otto", frozenset({"process_owner"}))
    instance, _ = runtime.start("timers", business_key="T-4")
    runtime.suspend(instance.id, otto, "customer on holiday")
    clock.travel(timedelta(hours=5))
    assert jobs.run_due(runtime) == 0
    assert fired(session, instance.id, "reminder_timer") == 0
    runtime.resume(instance.id, otto)
    assert jobs.run_due(runtime) == 1
    assert fired(session, instance.id, "reminder_timer") == 1


def test_a_stale_lease_cannot_release_a_job_taken_over(runtime, deployed, session, frozen_clock):
    instance, _ = runtime.start("timers", business_key="T-5")
    clock.travel(timedelta(hours=5))
    [first] = jobs.acquire(session, "worker-a", 10, lease_seconds=30)
    clock.travel(timedelta(seconds=31))  # worker-a stalls past its lease
    [second] = jobs.acquire(session, "worker-b", 10, lease_seconds=30)
    assert second.fence == first.fence + 1
    jobs.release(session, first, "late", 60)  # worker-a wakes up: its release is a no-op
    job = session.get(Job, first.job_id, populate_existing=True)
    assert job.lease_owner == "worker-b" and job.attempts == 0
    jobs.run_one(runtime, second)
    jobs.run_one(runtime, first)  # even running it again fires nothing new
    assert fired(session, instance.id, "reminder_timer") == 1


def test_without_due_in_the_escalation_timer_is_the_due_date(runtime, deployed, session, app,
                                                             frozen_clock):
    from pathlib import Path

    from app.engine import deployments, specs

    files = specs.read_dir(Path(__file__).parent.parent / "processes")
    kind, text = files["timers.bpmn"]
    files["timers.bpmn"] = (kind, text.replace(
        '<spiffworkflow:property name="dueIn" value="PT8H" />', ""))
    assert files["timers.bpmn"][1] != text
    deployments.deploy(session, files, source="test", actor="ada",
                       forms_dir=app.config["FORMS_DIR"])
    session.commit()
    instance, _ = runtime.start("timers", business_key="T-6")
    review = tasks_by_node(session, instance.id)["review"]
    assert review.due_at == frozen_clock + timedelta(hours=24)  # the interrupting one, not 4h


def test_the_scheduler_tick_runs_due_jobs(runtime, deployed, session, app, frozen_clock):
    from app.scheduler import tick

    instance, _ = runtime.start("timers", business_key="T-7")
    session.commit()
    clock.travel(timedelta(hours=5))
    assert tick(app) == 1
    assert fired(session, instance.id, "reminder_timer") == 1
