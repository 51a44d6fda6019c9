"""A call activity whose called process asks a DMN table which tier approves."""
import pytest
from sqlalchemy import select

from app.engine import queries
from app.engine.runtime import Actor
from app.models.engine import HumanTask

APPROVER = Actor("sam", frozenset({"approvers"}))


@pytest.mark.parametrize("amount, vip, tier", [
    (100, False, "sales_supervisor"),
    (6000, False, "general_manager"),
    (100, True, "general_manager"),
])
def test_dmn_inside_the_called_process_chooses_the_tier(runtime, deployed, session, amount, vip,
                                                        tier):
    instance, _ = runtime.start("approval_caller", business_key=f"C-{amount}-{vip}",
                                data={"amount": amount, "vip": vip})
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert task.node_id == "tier_approval_task"  # a task inside the call activity
    assert task.process_id == "approval_caller"
    instance = runtime.complete_task(task.id, {"approved": True}, APPROVER)
    assert instance.status == "completed"
    data = queries.workflow_data(session, instance)
    assert (data["tier"], data["decision"]) == (tier, "approved")
    assert "sla" not in data  # only the called process's declared outputs come back
