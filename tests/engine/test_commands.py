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


def test_a_start_that_cannot_happen_fails_after_its_attempts_and_can_be_retried(
        runtime, deployed, session, frozen_clock, app):
    from app.engine.operators import UnitContext

    source, _ = runtime.start("message_wait", business_key="S-1")
    UnitContext(session, source.id, "S-1", "message_wait").start_process(
        "not_deployed_yet", business_key="X-1")
    session.commit()
    for _ in range(commands.MAX_ATTEMPTS):
        commands.run_pending(runtime)
        clock.travel(timedelta(hours=1))
    [stopped] = commands.stopped(session)
    assert (stopped["status"], stopped["attempts"]) == ("failed", commands.MAX_ATTEMPTS)
    assert "not_deployed_yet" in stopped["last_error"]
    assert commands.run_pending(runtime) == 0  # it waits for a person now

    assert commands.retry(session, stopped["id"])  # e.g. after the diagram was deployed
    assert _commands(session)["start:not_deployed_yet:X-1"].status == "pending"
    assert not commands.retry(session, stopped["id"])  # only stopped ones


def test_process_owners_see_and_retry_stopped_commands(runtime, deployed, session, client,
                                                        make_user, frozen_clock):
    from app.engine.operators import UnitContext
    from tests.conftest import auth

    _, token = make_user("otto", "process_owner")
    _, clerk = make_user("cleo", "clerks")
    source, _ = runtime.start("message_wait", business_key="S-2")
    UnitContext(session, source.id, "S-2", "message_wait").send_message(
        "no_such_message", business_key="S-2", message_id="lost-1")
    session.commit()
    for _ in range(commands.UNDELIVERED_AFTER):
        commands.run_pending(runtime)
        clock.travel(timedelta(hours=1))
    assert client.get("/api/reports/commands", headers=auth(clerk)).status_code == 403
    [row] = client.get("/api/reports/commands", headers=auth(token)).get_json()["items"]
    assert (row["key"], row["status"], row["source_instance_id"]) == (
        "message:lost-1", "undelivered", source.id)
    response = client.post(f"/api/reports/commands/{row['id']}/retry", headers=auth(token))
    assert response.status_code == 200 and response.get_json()["items"] == []
    again = client.post(f"/api/reports/commands/{row['id']}/retry", headers=auth(token))
    assert again.status_code == 404 and again.get_json()["error"]


def test_a_message_for_a_suspended_instance_waits_until_it_is_resumed(
        runtime, deployed, session, frozen_clock):
    from app.engine.operators import UnitContext

    otto = Actor("otto", frozenset({"process_owner"}))
    target, _ = runtime.start("message_wait", business_key="T-9")
    runtime.suspend(target.id, otto)
    UnitContext(session, None, None, "test").send_message(
        "payment_received", business_key="T-9", message_id="pay-9", payload={"amount": 9})
    session.commit()
    for _ in range(3):  # more than an undelivered message gets: it is not dropped
        commands.run_pending(runtime)
        clock.travel(timedelta(minutes=5))
    assert _commands(session)["message:pay-9"].status == "pending"
    runtime.resume(target.id, otto)
    clock.travel(timedelta(minutes=10))
    commands.run_pending(runtime)
    assert _commands(session)["message:pay-9"].status == "done"
    assert queries.workflow_data(session, queries.instance(session, target.id))["paid_amount"] == 9
