"""Every path of the order lifecycle through the HTTP API; timers by moving the clock."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.engine import clock, jobs
from app.models.engine import HumanTask, ProcessInstance
from app.models.finance import Invoice
from app.models.sales import SalesOrder
from app.models.shipping import Notification, Outbox


def run_jobs(runtime):
    return jobs.run_until_idle(runtime)


def place(o2c, customer, lines, **extra):
    response = o2c.order(customer, lines, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ship_and_deliver(o2c, number):
    assert o2c.pick_and_pack(number).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "in_transit", order["process"]
    [shipment] = order["shipments"]
    assert shipment["tracking_number"].startswith("DP")
    assert o2c.message("shipment_delivered", number,
                       {"tracking_number": shipment["tracking_number"]}).status_code == 200
    return o2c.get(number)


def pay(o2c, external_id, amount, reference):
    response = o2c.call("fran", "post", "/api/payments", json={
        "external_id": external_id, "amount": str(amount), "currency": "CNY",
        "reference": reference})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_small_order_of_a_standard_customer_goes_from_entry_to_cash(o2c, frozen_clock):
    created = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 2)], external_ref="PO-1")
    number = created["number"]
    assert created["total"] == "2915.40" and created["currency"] == "CNY"
    assert created["status"] == "awaiting_approval"
    assert o2c.task(number, "approve_supervisor").candidate_groups == ["sales_supervisor"]

    assert o2c.complete("sam", number, "approve_supervisor",
                        {"decision": "approve"}).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "picking" and order["approved_by"] == "sam"
    assert sum(Decimal(r["quantity"]) for r in order["reservations"]) == 2
    assert o2c.stock("FUR-CHAIR-ERG")["totals"]["reserved"] == "2.000"

    order = ship_and_deliver(o2c, number)
    assert order["status"] == "awaiting_payment"
    [invoice] = order["invoices"]
    assert invoice["total"] == "2915.40"
    assert [line["delivered_qty"] for line in order["lines"]] == ["2.000"]

    paid = pay(o2c, "BANK-1", "2915.40", invoice["number"])
    assert paid["order_ids_fully_paid"] == [order_id(o2c, number)]
    order = o2c.get(number)
    assert order["status"] == "completed"
    assert order["process"]["status"] == "completed"
    kinds = [(e["kind"], e["node_id"]) for e in order["process"]["history"]]
    assert ("task_completed", "approve_supervisor") in kinds


def order_id(o2c, number):
    return o2c.order_row(number).id


def test_replayed_external_ref_returns_the_same_order(o2c):
    first = o2c.order("C-1001", [("FUR-CHAIR-ERG", 1)], external_ref="PO-9")
    again = o2c.order("C-1001", [("FUR-CHAIR-ERG", 5)], external_ref="PO-9")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["number"] == first.get_json()["number"]
    assert o2c.session.scalar(select(func.count()).select_from(SalesOrder)) == 1
    assert o2c.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_invalid_orders_are_refused_and_nothing_is_stored(o2c):
    response = o2c.order("C-1006", [("NOPE", 1), ("CON-PAPER-A4", 3)])
    assert response.status_code == 422
    fields = [p["field"] for p in response.get_json()["details"]]
    assert "customer" in fields and "lines[0].sku" in fields and "lines[1].quantity" in fields
    bad_body = o2c.call("alice", "post", "/api/orders", json={"customer": "C-1001", "lines": []})
    assert bad_body.status_code == 422
    assert o2c.session.scalar(select(func.count()).select_from(SalesOrder)) == 0
    assert o2c.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_large_order_goes_to_the_general_manager(o2c):
    number = place(o2c, "C-1001", [("FUR-DESK-1400", 3)])["number"]  # 8068.20 with tax
    assert o2c.task(number, "approve_supervisor") is None
    assert o2c.task(number, "approve_manager").candidate_groups == ["general_manager"]
    assert o2c.complete("sam", number, "approve_manager",
                        {"decision": "approve"}).status_code == 403  # not his tier
    assert o2c.complete("gina", number, "approve_manager",
                        {"decision": "approve"}).status_code == 200
    assert o2c.get(number)["status"] == "picking"


def test_vip_customers_skip_the_supervisor_tier(o2c):
    number = place(o2c, "C-1002", [("CON-PEN-GEL", 2)])["number"]
    assert o2c.task(number, "approve_manager") is not None
    assert o2c.task(number, "approve_supervisor") is None


def test_rejection_ends_the_order_with_its_reason(o2c):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    missing_reason = o2c.complete("sam", number, "approve_supervisor", {"decision": "reject"})
    assert missing_reason.status_code == 422
    assert o2c.complete("sam", number, "approve_supervisor",
                        {"decision": "reject", "comment": "duplicate of PO-1"}).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "rejected" and order["end_reason"] == "duplicate of PO-1"
    assert o2c.stock("FUR-CHAIR-ERG")["totals"]["reserved"] == "0.000"


def test_the_creator_of_an_order_cannot_approve_it(o2c):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)], user="sam")["number"]
    response = o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    assert response.status_code == 403
    assert "segregation" in response.get_json()["message"]
    assert o2c.call("sam", "post", f"/api/tasks/{o2c.task(number, 'approve_supervisor').id}"
                    "/claim").status_code == 403


def test_credit_hold_released_by_the_credit_controller(o2c):
    number = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])["number"]  # 8068.20 > 8000 limit
    order = o2c.get(number)
    assert order["status"] == "credit_hold"
    assert order["credit_checked"]["hold"] is True
    assert o2c.complete("alice", number, "credit_review",
                        {"decision": "release"}).status_code == 403
    assert o2c.complete("carl", number, "credit_review",
                        {"decision": "release", "reason": "prepayment agreed"}).status_code == 200
    assert o2c.get(number)["status"] == "awaiting_approval"


def test_credit_hold_rejected(o2c):
    number = place(o2c, "C-1004", [("FUR-DESK-1400", 3)])["number"]
    assert o2c.complete("carl", number, "credit_review",
                        {"decision": "reject", "reason": "too many open invoices"}
                        ).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "rejected" and order["end_reason"] == "too many open invoices"


def test_sla_reminder_then_escalation_to_the_next_tier(o2c, runtime, frozen_clock):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    task = o2c.task(number, "approve_supervisor")
    assert task.due_at == frozen_clock + timedelta(hours=24)
    clock.travel(timedelta(hours=4, minutes=1))
    assert run_jobs(runtime) == 1
    notices = o2c.session.scalars(select(Notification)).all()
    assert [(n.group_name, "Reminder" in n.subject) for n in notices] == [
        ("sales_supervisor", True)]
    assert o2c.task(number, "approve_supervisor") is not None  # the reminder does not interrupt
    clock.travel(timedelta(hours=20))
    run_jobs(runtime)
    assert o2c.task(number, "approve_supervisor") is None
    assert o2c.task(number, "approve_manager") is not None  # escalated to the next tier
    assert o2c.session.get(HumanTask, task.id).state == "cancelled"


def test_shortage_waits_for_goods_then_ships(o2c):
    number = place(o2c, "C-1001", [("FUR-TABLE-MTG", 3)])["number"]  # 2 on hand
    assert o2c.complete("gina", number, "approve_manager", {"decision": "approve"}).status_code == 200
    order = o2c.get(number)
    assert order["status"] == "awaiting_stock"
    assert o2c.stock("FUR-TABLE-MTG")["totals"]["on_order"] == "1.000"
    receipt = o2c.call("wendy", "post", "/api/stock/receipts", json={
        "sku": "FUR-TABLE-MTG", "warehouse": "SH-MAIN", "bin": "A-01", "quantity": "4",
        "reference": "GRN-77"})
    assert receipt.status_code == 201 and receipt.get_json()["fulfilled_orders"]
    order = o2c.get(number)
    assert order["status"] == "picking"
    assert sum(Decimal(r["quantity"]) for r in order["reservations"]) == 3
    assert ship_and_deliver(o2c, number)["status"] == "awaiting_payment"


def test_cancel_before_shipment_puts_the_stock_back(o2c):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 3)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    assert o2c.stock("FUR-CHAIR-ERG")["totals"]["reserved"] == "3.000"
    response = o2c.message("order_cancelled", number, {"reason": "customer changed mind"})
    assert response.status_code == 200
    order = o2c.get(number)
    assert order["status"] == "cancelled" and order["end_reason"] == "customer changed mind"
    assert o2c.stock("FUR-CHAIR-ERG")["totals"]["reserved"] == "0.000"
    assert o2c.task(number, "pick_pack") is None
    assert [s["status"] for s in order["shipments"]] == ["cancelled"]  # the pick list is void
    assert o2c.message("order_cancelled", number).status_code == 404  # nothing waits any more


def test_cancel_after_shipment_opens_a_return_and_the_order_goes_on(o2c, runtime):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    assert o2c.pick_and_pack(number).status_code == 200
    response = o2c.message("order_cancelled", number, {"reason": "bought elsewhere"},
                           message_id="cancel-1")
    assert response.status_code == 200
    order = o2c.get(number)
    assert order["status"] == "in_transit" and order["end_reason"] is None  # not cancelled
    rma = order_return(o2c, number)
    assert (rma["origin"], rma["reason"]) == ("cancellation", "bought elsewhere")
    assert rma["process_instance_id"] is None  # its process starts after the order's unit
    run_jobs(runtime)
    rma = order_return(o2c, number)
    assert rma["process_instance_id"] is not None and rma["status"] == "awaiting_approval"
    # A second cancellation message, or the same again, opens no second return.
    o2c.message("order_cancelled", number, {"reason": "again"}, message_id="cancel-2")
    run_jobs(runtime)
    assert len(o2c.call("alice", "get", "/api/returns").get_json()["items"]) == 1

    order = ship_and_deliver_booked(o2c, number)  # the goods were on the truck anyway
    assert order["status"] == "awaiting_payment"
    o2c.message("order_cancelled", number, {"reason": "late"}, message_id="cancel-3")
    assert o2c.get(number)["status"] == "awaiting_payment"


def order_return(o2c, number):
    listed = o2c.call("alice", "get", "/api/returns").get_json()["items"]
    return next(r for r in listed if r["order"] == number)


def ship_and_deliver_booked(o2c, number):
    [shipment] = o2c.get(number)["shipments"]
    assert o2c.message("shipment_delivered", number,
                       {"tracking_number": shipment["tracking_number"]}).status_code == 200
    return o2c.get(number)


def test_duplicate_payment_is_applied_once_and_partial_payment_waits(o2c):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 2)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    invoice = ship_and_deliver(o2c, number)["invoices"][0]
    first = pay(o2c, "BANK-7", "1000.00", invoice["number"])
    again = pay(o2c, "BANK-7", "1000.00", invoice["number"])
    assert first["allocations"] == again["allocations"]
    assert o2c.get(number)["status"] == "awaiting_payment"
    o2c.session.expire_all()
    assert o2c.session.scalar(select(Invoice.paid_amount)) == Decimal("1000.00")
    pay(o2c, "BANK-8", "1915.40", invoice["number"])
    assert o2c.get(number)["status"] == "completed"


def test_dunning_reminders_then_a_finance_task(o2c, runtime, frozen_clock):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    invoice = ship_and_deliver(o2c, number)["invoices"][0]
    assert invoice["dunning_level"] == 0
    clock.travel(timedelta(days=30 + 8))  # terms 30 days, first reminder at due + 7
    run_jobs(runtime)
    assert o2c.get(number)["invoices"][0]["dunning_level"] == 1
    clock.travel(timedelta(days=14))
    run_jobs(runtime)
    assert o2c.get(number)["invoices"][0]["dunning_level"] == 2
    emails = o2c.session.scalars(select(Outbox).where(Outbox.key.like("dunning:%"))).all()
    assert len(emails) == 2
    clock.travel(timedelta(days=9))
    run_jobs(runtime)
    assert o2c.task(number, "payment_followup").candidate_groups == ["finance"]
    assert o2c.get(number)["status"] == "payment_overdue"


def test_no_delivery_news_opens_a_chase_task(o2c, runtime, frozen_clock):
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    o2c.pick_and_pack(number)
    clock.travel(timedelta(days=5, hours=1))
    run_jobs(runtime)
    assert o2c.task(number, "chase_carrier") is not None
    assert o2c.complete("wendy", number, "chase_carrier",
                        {"note": "carrier says tomorrow"}).status_code == 200
    tracking = o2c.get(number)["shipments"][0]["tracking_number"]
    assert o2c.message("shipment_delivered", number, {"tracking_number": tracking}
                       ).status_code == 200
    assert o2c.get(number)["status"] == "awaiting_payment"


def test_the_reminder_reaches_the_approvers_mailbox(o2c, app, frozen_clock, smtp_sink,
                                                    monkeypatch):
    from app.models.identity import User
    from app.scheduler import tick

    o2c.session.scalar(select(User).where(User.username == "sam")).email = "sam@example.com"
    o2c.session.commit()
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_sink.port)
    number = place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)])["number"]
    clock.travel(timedelta(hours=4, minutes=1))
    assert tick(app) == 1  # the reminder timer fired and its e-mail went out after the commit
    [(sender, recipients, mail)] = smtp_sink.messages
    assert recipients == ["sam@example.com"]
    assert number in mail["Subject"] and "Reminder" in mail["Subject"]
    assert tick(app) == 0 and len(smtp_sink.messages) == 1  # sent once
