"""Cycle counts through the HTTP API and processes/cycle_count.bpmn: blind counts per bin, a
recount by someone else, the process owner's approval, adjustments in the stock ledger."""
from decimal import Decimal

from sqlalchemy import select

from app.models.engine import HumanTask
from app.models.inventory import StockLedger
from tests.web.helpers import login

# what a counter must never be shown, anywhere in a count task (data, form, instructions)
BOOK_KEYS = {"expected_qty", "expected_serials", "book_qty", "book_serials", "moved_qty",
             "variance_qty", "variance_value", "on_hand", "missing_serials", "extra_serials"}
LAPTOPS = [f"CN-LT14-{n:05d}" for n in range(10001, 10009)]  # the demo's serials in A-02


def open_tasks(o2c, number, node_id) -> list[HumanTask]:
    o2c.session.expire_all()
    return list(o2c.session.scalars(select(HumanTask).where(
        HumanTask.business_key == number, HumanTask.node_id == node_id,
        HumanTask.state == "open").order_by(HumanTask.created_at, HumanTask.id)))


def task_for_bin(o2c, number, node_id, bin_code) -> dict:
    """The open (re)count task of one bin, as the counter's client reads it."""
    for task in open_tasks(o2c, number, node_id):
        detail = o2c.call("root", "get", f"/api/tasks/{task.id}").get_json()
        if detail["data"]["bin_code"] == bin_code:
            return detail
    raise AssertionError(f"no open {node_id} for bin {bin_code} of {number}")


def keys_in(value) -> set:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def assert_blind(task: dict):
    assert not keys_in(task["data"]) & BOOK_KEYS, keys_in(task["data"]) & BOOK_KEYS
    assert not keys_in(task["form_schema"]["properties"]) & BOOK_KEYS
    assert "expected" not in (task["instructions"] or "").lower()


def create(o2c, user="wendy", **body):
    response = o2c.call(user, "post", "/api/stock/cycle-counts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count_bin(o2c, number, bin_code, quantities: dict, user="wendy", node_id="count_bin",
              **extra):
    """Complete the bin's task with {sku: qty or [serials]} for the lines on its sheet."""
    task = task_for_bin(o2c, number, node_id, bin_code)
    assert_blind(task)
    counts = []
    for line in task["data"]["sheet"]["lines"]:
        got = quantities[line["sku"]]
        counts.append({"line_id": line["line_id"], "quantity": len(got), "serials": got}
                      if isinstance(got, list) else {"line_id": line["line_id"], "quantity": got})
    return o2c.call(user, "post", f"/api/tasks/{task['id']}/complete",
                    json={"data": {"counts": counts, **extra}})


def view(o2c, number, user="otto"):
    response = o2c.call(user, "get", f"/api/stock/cycle-counts/{number}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bin_stock(o2c, sku, warehouse, bin_code) -> str:
    for wh in o2c.stock(sku)["warehouses"]:
        for b in wh["bins"] if wh["warehouse"] == warehouse else []:
            if b["bin"] == bin_code:
                return b["on_hand"]
    return "0.000"


def test_exact_bin_and_a_difference_recounted_by_someone_else_then_approved(o2c, make_user):
    o2c.tokens["walt"] = make_user("walt", "warehouse")[1]
    count = create(o2c, warehouse="SH-MAIN", bins=["A-04", "A-02"])
    number = count["number"]
    assert number.startswith("CC-") and count["status"] == "counting"
    assert count["blind"] is True and {ln["expected_qty"] for ln in count["lines"]} == {None}
    assert [ln["bin"] for ln in count["lines"]] == ["A-04"] * 3 + ["A-02"] * 6
    # the process owner sees the frozen book quantities; counters do not
    frozen = {ln["sku"]: ln["expected_qty"] for ln in view(o2c, number)["lines"]}
    assert frozen["ELE-MON-27"] == "25.000" and frozen["SPR-GASLIFT"] == "30.000"
    assert view(o2c, number, user="wendy")["lines"][0]["expected_qty"] is None

    # A-04 is exactly as booked
    assert count_bin(o2c, number, "A-04", {"SPR-CASTER-50": 45, "SPR-GASLIFT": 30,
                                           "SPR-LAPBAT-14": 6}).status_code == 200
    # one monitor short (2,299 CNY, beyond the 500 CNY tolerance of the DMN table)
    assert count_bin(o2c, number, "A-02", {
        "ELE-DOCK-USBC": 40, "ELE-HEADSET": 60, "ELE-LAP-14": LAPTOPS, "ELE-MON-27": 24,
        "ELE-PRN-A3": 1, "ELE-PROJ-4K": 3}).status_code == 200
    lines = {ln["sku"]: ln for ln in view(o2c, number)["lines"]}
    assert {lines[s]["status"] for s in ("SPR-CASTER-50", "SPR-GASLIFT", "ELE-LAP-14")} == {
        "matched"}
    assert lines["ELE-MON-27"]["status"] == "recount"
    assert lines["ELE-MON-27"]["variance_qty"] == "-1.000"
    assert lines["ELE-MON-27"]["variance_value"] == "-2299.00"

    # the recount lists only the monitor, is blind too, and wendy (who counted) may not do it
    recount = task_for_bin(o2c, number, "recount_bin", "A-02")
    assert [ln["sku"] for ln in recount["data"]["sheet"]["lines"]] == ["ELE-MON-27"]
    assert_blind(recount)
    refused = count_bin(o2c, number, "A-02", {"ELE-MON-27": 24}, node_id="recount_bin")
    assert refused.status_code == 403 and "segregation" in refused.get_json()["message"]
    assert count_bin(o2c, number, "A-02", {"ELE-MON-27": 24}, user="walt",
                     node_id="recount_bin").status_code == 200
    assert bin_stock(o2c, "ELE-MON-27", "SH-MAIN", "A-02") == "25.000"  # not posted yet

    # still one short: the process owner approves; nobody who counted may
    [approval] = open_tasks(o2c, number, "approve_variances")
    assert approval.candidate_groups == ["process_owner"]
    assert sorted(approval.excluded_users) == ["walt", "wendy"]
    assert "ELE-MON-27" in approval.instructions
    assert view(o2c, number)["status"] == "approval"
    done = o2c.call("otto", "post", f"/api/tasks/{approval.id}/complete",
                    json={"data": {"decision": "approve"}})
    assert done.status_code == 200, done.get_json()

    final = view(o2c, number)
    assert final["status"] == "completed" and final["decision"] == "approve"
    assert final["decided_by"] == "otto"
    monitor = next(ln for ln in final["lines"] if ln["sku"] == "ELE-MON-27")
    assert (monitor["status"], monitor["counted_by"], monitor["recounted_by"]) == (
        "posted", "wendy", "walt")
    [adjustment] = monitor["adjustments"]
    assert adjustment["quantity"] == "-1.000" and adjustment["reason"] == f"cycle count {number}"
    row = o2c.session.get(StockLedger, adjustment["ledger_id"])
    assert (row.kind, row.doc_type, row.note, row.created_by) == (
        "adjustment", "adjustment", f"cycle count {number}", "otto")
    assert bin_stock(o2c, "ELE-MON-27", "SH-MAIN", "A-02") == "24.000"
    assert final["summary"] == {"matched": 8, "posted": 1}
    assert o2c.session.get(HumanTask, approval.id).state == "completed"


def test_a_difference_within_tolerance_is_posted_at_once(o2c):
    number = create(o2c, warehouse="SH-MAIN", bins=["A-03"], skus=["CON-PEN-GEL"])["number"]
    # two boxes of pens short: 2 units and 48 CNY, within the tolerance
    assert count_bin(o2c, number, "A-03", {"CON-PEN-GEL": 198}).status_code == 200
    assert open_tasks(o2c, number, "recount_bin") == []
    assert open_tasks(o2c, number, "approve_variances") == []
    final = view(o2c, number)
    [line] = final["lines"]
    assert final["status"] == "completed" and final["decision"] is None
    assert (line["status"], line["within_tolerance"], line["variance_qty"]) == (
        "posted", True, "-2.000")
    assert [a["quantity"] for a in line["adjustments"]] == ["-2.000"]
    assert bin_stock(o2c, "CON-PEN-GEL", "SH-MAIN", "A-03") == "198.000"
    assert final["tolerance"] == {"qty": "2", "percent": "2", "value": "500",
                                  "price_list": "STANDARD"}


def test_stock_picked_during_the_count_is_not_a_difference(o2c):
    number = create(o2c, warehouse="SH-MAIN", bins=["A-01"], skus=["FUR-CAB-3D"])["number"]
    # after the freeze, an order takes 2 of the 8 filing cabinets out of A-01
    order = o2c.order("C-1001", [("FUR-CAB-3D", 2)]).get_json()["number"]
    assert o2c.complete("sam", order, "approve_supervisor",
                        {"decision": "approve"}).status_code == 200
    assert o2c.pick_and_pack(order).status_code == 200
    assert bin_stock(o2c, "FUR-CAB-3D", "SH-MAIN", "A-01") == "6.000"

    assert count_bin(o2c, number, "A-01", {"FUR-CAB-3D": 6}).status_code == 200
    [line] = view(o2c, number)["lines"]
    assert (line["expected_qty"], line["moved_qty"], line["book_qty"]) == (
        "8.000", "-2.000", "6.000")
    assert (line["variance_qty"], line["status"], line["adjustments"]) == ("0.000", "matched", [])


def test_a_count_that_does_not_match_the_sheet_goes_back_to_the_counter(o2c):
    number = create(o2c, warehouse="SH-MAIN", bins=["A-04"])["number"]
    task = task_for_bin(o2c, number, "count_bin", "A-04")
    first = task["data"]["sheet"]["lines"][0]["line_id"]
    response = o2c.call("wendy", "post", f"/api/tasks/{task['id']}/complete",
                        json={"data": {"counts": [{"line_id": first, "quantity": 45}]}})
    assert response.status_code == 200
    again = task_for_bin(o2c, number, "count_bin", "A-04")
    assert again["id"] != task["id"]
    assert "does not match the count sheet" in again["instructions"]
    assert "SPR-GASLIFT" in again["instructions"]  # named as not counted
    assert {ln["status"] for ln in view(o2c, number)["lines"]} == {"open"}


def test_a_second_count_of_the_same_bins_is_refused_while_one_is_open(o2c):
    first = create(o2c, warehouse="SH-MAIN", bins=["A-04"])
    again = o2c.call("wendy", "post", "/api/stock/cycle-counts",
                     json={"warehouse": "SH-MAIN", "bins": ["A-04", "A-05"]})
    assert again.status_code == 409
    # the process owner calls the first count off: its bins can be counted again
    assert o2c.call("otto", "post", f"/api/process-instances/{first['process_instance_id']}"
                    "/terminate", json={"reason": "wrong day"}).status_code == 200
    create(o2c, warehouse="SH-MAIN", bins=["A-04", "A-05"])
    assert o2c.call("alice", "post", "/api/stock/cycle-counts",
                    json={"warehouse": "SH-MAIN"}).status_code == 403
    unknown = o2c.call("wendy", "post", "/api/stock/cycle-counts",
                       json={"warehouse": "SH-MAIN", "bins": ["Z-99"]})
    assert unknown.status_code == 422 and unknown.get_json()["details"][0]["field"] == "bins[0]"
    assert o2c.call("otto", "get", "/api/stock/cycle-counts/CC-0").status_code == 404


def test_the_quantity_limit_of_the_dmn_table_is_a_percentage_of_the_book(o2c):
    # 10 reams of paper short in B-01 (400 booked): only 268 CNY, but 2.5 % > 2 % -> recount
    number = create(o2c, warehouse="SH-MAIN", bins=["B-01"], skus=["CON-PAPER-A4"])["number"]
    assert count_bin(o2c, number, "B-01", {"CON-PAPER-A4": 390}).status_code == 200
    [line] = view(o2c, number)["lines"]
    assert (line["status"], Decimal(line["variance_value"])) == ("recount", Decimal("-268.00"))


def test_the_count_task_page_shows_the_sheet_and_no_quantity(o2c, make_user, client):
    make_user("cora", "warehouse", password="pw")
    number = create(o2c, warehouse="SH-MAIN", bins=["A-04"])["number"]
    task = task_for_bin(o2c, number, "count_bin", "A-04")
    assert login(client, "cora").status_code == 302
    page = client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SPR-GASLIFT" in html and "Count bin A-04" in html
    assert "30.000" not in html and "45.000" not in html and "expected" not in html.lower()


def test_no_count_is_made_while_the_process_is_not_deployed(session, client, make_user):
    from app.domain import demo_data
    from app.models.counting import CycleCount
    from tests.conftest import auth

    demo_data.seed(session)
    session.commit()
    token = make_user("wendy", "warehouse")[1]
    response = client.post("/api/stock/cycle-counts", headers=auth(token),
                           json={"warehouse": "SH-MAIN", "bins": ["A-04"]})
    assert response.status_code == 404 and "cycle_count" in response.get_json()["message"]
    assert session.scalars(select(CycleCount)).all() == []
