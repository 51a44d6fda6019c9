"""Returns end to end through the API and the real processes: request → approval → receipt →
inspection → credit note → satisfaction survey; timers by moving the clock."""
import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.engine import clock, jobs
from app.models.engine import EngineCommand, ProcessInstance
from app.models.finance import JournalEntry
from app.models.returns import ReturnRequest
from app.models.sales import SalesOrder
from app.models.shipping import Outbox

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"/survey/([A-Za-z0-9_-]+)")


def created(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ok(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def available(o2c, sku):
    return Decimal(o2c.stock(sku)["totals"]["available"])


def bin_on_hand(o2c, sku, warehouse, bin_code):
    for wh in o2c.stock(sku)["warehouses"]:
        for b in wh["bins"]:
            if (wh["warehouse"], b["bin"]) == (warehouse, bin_code):
                return Decimal(b["on_hand"]), Decimal(b["reserved"])
    return Decimal(0), Decimal(0)


def survey_token(o2c, rma):
    o2c.session.expire_all()
    mail = o2c.session.scalar(select(Outbox).where(Outbox.key == f"survey:{rma}"))
    assert mail is not None, "no survey e-mail queued"
    return mail, LINK.search(mail.payload["body"]).group(1)


def answer_survey(client, token, score, comment=""):
    page = client.get(f"/survey/{token}")
    if page.status_code != 200:
        return page
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post(f"/survey/{token}", data={"score": str(score), "comment": comment,
                                                 "csrf_token": csrf})


def test_restock_return_credits_the_invoice_and_records_the_survey(o2c, client, frozen_clock):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    order = o2c.get(number)
    [invoice] = order["invoices"]
    assert invoice["total"] == "2915.40"
    picked = order["shipments"][0]["lines"][0]  # restocked to where it was picked from
    warehouse, shelf = picked["warehouse"], picked["bin"]
    before = available(o2c, "FUR-CHAIR-ERG")
    shelf_before = bin_on_hand(o2c, "FUR-CHAIR-ERG", warehouse, shelf)

    ret = created(o2c.request_return(number, [(1, 1)], reason="the colour does not match",
                                     external_ref="CUST-RMA-1"))
    rma = ret["number"]
    assert rma.startswith("RMA-") and ret["status"] == "awaiting_approval"
    assert ret["lines"][0]["sku"] == "FUR-CHAIR-ERG" and ret["lines"][0]["quantity"] == "1.000"
    assert o2c.task(rma, "approve_return").candidate_groups == ["sales_supervisor"]
    replay = o2c.request_return(number, [(1, 1)], external_ref="CUST-RMA-1")
    assert replay.status_code == 200 and replay.get_json()["number"] == rma

    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ret = o2c.get_return(rma)
    assert ret["status"] == "awaiting_inspection" and ret["approved_by"] == "sam"
    [receipt] = ret["receipts"]
    assert (receipt["kind"], receipt["bin"], receipt["quantity"]) == ("return", "RETURNS", "1.000")
    assert bin_on_hand(o2c, "FUR-CHAIR-ERG", warehouse, "RETURNS") == (1, 0)
    assert sorted(o2c.task(rma, "inspect_return").candidate_groups) == ["quality", "warehouse"]

    ok(o2c.complete("wendy", rma, "inspect_return",
                    {"outcome": "restock", "inspection_note": "unused, original packaging"}))
    ret = o2c.get_return(rma)
    assert ret["outcome"] == "restock" and ret["status"] == "awaiting_feedback"
    assert available(o2c, "FUR-CHAIR-ERG") == before + 1
    assert bin_on_hand(o2c, "FUR-CHAIR-ERG", warehouse, shelf)[0] == shelf_before[0] + 1
    assert bin_on_hand(o2c, "FUR-CHAIR-ERG", warehouse, "RETURNS") == (0, 0)
    assert [(r["kind"], r["bin"], r["quantity"]) for r in ret["receipts"]] == [
        ("return", "RETURNS", "1.000"), ("transfer", "RETURNS", "-1.000"),
        ("transfer", shelf, "1.000")]

    [note_ref] = ret["credit_notes"]
    assert note_ref["invoice"] == invoice["number"]
    note = ok(o2c.call("fran", "get", f"/api/credit-notes/{note_ref['number']}"))
    assert note["number"].startswith("CN-") and note["return_number"] == rma
    assert (note["net_total"], note["tax_total"], note["total"]) == ("1290.00", "167.70", "1457.70")
    assert [(ln["line_no"], ln["quantity"], ln["unit_price"]) for ln in note["lines"]] == [
        (1, "1.000", "1290.0000")]
    assert o2c.get(number)["invoices"][0]["outstanding"] == "1457.70"
    entries = o2c.session.scalars(select(JournalEntry).where(
        JournalEntry.doc_type == "credit_note")).all()
    assert [(ln.account, ln.debit, ln.credit) for ln in entries[0].lines] == [
        ("revenue", Decimal("1290.00"), 0), ("tax_payable", Decimal("167.70"), 0),
        ("accounts_receivable", 0, Decimal("1457.70"))]

    mail, token = survey_token(o2c, rma)
    assert mail.payload["to"] == ["purchasing@hengtai.example.com"]
    assert rma in mail.payload["subject"] and len(token) >= 40
    thanks = answer_survey(client, token, 5, "quick and friendly")
    assert thanks.status_code == 200 and "was recorded" in thanks.get_data(as_text=True)
    ret = o2c.get_return(rma)
    assert ret["survey"]["status"] == "answered" and ret["survey"]["score"] == 5
    assert ret["survey"]["comment"] == "quick and friendly"
    assert ret["status"] == "closed" and ret["process"]["status"] == "completed"
    assert answer_survey(client, token, 1).status_code == 410  # single use
    kpi = o2c.call("otto", "get", "/api/kpis").get_json()["customer_satisfaction"]
    assert (kpi["value"], kpi["count"]) == ("5.00", 1)
    assert [(m["average"], m["count"]) for m in kpi["months"]] == [("5.00", 1)]

    # the rest of the invoice can still be credited by hand, but never more than was billed
    too_much = o2c.call("fran", "post", "/api/credit-notes", json={
        "invoice": invoice["number"], "reason": "goodwill", "lines": [
            {"line_no": 1, "quantity": "2"}]})
    assert too_much.status_code == 409
    assert too_much.get_json()["details"][0]["field"] == "lines[0].quantity"
    assert "at most 1 can be credited" in too_much.get_json()["details"][0]["message"]
    rest = created(o2c.call("fran", "post", "/api/credit-notes", json={
        "invoice": invoice["number"], "reason": "goodwill", "lines": [
            {"line_no": 1, "quantity": "1"}]}))
    assert rest["total"] == "1457.70"
    again = o2c.call("fran", "post", "/api/credit-notes", json={
        "invoice": invoice["number"], "reason": "goodwill", "lines": [
            {"line_no": 1, "quantity": "1"}]})
    assert again.status_code == 409
    order = o2c.get(number)
    assert Decimal(order["invoices"][0]["outstanding"]) == 0


def test_paying_what_is_left_after_a_credit_note_completes_the_order(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 1)]))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "restock"}))
    invoice = o2c.get(number)["invoices"][0]["number"]
    paid = created(o2c.call("fran", "post", "/api/payments", json={
        "external_id": "BANK-R1", "amount": "1457.70", "currency": "CNY", "reference": invoice}))
    assert paid["unallocated"] == "0.00"
    assert o2c.get(number)["status"] == "completed"


def test_more_than_delivered_is_refused_and_nothing_is_stored(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    response = o2c.request_return(number, [(1, 3), (2, 1)])
    assert response.status_code == 422
    fields = {p["field"]: p["message"] for p in response.get_json()["details"]}
    assert "at most 2 can be returned" in fields["lines[0].quantity"]
    assert "lines[1].line_no" in fields
    unknown = o2c.request_return("SO-NOPE", [(1, 1)])
    assert unknown.status_code == 422 and unknown.get_json()["details"][0]["field"] == "order"
    first = created(o2c.request_return(number, [(1, 2)]))
    claimed = o2c.request_return(number, [(1, 1)])  # the first request claims both
    assert claimed.status_code == 422
    assert "at most 0 can be returned" in claimed.get_json()["details"][0]["message"]
    assert o2c.session.scalar(select(func.count()).select_from(ReturnRequest)) == 1
    assert o2c.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_id == "return_request")) == 1
    assert first["status"] == "awaiting_approval"


def test_idempotency_key_replays_the_same_return(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    key = {"Idempotency-Key": "shop-rma-77"}
    first = o2c.request_return(number, [(1, 1)], headers=key)
    again = o2c.request_return(number, [(1, 1)], headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["number"] == again.get_json()["number"]
    assert o2c.session.scalar(select(func.count()).select_from(ReturnRequest)) == 1


def test_the_requester_cannot_approve_their_own_return(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)], user="sam"))["number"]
    response = o2c.complete("sam", rma, "approve_return", {"decision": "approve"})
    assert response.status_code == 403
    assert "segregation" in response.get_json()["message"]
    assert o2c.complete("wendy", rma, "approve_return",
                        {"decision": "approve"}).status_code == 403  # not a supervisor
    assert o2c.get_return(rma)["status"] == "awaiting_approval"


def test_rejected_return_ends_and_frees_the_quantity(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)]))["number"]
    assert o2c.complete("sam", rma, "approve_return",
                        {"decision": "reject"}).status_code == 422  # a reason is required
    ok(o2c.complete("sam", rma, "approve_return",
                    {"decision": "reject", "decision_comment": "used for 3 months"}))
    ret = o2c.get_return(rma)
    assert ret["status"] == "rejected" and ret["decision_comment"] == "used for 3 months"
    assert ret["credit_notes"] == [] and ret["survey"] is None
    assert o2c.request_return(number, [(1, 1)]).status_code == 201


def test_serial_tracked_goods_come_back_by_serial(o2c):
    number = o2c.deliver("C-1001", [("ELE-LAP-14", 2)], approver="gina",
                         node="approve_manager")
    shipped = o2c.get(number)["shipments"][0]["lines"][0]["serials"]
    assert len(shipped) == 2
    wrong = o2c.request_return(number, [{"line_no": 1, "quantity": "1",
                                         "serials": ["CN-LT14-99999"]}])
    assert wrong.status_code == 422
    assert wrong.get_json()["details"][0]["field"] == "lines[0].serials"
    rma = created(o2c.request_return(number, [{"line_no": 1, "quantity": "1",
                                               "serials": [shipped[0]]}]))["number"]
    ok(o2c.complete("sam", rma, "approve_return", {"decision": "approve"}))
    mismatch = {"line_no": 1, "quantity": 1, "serials": [shipped[1]]}
    ok(o2c.complete("wendy", rma, "receive_return", {"received_lines": [mismatch]}))
    task = o2c.task(rma, "receive_return")  # back to the warehouse: not the serial expected
    assert task is not None and "not expected on this return" in task.instructions
    ok(o2c.complete("wendy", rma, "receive_return", {"received_lines": [
        {"line_no": 1, "quantity": 1, "serials": [shipped[0]]}]}))
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "restock"}))
    ret = o2c.get_return(rma)
    assert [(r["serial"], r["bin"], r["quantity"]) for r in ret["receipts"]] == [
        (shipped[0], "RETURNS", "1.000"), (shipped[0], "RETURNS", "-1.000"),
        (shipped[0], "A-02", "1.000")]
    assert ret["lines"][0]["received_serials"] == [shipped[0]]
    ledger = ok(o2c.call("wendy", "get", "/api/stock/ledger",
                         query_string={"sku": "ELE-LAP-14", "limit": 200}))
    on_hand = {}
    for row in ledger if isinstance(ledger, list) else ledger["items"]:
        on_hand[(row["serial"], row["bin"])] = on_hand.get((row["serial"], row["bin"]), 0) + \
            Decimal(row["quantity"])
    assert on_hand[(shipped[0], "A-02")] == 1 and on_hand[(shipped[1], "A-02")] == 0
    [note] = ret["credit_notes"]
    assert note["total"] == "9038.87"  # 7999 + 13 % VAT
    again = o2c.request_return(number, [{"line_no": 1, "quantity": "1",
                                         "serials": [shipped[0]]}])
    assert again.status_code == 422  # that serial came back already


def test_scrapped_goods_are_written_off_and_credited(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    before = available(o2c, "FUR-CHAIR-ERG")
    rma = created(o2c.request_return(number, [(1, 2)], reason="arrived broken"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 2}])
    ok(o2c.complete("wendy", rma, "inspect_return",
                    {"outcome": "scrap", "inspection_note": "frame bent"}))
    ret = o2c.get_return(rma)
    assert [(r["kind"], r["bin"], r["quantity"]) for r in ret["receipts"]] == [
        ("return", "RETURNS", "2.000"), ("adjustment", "RETURNS", "-2.000")]
    assert "written off" in ret["receipts"][1]["note"]
    assert available(o2c, "FUR-CHAIR-ERG") == before
    warehouse = o2c.get(number)["shipments"][0]["lines"][0]["warehouse"]
    assert bin_on_hand(o2c, "FUR-CHAIR-ERG", warehouse, "RETURNS") == (0, 0)
    [note] = ret["credit_notes"]
    assert note["total"] == "2915.40"
    assert Decimal(o2c.get(number)["invoices"][0]["outstanding"]) == 0


def test_an_unanswered_survey_closes_after_14_days(o2c, client, runtime, frozen_clock):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)]))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "restock"}))
    _, token = survey_token(o2c, rma)
    survey = o2c.get_return(rma)["survey"]
    assert survey["expires_at"].startswith((frozen_clock + timedelta(days=14)).date().isoformat())
    clock.travel(timedelta(days=13))
    jobs.run_until_idle(runtime)
    assert o2c.get_return(rma)["status"] == "awaiting_feedback"
    clock.travel(timedelta(days=1, minutes=1))
    jobs.run_until_idle(runtime)
    ret = o2c.get_return(rma)
    assert ret["survey"]["status"] == "expired" and ret["survey"]["score"] is None
    assert ret["status"] == "closed"
    late = answer_survey(client, token, 4)
    assert late.status_code == 410 and "closed" in late.get_data(as_text=True)
    assert client.get("/survey/not-a-token").status_code == 404


def test_survey_score_is_validated(o2c, client):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)]))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "scrap"}))
    _, token = survey_token(o2c, rma)
    assert answer_survey(client, token, 9).status_code == 422
    assert answer_survey(client, token, "five").status_code == 422
    assert o2c.get_return(rma)["survey"]["status"] == "sent"
    assert answer_survey(client, token, 3).status_code == 200
    assert o2c.get_return(rma)["survey"]["score"] == 3


def test_repaired_goods_go_back_to_the_customer_without_credit(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)], reason="gas lift sinks"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "repair"}))
    ret = o2c.get_return(rma)
    assert ret["status"] == "in_repair" and ret["repair_order"]["number"].startswith("RO-")
    ok(o2c.complete("wendy", rma, "repair_return",
                    {"repaired": True, "repair_note": "gas lift replaced"}))
    ret = o2c.get_return(rma)
    assert ret["repair_order"]["status"] == "repaired" and ret["credit_notes"] == []
    assert [(r["kind"], r["quantity"]) for r in ret["receipts"]] == [
        ("return", "1.000"), ("issue", "-1.000")]
    assert ret["status"] == "awaiting_feedback"


def test_goods_that_cannot_be_repaired_are_credited(o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = created(o2c.request_return(number, [(1, 1)]))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "repair"}))
    ok(o2c.complete("wendy", rma, "repair_return", {"repaired": False}))
    ret = o2c.get_return(rma)
    assert ret["repair_order"]["status"] == "not_repairable"
    assert [n["total"] for n in ret["credit_notes"]] == ["1457.70"]


def test_replacement_ships_a_free_order_through_the_order_lifecycle(o2c, runtime):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 1)], reason="armrest cracked"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "replacement"}))
    ret = o2c.get_return(rma)
    assert ret["credit_notes"] == [] and ret["replacement_order"].startswith("SO-")
    jobs.run_until_idle(runtime)  # the replacement order's lifecycle starts after the commit
    replacement = o2c.get(ret["replacement_order"])
    assert replacement["total"] == "0.00" and replacement["external_ref"] == rma
    assert replacement["lines"][0]["sku"] == "FUR-CHAIR-ERG"
    assert replacement["lines"][0]["quantity"] == "1.000"
    assert o2c.session.scalar(select(ProcessInstance.status).where(
        ProcessInstance.process_id == "order_lifecycle",
        ProcessInstance.business_key == replacement["number"])) == "waiting"
    assert o2c.session.scalar(select(EngineCommand.status).where(
        EngineCommand.key == f"start:order_lifecycle:{replacement['number']}")) == "done"
    assert o2c.session.scalar(select(func.count()).select_from(SalesOrder)) == 2


def test_the_warehouse_task_pages_render_the_return(o2c, client, make_user):
    make_user("wanda", "warehouse", password="pw")
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 2)], reason="too big"))["number"]
    ok(o2c.complete("sam", rma, "approve_return", {"decision": "approve"}))
    login = client.get("/login")
    csrf = CSRF.search(login.get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "wanda", "password": "pw",
                                       "csrf_token": csrf}).status_code == 302
    page = client.get(f"/tasks/{o2c.task(rma, 'receive_return').id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"Receive return {rma}" in html
    assert "FUR-CHAIR-ERG" in html and "Quantity received" in html
