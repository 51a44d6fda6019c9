"""The process owner's reports over orders run through the real lifecycle, with the clock moved:
stuck orders, incidents and their retry (one and a batch), suspend/resume and timers, the SLA,
the exception board and the heatmap — all over the HTTP API."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import orders as order_domain
from app.engine import clock, jobs
from app.models.engine import Incident, InstanceEvent, ProcessInstance
from app.models.shipping import Notification


def place(o2c, customer, lines):
    response = o2c.order(customer, lines)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def report(o2c, name, user="otto", **query):
    response = o2c.call(user, "get", f"/api/reports/{name}", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def act(o2c, body, user="otto"):
    response = o2c.call(user, "post", "/api/reports/incidents/actions", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def instance_id(o2c, number):
    o2c.session.expire_all()
    return o2c.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.business_key == number))


def fail_approvals(monkeypatch):
    """The lifecycle's "Mark order approved" step breaks (a database outage, say)."""
    def broken(*args, **kwargs):
        raise RuntimeError("orders service unavailable")
    monkeypatch.setattr(order_domain, "approve", broken)


def test_an_order_left_on_credit_hold_is_stuck_after_its_threshold_and_not_before(
        o2c, frozen_clock):
    """The diagram says: credit review stuck after 8 h, waiting for goods after 14 days."""
    held = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])  # over the credit limit
    short = place(o2c, "C-1001", [("FUR-TABLE-MTG", 3)])  # 2 on hand
    assert o2c.complete("gina", short, "approve_manager", {"decision": "approve"}
                        ).status_code == 200
    clock.travel(timedelta(hours=7))
    stuck = report(o2c, "stuck", process_id="order_lifecycle")
    assert stuck["items"] == [] and stuck["total"] == 0
    early = report(o2c, "stuck", min_age_hours=6, node_id="credit_review")
    assert [r["order"]["number"] for r in early["items"]] == [held]

    clock.travel(timedelta(hours=1, minutes=1))
    assert [r["node_id"] for r in report(o2c, "stuck")["items"]] == ["credit_review"]
    clock.travel(timedelta(days=14))
    rows = {r["node_id"]: r for r in report(o2c, "stuck")["items"]}
    assert set(rows) == {"credit_review", "wait_goods"}
    hold = rows["credit_review"]
    assert hold["business_key"] == held and hold["wait_kind"] == "user_task"
    assert hold["candidate_groups"] == ["credit_controller"] and hold["assignee"] is None
    assert hold["order"]["customer_code"] == "C-1004" and hold["order"]["amount"] == "8068.20"
    assert hold["threshold_seconds"] == 8 * 3600 and hold["version"] == 1
    assert hold["last_event"]["kind"] in ("step", "started")
    assert rows["wait_goods"]["business_key"] == short
    assert rows["wait_goods"]["wait_kind"] == "message"

    by_customer = report(o2c, "stuck", customer="C-1004")["items"]
    assert [r["business_key"] for r in by_customer] == [held]
    by_amount = report(o2c, "stuck", min_amount="8068.20", max_amount="8068.20")["items"]
    assert [r["business_key"] for r in by_amount] == [held]
    assert report(o2c, "stuck", min_amount="1000000")["items"] == []
    assert report(o2c, "stuck")["silent"] == {"items": [], "total": 0}

    o2c.complete("carl", held, "credit_review", {"decision": "release", "reason": "prepaid"})
    assert {r["node_id"] for r in report(o2c, "stuck")["items"]} == {"wait_goods"}


def test_a_failing_service_is_an_incident_and_a_retry_after_the_fix_moves_it_on(
        o2c, monkeypatch):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    fail_approvals(monkeypatch)
    assert o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"}
                        ).status_code == 200
    [row] = report(o2c, "incidents")["items"]
    assert row["business_key"] == number and row["order"]["customer_code"] == "C-1001"
    assert row["node_id"] == "mark_approved" and row["instance_status"] == "error"
    assert "RuntimeError: orders service unavailable" in row["message"]
    assert "Traceback" in row["traceback"] and row["retries_left"] == 0
    assert o2c.get(number)["status"] == "on_hold_incident"

    monkeypatch.undo()  # fixed
    result = act(o2c, {"action": "retry", "instance_ids": [row["instance_id"]]})
    assert (result["succeeded"], result["results"][0]["status"]) == (1, "waiting")
    assert report(o2c, "incidents")["items"] == []
    assert report(o2c, "incidents", status="resolved")["items"][0]["resolved_by"] == "otto"
    assert o2c.get(number)["status"] == "picking"
    retry = o2c.session.scalar(select(InstanceEvent).where(
        InstanceEvent.instance_id == row["instance_id"], InstanceEvent.kind == "retry"))
    assert retry.actor == "otto"


def test_batch_retry_of_five_selected_by_a_filter(o2c, monkeypatch):
    numbers = [place(o2c, "C-1001", [("CON-PAPER-A4", 5)]) for _ in range(5)]
    other = place(o2c, "C-1001", [("CON-PAPER-A4", 5)])
    fail_approvals(monkeypatch)
    for number in numbers:
        o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    assert report(o2c, "incidents", node_id="mark_approved")["total"] == 5

    monkeypatch.undo()
    result = act(o2c, {"action": "retry", "filter": {"node_id": "mark_approved"}})
    assert (result["requested"], result["succeeded"], result["failed"]) == (5, 5, 0)
    assert {o2c.get(n)["status"] for n in numbers} == {"picking"}
    assert o2c.get(other)["status"] == "awaiting_approval"  # not selected, not touched
    assert o2c.session.scalar(select(func.count()).select_from(Incident).where(
        Incident.status == "open")) == 0


def test_suspend_holds_the_reminder_until_resume_then_it_fires_once(o2c, runtime, frozen_clock):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    target = instance_id(o2c, number)
    suspended = act(o2c, {"action": "suspend", "instance_ids": [target],
                          "reason": "customer asked to wait"})
    assert suspended["results"][0]["status"] == "suspended"
    clock.travel(timedelta(hours=5))  # the 4 h reminder falls due while suspended
    assert jobs.run_until_idle(runtime) == 0
    assert o2c.session.scalar(select(func.count()).select_from(Notification)) == 0

    assert act(o2c, {"action": "resume", "instance_ids": [target]})["succeeded"] == 1
    assert jobs.run_until_idle(runtime) == 1
    assert jobs.run_until_idle(runtime) == 0
    assert o2c.session.scalar(select(func.count()).select_from(Notification)) == 1
    history = o2c.get(number)["process"]["history"]
    assert [(e["kind"], e["actor"], (e["details"] or {}).get("reason")) for e in history
            if e["kind"] in ("suspended", "resumed")] == [
        ("suspended", "otto", "customer asked to wait"), ("resumed", "otto", None)]


def test_terminate_needs_a_reason_and_is_written_to_the_history(o2c):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    target = instance_id(o2c, number)
    missing = o2c.call("otto", "post", "/api/reports/incidents/actions",
                       json={"action": "terminate", "instance_ids": [target]})
    assert missing.status_code == 422 and "reason" in missing.get_json()["details"]
    done = act(o2c, {"action": "terminate", "instance_ids": [target], "reason": "test order"})
    assert done["results"][0]["status"] == "terminated"
    [event] = [e for e in o2c.get(number)["process"]["history"] if e["kind"] == "terminated"]
    assert (event["actor"], event["details"]["reason"]) == ("otto", "test order")


def test_sla_lists_overdue_approvals_by_group_and_the_breach_rate(o2c, frozen_clock):
    late = [place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)]) for _ in range(2)]
    on_time = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    o2c.complete("sam", on_time, "approve_supervisor", {"decision": "approve"})
    clock.travel(timedelta(hours=25))  # due 24 h after creation; no jobs run: still open
    sla = report(o2c, "sla", period_days=7)
    overdue = sla["overdue"]
    assert overdue["total"] == 2
    assert sorted(i["business_key"] for i in overdue["items"]) == sorted(late)
    assert overdue["items"][0]["order"]["customer_code"] == "C-1001"
    assert overdue["by_group"] == [{"group": "sales_supervisor", "count": 2,
                                    "oldest_due_at": "2026-03-03T09:00:00+00:00"}]
    [rate] = [r for r in sla["breach_rates"] if r["node_id"] == "approve_supervisor"]
    assert (rate["tasks"], rate["breached"], rate["rate"]) == (3, 2, pytest.approx(0.6667))


def test_the_exception_board_groups_orders_with_counts_and_age(o2c, runtime, monkeypatch,
                                                               frozen_clock):
    held = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])
    short = place(o2c, "C-1001", [("FUR-TABLE-MTG", 3)])
    o2c.complete("gina", short, "approve_manager", {"decision": "approve"})
    cancelled = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    assert o2c.message("order_cancelled", cancelled, {"reason": "changed mind"}
                       ).status_code == 200
    chased = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    o2c.complete("sam", chased, "approve_supervisor", {"decision": "approve"})
    o2c.pick_and_pack(chased)
    broken = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    fail_approvals(monkeypatch)
    o2c.complete("sam", broken, "approve_supervisor", {"decision": "approve"})
    monkeypatch.undo()
    clock.travel(timedelta(days=5, hours=1))
    jobs.run_until_idle(runtime)  # no delivery news: the chase task opens

    board = report(o2c, "exceptions")
    groups = {g["category"]: g for g in board["groups"]}
    assert {c: [i["number"] for i in g["items"]] for c, g in groups.items()} == {
        "credit_hold": [held], "shortage": [short], "carrier_chase": [chased], "dunning": [],
        "incident": [broken], "cancelled": [cancelled]}
    assert board["total"] == 5
    hold = groups["credit_hold"]
    assert hold["count"] == 1 and hold["oldest_age_seconds"] == (5 * 24 + 1) * 3600
    item = hold["items"][0]
    assert item["link"] == f"/orders/{held}" and item["customer_code"] == "C-1004"
    assert groups["cancelled"]["items"][0]["detail"] == "changed mind"
    assert "orders service unavailable" in groups["incident"]["items"][0]["detail"]
    assert report(o2c, "exceptions", period_days=1)["total"] == 4  # cancelled 5 days ago


def test_dunning_shows_on_the_board(o2c, runtime, frozen_clock):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    o2c.pick_and_pack(number)
    tracking = o2c.get(number)["shipments"][0]["tracking_number"]
    o2c.message("shipment_delivered", number, {"tracking_number": tracking})
    clock.travel(timedelta(days=38))  # first reminder at due + 7
    jobs.run_until_idle(runtime)
    [dunning] = [g for g in report(o2c, "exceptions")["groups"] if g["category"] == "dunning"]
    assert [(i["number"], i["detail"]) for i in dunning["items"]] == [
        (number, "dunning level 1")]
    assert dunning["count"] == 1 and dunning["oldest_age_seconds"] > 0


def test_the_heatmap_counts_match_the_instances_and_a_node_lists_them(o2c, frozen_clock):
    approving = [place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)]) for _ in range(2)]
    held = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])
    short = place(o2c, "C-1001", [("FUR-TABLE-MTG", 3)])
    picking = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])
    clock.travel(timedelta(hours=3))
    o2c.complete("gina", short, "approve_manager", {"decision": "approve"})
    o2c.complete("sam", picking, "approve_supervisor", {"decision": "approve"})

    heat = report(o2c, "heatmap", process_id="order_lifecycle", period_days=7)
    waiting = {n["node_id"]: n["waiting"] for n in heat["nodes"] if n["waiting"]}
    assert waiting == {"approval": 2, "credit_review": 1, "wait_goods": 1, "pick_pack": 1}
    active = o2c.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.status == "waiting"))
    assert heat["waiting_total"] == active == 5
    nodes = {n["node_id"]: n for n in heat["nodes"]}
    assert (nodes["approval"]["visits"], nodes["approval"]["avg_seconds"]) == (2, 3 * 3600)
    assert nodes["credit_review"]["visits"] == 0 and nodes["validate_order"]["timed"] is False

    inner = report(o2c, "heatmap", process_id="order_approval", period_days=7)
    counts = {n["node_id"]: n["waiting"] for n in inner["nodes"] if n["waiting"]}
    assert counts == {"approve_supervisor": 2}

    listed = report(o2c, "heatmap", process_id="order_lifecycle", node_id="approval")
    assert sorted(i["business_key"] for i in listed["instances"]) == sorted(approving)
    assert {i["node_id"] for i in listed["instances"]} == {"approve_supervisor"}
    assert listed["instances"][0]["order"]["customer_code"] == "C-1001"
    hold = report(o2c, "heatmap", process_id="order_lifecycle", node_id="credit_review")
    assert [i["order"]["number"] for i in hold["instances"]] == [held]


def test_only_process_owners_see_the_reports_and_bad_input_is_a_422(o2c):
    for name in ("stuck", "incidents", "sla", "exceptions"):
        assert o2c.call("alice", "get", f"/api/reports/{name}").status_code == 403
        assert o2c.call("root", "get", f"/api/reports/{name}").status_code == 200
    assert o2c.client.get("/api/reports/stuck").status_code == 401
    assert o2c.call("alice", "post", "/api/reports/incidents/actions",
                    json={"action": "retry", "instance_ids": [1]}).status_code == 403
    bad = o2c.call("otto", "get", "/api/reports/stuck",
                   query_string={"min_age_hours": "-1", "limit": "0", "colour": "red"})
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]) == {"min_age_hours", "limit", "colour"}
    assert o2c.call("otto", "get", "/api/reports/heatmap").status_code == 422
    assert o2c.call("otto", "get", "/api/reports/heatmap",
                    query_string={"process_id": "nope"}).status_code == 404
    both = o2c.call("otto", "post", "/api/reports/incidents/actions",
                    json={"action": "retry", "instance_ids": [1], "filter": {}})
    assert both.status_code == 422 and "instance_ids" in both.get_json()["details"]
    unknown = o2c.call("otto", "post", "/api/reports/incidents/actions",
                       json={"action": "explode", "instance_ids": ["x"]})
    assert unknown.status_code == 422
    assert set(unknown.get_json()["details"]) == {"action", "instance_ids"}


def test_the_lifecycle_diagram_sets_its_own_stuck_thresholds(o2c):
    from app.engine import reports

    [thresholds] = reports.node_thresholds(o2c.session, "order_lifecycle").values()
    # Event-based gateways carry the property too: payment is awaited for weeks, not a day.
    assert thresholds["wait_payment"] == timedelta(days=60)
    assert thresholds["wait_delivery"] == timedelta(days=7)
    assert thresholds["credit_review"] == timedelta(hours=8)
    assert thresholds["record_delivery"] == reports.DEFAULT_STUCK_AFTER
