"""instance_wait: where each active instance stands and since when, kept by the store."""
from datetime import timedelta

from sqlalchemy import func, select

from app.engine import clock, jobs
from app.engine.runtime import Actor
from app.models.engine import InstanceWait

OTTO = Actor("otto", frozenset({"process_owner"}))


def places(session, instance_id):
    session.expire_all()
    return {(w.node_id, w.kind, w.status): w.since for w in session.scalars(
        select(InstanceWait).where(InstanceWait.instance_id == instance_id))}


def test_a_wait_keeps_its_since_while_the_instance_stays_there(runtime, deployed, session,
                                                                frozen_clock):
    instance, _ = runtime.start("timers", business_key="W-1")
    started = clock.now()
    assert places(session, instance.id) == {("review", "user_task", "waiting"): started}

    clock.travel(timedelta(hours=4, minutes=1))  # the non-interrupting reminder fires
    assert jobs.run_until_idle(runtime) == 1
    # Still at the review since it got there; boundary timers are not places of their own.
    assert places(session, instance.id) == {("review", "user_task", "waiting"): started}

    clock.travel(timedelta(hours=20))  # the interrupting escalation: a new place, a new since
    jobs.run_until_idle(runtime)
    assert places(session, instance.id) == {
        ("escalated_review", "user_task", "waiting"): clock.now()}


def test_status_follows_the_instance_and_the_rows_go_when_it_ends(runtime, deployed, session):
    instance, _ = runtime.start("message_wait", business_key="W-2")
    assert set(places(session, instance.id)) == {("wait_payment", "message", "waiting")}
    runtime.suspend(instance.id, OTTO)
    assert set(places(session, instance.id)) == {("wait_payment", "message", "suspended")}
    runtime.resume(instance.id, OTTO)
    assert set(places(session, instance.id)) == {("wait_payment", "message", "waiting")}
    runtime.deliver_message("payment_received", business_key="W-2", payload={"amount": 1})
    assert places(session, instance.id) == {}

    other, _ = runtime.start("message_wait", business_key="W-3")
    runtime.terminate(other.id, OTTO, reason="test")
    assert places(session, other.id) == {}


def test_leaving_a_node_records_the_stay(runtime, deployed, session, frozen_clock):
    from app.models.engine import NodeVisit

    instance, _ = runtime.start("timers", business_key="W-4")
    entered = clock.now()
    clock.travel(timedelta(hours=24, minutes=1))  # escalation: the review is left for another
    jobs.run_until_idle(runtime)
    session.expire_all()
    [stay] = session.scalars(select(NodeVisit).where(NodeVisit.instance_id == instance.id))
    assert (stay.node_id, stay.entered_at, stay.left_at) == ("review", entered, clock.now())
    assert stay.seconds == 24 * 3600 + 60

    runtime.terminate(instance.id, OTTO, reason="test")  # ended by hand: no stay recorded
    assert session.scalar(select(func.count()).select_from(NodeVisit)) == 1
