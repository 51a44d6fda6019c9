"""A unit of work may ask for another process to start and for a message to be sent; both are
carried out after it commits, once, and not at all when it rolls back."""
from datetime import timedelta

from sqlalchemy import select

from app.engine import clock, commands, jobs, queries
from app.engine.runtime import Actor
from app.models.engine import EngineCommand, Incident, ProcessInstance
from tests.operators import ASK


def _commands(session):
    session.expire_all()
    return {c.key: c for c in session.scalars(select(EngineCommand))}


def test_start_and_message_happen_after_commit(runtime, deployed, session):
    asker, _ = runtime.start("ask_others", business_key="A-1",
                             data={"target_key": "T-1", "amount": 7})
    assert asker.status == "completed"
    queued = _commands(session)
    assert set(queued) == {"start:message_wait:T-1", "message:pay:T-1"}
    assert all(c.status == "pending" and c.source_instance_id == asker.id
               for c in queued.values())
    assert session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_key == "T-1")) is None  # nothing before the runner

    jobs.run_until_idle(runtime)

    target = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "T-1"))
    assert target.status == "completed"
    assert queries.workflow_data(session, queries.instance(session, target.id))["paid_amount"] == 7
    done = _commands(session)
    assert {c.status for c in done.values()} == {"done"}
    assert done["start:message_wait:T-1"].result_instance_id == target.id


def test_asking_twice_is_asking_once(runtime, deployed, session):
    runtime.start("ask_others", business_key="A-2", data={"target_key": "T-2", "amount": 1})
    second, _ = runtime.start("ask_others", business_key="A-3",
                              data={"target_key": "T-2", "amount": 99})
    assert queries.workflow_data(session, second)["asked"] == {"started": False, "sent": False}
    jobs.run_until_idle(runtime)
    targets = session.scalars(select(ProcessInstance).where(
        ProcessInstance.business_key == "T-2")).all()
    assert len(targets) == 1
    assert queries.workflow_data(session, queries.instance(session, targets[0].id))[
        "paid_amount"] == 1


def test_a_failed_unit_asks_for_nothing(runtime, deployed, session):
    ASK["fail_after_asking"] = True
    asker, _ = runtime.start("ask_others", business_key="A-4",
                             data={"target_key": "T-4", "amount": 3})
    assert asker.status == "error"
    assert session.scalar(select(Incident).where(Incident.instance_id == asker.id))
    assert _commands(session) == {}
    ASK["fail_after_asking"] = False
    runtime.retry(asker.id, Actor("otto", frozenset({"process_owner"})))
    jobs.run_until_idle(runtime)
    assert {k: c.status for k, c in _commands(session).items()} == {
        "start:message_wait:T-4": "done", "message:pay:T-4": "done"}


def test_a_message_nobody_waits_for_ends_undelivered(runtime, deployed, session, frozen_clock):
    context_instance, _ = runtime.start("message_wait", business_key="T-5")
    runtime.deliver_message("payment_received", business_key="T-5", payload={"amount": 1},
                            message_id="first")  # T-5 no longer waits
    from app.engine.operators import UnitContext

    UnitContext(session, context_instance.id, "T-5", "message_wait").send_message(
        "payment_received", business_key="T-5", message_id="late", payload={"amount": 2})
    session.commit()
    for _ in range(commands.UNDELIVERED_AFTER):
        commands.run_pending(runtime)
        clock.travel(timedelta(minutes=10))
    late = _commands(session)["message:late"]
    assert late.status == "undelivered" and late.attempts == commands.UNDELIVERED_AFTER
    assert "no process instance waits" in late.last_error
