"""Messages resume the waiting instance; a message id is applied once."""
import pytest

from app.engine import queries
from app.engine.errors import InvalidState, NotFound
from app.engine.runtime import Actor

OTTO = Actor("otto", frozenset({"process_owner"}))


def test_message_resumes_the_instance_with_its_payload(runtime, deployed, session):
    instance, _ = runtime.start("message_wait", business_key="ORD-1")
    assert instance.status == "waiting"
    assert instance.waiting_at[0]["message"] == "payment_received"
    resumed, duplicate = runtime.deliver_message(
        "payment_received", business_key="ORD-1", payload={"amount": 42}, message_id="pay-1")
    assert not duplicate and resumed.status == "completed"
    assert queries.workflow_data(session, resumed)["paid_amount"] == 42


def test_the_same_message_id_is_applied_once(runtime, deployed, session):
    runtime.start("message_wait", business_key="ORD-2")
    runtime.deliver_message("payment_received", business_key="ORD-2", payload={"amount": 1},
                            message_id="pay-2")
    again, duplicate = runtime.deliver_message(
        "payment_received", business_key="ORD-2", payload={"amount": 999}, message_id="pay-2")
    assert duplicate
    assert queries.workflow_data(session, again)["paid_amount"] == 1


def test_no_waiting_instance_is_not_found(runtime, deployed):
    runtime.start("message_wait", business_key="ORD-3")
    with pytest.raises(NotFound):
        runtime.deliver_message("payment_received", business_key="nobody", payload={})
    with pytest.raises(NotFound):
        runtime.deliver_message("shipment_delivered", business_key="ORD-3", payload={})


def test_suspended_instance_refuses_the_message(runtime, deployed):
    instance, _ = runtime.start("message_wait", business_key="ORD-4")
    runtime.suspend(instance.id, OTTO)
    with pytest.raises(InvalidState):
        runtime.deliver_message("payment_received", business_key="ORD-4", payload={"amount": 1})


def test_correlation_values_pick_the_instance(runtime, deployed, session):
    a, _ = runtime.start("message_wait", business_key="C-1",
                         data={"customer": "acme", "region": "eu"})
    b, _ = runtime.start("message_wait", business_key="C-2",
                         data={"customer": "globex", "region": "eu"})
    with pytest.raises(InvalidState):  # ambiguous: both match
        runtime.deliver_message("payment_received", correlation={"region": "eu"}, payload={})
    with pytest.raises(NotFound):
        runtime.deliver_message("payment_received", correlation={"region": "us"}, payload={})
    resumed, _ = runtime.deliver_message("payment_received", correlation={"customer": "globex"},
                                         payload={"amount": 5})
    assert resumed.id == b.id and resumed.status == "completed"
    assert queries.instance(session, a.id).status == "waiting"
