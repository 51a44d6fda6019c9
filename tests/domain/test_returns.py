"""Return requests at entry, the cancellation return, the stock a return moves, and surveys."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain import kpis, return_goods, return_views, returns, surveys
from app.domain.errors import Conflict, Invalid
from app.engine import clock, jobs, operators
from app.models.engine import EngineCommand, HumanTask
from app.models.inventory import StockLedger, StockLevel
from app.models.returns import CustomerSurvey, ReturnRequest
from app.models.sales import SalesOrderLine
from app.models.shipping import Outbox


@pytest.fixture
def delivered(o2c):
    """Order of 2 chairs and 2 headsets, delivered (not yet returned)."""
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2), ("ELE-HEADSET", 2)])
    return o2c.order_row(number)


def request(session, order, lines, **extra):
    return returns.request_return(session, order=order.number, lines=lines,
                                  reason=extra.pop("reason", "not needed"),
                                  requested_by="alice", **extra)


def fields_of(err):
    return [p["field"] for p in err.value.details]


def test_every_problem_is_named(session, delivered):
    with pytest.raises(Invalid) as bad:
        request(session, delivered, [
            {"line_no": 9, "quantity": 1}, {"line_no": 1, "quantity": 0},
            {"line_no": 2, "quantity": 1, "serials": ["X"]}, {"line_no": 2, "quantity": 1}],
            reason="", contact_email="nope")
    assert fields_of(bad) == ["reason", "contact_email", "lines[0].line_no",
                              "lines[1].quantity", "lines[2].serials", "lines[3].line_no"]
    assert session.scalar(select(ReturnRequest)) is None


def test_open_requests_claim_their_quantity_until_rejected(session, delivered):
    first, created = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    assert created and [ln.quantity for ln in first.lines] == [1]
    with pytest.raises(Invalid) as over:
        request(session, delivered, [{"line_no": 1, "quantity": 2}])
    assert "at most 1 can be returned (delivered 2, already returned or requested 1)" in \
        over.value.details[0]["message"]
    returns.reject(session, first.id, "sam", "no")
    again, _ = request(session, delivered, [{"line_no": 1, "quantity": 2}])
    assert again.number != first.number
    with pytest.raises(Conflict):
        returns.approve(session, first.id, "sam")


def test_a_replay_by_external_ref_or_key_returns_the_same_request(session, delivered):
    first, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}], external_ref="R-1")
    again, created = request(session, delivered, [{"line_no": 1, "quantity": 1}],
                             external_ref="R-1")
    assert (again.id, created) == (first.id, False)
    keyed, _ = request(session, delivered, [{"line_no": 2, "quantity": 1}], idempotency_key="k1")
    assert request(session, delivered, [{"line_no": 2, "quantity": 1}],
                   idempotency_key="k1")[0].id == keyed.id


def receive(session, ret, qty):
    returns.approve(session, ret.id, "sam")
    return return_goods.receive_goods(session, ret.id, [{"line_no": 1, "quantity": qty}],
                                      user="wendy")


def quarantine(session, ret):
    ret = session.get(ReturnRequest, ret.id)
    return session.scalar(select(StockLevel).where(
        StockLevel.bin_id == ret.quarantine_bin_id,
        StockLevel.product_id == ret.lines[0].product_id))


def test_received_goods_wait_in_the_returns_bin_until_inspected(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 2}])
    with pytest.raises(Conflict):  # not approved yet
        return_goods.receive_goods(session, ret.id, [{"line_no": 1, "quantity": 2}], user="w")
    receive(session, ret, 1)  # one of two arrived
    level = quarantine(session, ret)
    assert (level.on_hand, level.reserved) == (1, 0)
    assert session.get(SalesOrderLine, ret.lines[0].order_line_id).returned_qty == 1
    # the missing one is free to be returned again; what arrived is not
    assert returns.returnable(session, delivered, basis="delivered")[ret.lines[0].order_line_id] \
        == 1
    return_goods.inspect(session, ret.id, "scrap", user="wendy")
    level = quarantine(session, ret)
    assert (level.on_hand, level.reserved) == (0, 0)
    again = return_goods.inspect(session, ret.id, "restock", user="wendy")  # a replay
    assert again["outcome"] == "scrap"


def test_goods_reserved_in_the_returns_bin_meanwhile_block_the_inspection(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1},
                                          {"line_no": 2, "quantity": 1}])
    returns.approve(session, ret.id, "sam")
    return_goods.receive_goods(session, ret.id, [{"line_no": 1, "quantity": 1},
                                                 {"line_no": 2, "quantity": 1}], user="wendy")
    headsets = session.scalar(select(StockLevel).where(
        StockLevel.bin_id == ret.quarantine_bin_id,
        StockLevel.product_id == ret.lines[1].product_id))
    headsets.reserved = Decimal(1)  # another order's reservation took the returned headset
    session.flush()
    with pytest.raises(Invalid) as blocked:
        return_goods.inspect(session, ret.id, "scrap", user="wendy")
    assert fields_of(blocked) == ["outcome"]
    # the chairs, written off before the headset refused, are back as they were
    assert quarantine(session, ret).on_hand == 1
    assert session.scalar(select(StockLedger).where(StockLedger.kind == "adjustment")) is None
    assert session.get(ReturnRequest, ret.id).inspected_at is None


def test_a_receipt_that_does_not_match_names_the_lines(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    returns.approve(session, ret.id, "sam")
    with pytest.raises(Invalid) as bad:
        return_goods.receive_goods(session, ret.id, [
            {"line_no": 1, "quantity": 2}, {"line_no": 5, "quantity": 1}], user="wendy")
    assert fields_of(bad) == ["lines[0].quantity", "lines[1].line_no"]
    with pytest.raises(Invalid) as nothing:
        return_goods.receive_goods(session, ret.id, [{"line_no": 1, "quantity": 0}], user="w")
    assert fields_of(nothing) == ["lines"]
    with pytest.raises(Invalid) as where:
        return_goods.receive_goods(session, ret.id, [{"line_no": 1, "quantity": 1}], user="w",
                                   warehouse="NOPE")
    assert fields_of(where) == ["warehouse"]


def test_restock_to_a_named_bin_and_an_unknown_one(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    receive(session, ret, 1)
    with pytest.raises(Invalid) as unknown:
        return_goods.inspect(session, ret.id, "restock", user="w", warehouse="SH-MAIN",
                             bin="Z-99")
    assert fields_of(unknown) == ["bin"]
    with pytest.raises(Invalid):
        return_goods.inspect(session, ret.id, "sell on ebay", user="w")
    result = return_goods.inspect(session, ret.id, "restock", user="w", warehouse="SH-MAIN",
                                  bin="B-03")
    assert result == {"return_number": ret.number, "outcome": "restock", "credit_due": True,
                      "repair_order": None, "replacement_order": None}
    credited = return_goods.credit(session, ret.id, user="fran")
    assert credited["total"] == Decimal("1457.70")
    assert return_goods.credit(session, ret.id, user="fran") == credited  # once


def test_goods_the_customer_keeps_are_not_credited(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    receive(session, ret, 1)
    return_goods.inspect(session, ret.id, "repair", user="w")
    return_goods.complete_repair(session, ret.id, True, user="w")
    with pytest.raises(Conflict):
        return_goods.credit(session, ret.id, user="fran")


def test_cancellation_after_shipment_takes_back_what_is_in_transit(o2c, session, runtime):
    number = o2c.order("C-1001", [("FUR-CHAIR-ERG", 2)]).get_json()["number"]
    o2c.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    o2c.pick_and_pack(number)  # booked with the carrier, not delivered
    order = o2c.order_row(number)
    ctx = operators.UnitContext(session, None, number, "order_lifecycle", "shop")
    opened = operators.invoke("returns.open_for_cancellation", ctx,
                              {"order_id": order.id, "reason": "customer cancelled"})
    assert opened["opened"] is True
    ret = returns.get_return(session, opened["return_number"])
    assert (ret.origin, ret.reason, ret.requested_by) == ("cancellation", "customer cancelled",
                                                          "shop")
    assert [(ln.quantity, ln.order_line_id) for ln in ret.lines] == [
        (Decimal("2.000"), order.lines[0].id)]
    again = operators.invoke("returns.open_for_cancellation", ctx, {"order_id": order.id})
    assert again == opened
    command = session.scalar(select(EngineCommand).where(
        EngineCommand.key == f"start:return_request:{ret.number}"))
    assert command.payload["data"]["rma_id"] == ret.id
    session.commit()
    jobs.run_until_idle(runtime)
    task = session.scalar(select(HumanTask).where(HumanTask.business_key == ret.number))
    assert (task.node_id, task.excluded_users) == ("approve_return", ["shop"])
    assert "cancelled the order after it had shipped" in task.instructions


def test_nothing_shipped_opens_no_return(o2c, session):
    number = o2c.order("C-1001", [("FUR-CHAIR-ERG", 1)]).get_json()["number"]
    ret, created = returns.open_for_cancellation(session, o2c.order_row(number).id, "changed mind")
    assert (ret, created) == (None, False)


def test_status_is_derived_from_facts_and_waits(session, delivered):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    assert returns.derived_status(ret, ["approve_return"]) == "awaiting_approval"
    assert returns.derived_status(ret, []) == "requested"
    receive(session, ret, 1)
    assert returns.derived_status(ret, []) == "received"
    assert returns.derived_status(ret, ["survey_timeout", "survey_answered"]) == \
        "awaiting_feedback"
    returns.close(session, ret.id)
    assert returns.derived_status(ret, []) == "closed"


def test_a_survey_keeps_only_a_hash_and_is_answered_once(session, delivered, frozen_clock):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}],
                     contact_email="wang.li@hengtai.example.com")
    sent = surveys.send_survey(session, ret, link_base="https://orderflow.example.com/")
    assert surveys.send_survey(session, ret, link_base="x") == sent  # once per return
    mail = session.scalar(select(Outbox).where(Outbox.key == f"survey:{ret.number}"))
    assert mail.payload["to"] == ["wang.li@hengtai.example.com"]
    token = mail.payload["body"].split("https://orderflow.example.com/survey/")[1].split()[0]
    survey = session.get(CustomerSurvey, sent["survey_id"])
    assert survey.token_hash == surveys.token_hash(token) and token not in survey.token_hash
    assert surveys.survey_for_token(session, token).id == survey.id
    for bad in (0, 6, True, "x", 4.5):
        with pytest.raises(Invalid):
            surveys.record_answer(session, survey.id, bad)
    surveys.record_answer(session, survey.id, "4", "  fine  ")
    assert (survey.score, survey.comment, survey.status) == (4, "fine", "answered")
    with pytest.raises(surveys.SurveyClosed):
        surveys.record_answer(session, survey.id, 5)
    assert surveys.expire(session, survey.id) == {"status": "answered"}


def test_a_survey_past_its_date_refuses_an_answer(session, delivered, frozen_clock):
    ret, _ = request(session, delivered, [{"line_no": 1, "quantity": 1}])
    sent = surveys.send_survey(session, ret, link_base="http://x")
    clock.travel(timedelta(days=surveys.ANSWER_DAYS, seconds=1))
    with pytest.raises(surveys.SurveyClosed):
        surveys.record_answer(session, sent["survey_id"], 5)
    assert surveys.expire(session, sent["survey_id"]) == {"status": "expired"}


def test_satisfaction_per_month(session, delivered, frozen_clock):
    scores = []
    for qty, score in ((1, 5), (1, 3)):
        ret, _ = request(session, delivered, [{"line_no": 1, "quantity": qty}])
        sent = surveys.send_survey(session, ret, link_base="http://x")
        scores.append(surveys.record_answer(session, sent["survey_id"], score))
        clock.travel(timedelta(days=31))
    figures = surveys.satisfaction_by_month(session, date(2026, 3, 1), date(2026, 4, 30))
    assert figures == {"value": Decimal("4.00"), "count": 2, "months": [
        {"month": "2026-03", "average": Decimal("5.00"), "count": 1},
        {"month": "2026-04", "average": Decimal("3.00"), "count": 1}]}
    kpi = kpis.compute(session, kpis.period(date(2026, 3, 1), date(2026, 4, 30)))
    assert kpi["customer_satisfaction"]["value"] == Decimal("4.00")
    assert kpi["customer_satisfaction"]["note"] == "average score (1-5) of 2 answered surveys"
    rows = kpis.csv_rows(kpi)
    assert ["customer_satisfaction", "", "", "4.00", "score"] in rows
    assert ["customer_satisfaction", "", "2026-04", "3.00", "score"] in rows
    march = kpis.compute(session, kpis.period(date(2026, 3, 1), date(2026, 3, 31)))
    assert march["customer_satisfaction"]["count"] == 1


def test_batch_goods_come_back_into_their_batch(o2c, session):
    number = o2c.deliver("C-1001", [("CON-TONER-K", 2)])
    order = o2c.order_row(number)
    [shipped_batch] = {ln["batch"] for ln in o2c.get(number)["shipments"][0]["lines"]}
    ret, _ = request(session, order, [{"line_no": 1, "quantity": 1}])
    receive(session, ret, 1)  # no batch given: the one shipped on the line
    return_goods.inspect(session, ret.id, "restock", user="wendy")
    rows = return_views.return_ledger(session, session.get(ReturnRequest, ret.id))
    assert [(r["kind"], r["batch"], r["quantity"]) for r in rows] == [
        ("return", shipped_batch, 1), ("transfer", shipped_batch, -1),
        ("transfer", shipped_batch, 1)]
    expiries = set(session.scalars(select(StockLedger.expiry).where(
        StockLedger.doc_type == "return", StockLedger.batch == shipped_batch)))
    assert len(expiries) == 1 and None not in expiries  # the batch keeps its expiry
