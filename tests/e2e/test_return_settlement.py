"""What a return does to its order: a credit note that settles the invoice closes the order
(the return tells the order's process, as a payment would), and a replacement order, billed at
zero, ships and closes without waiting for money."""
from decimal import Decimal

from app.engine import jobs


def created(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ok(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_fully_credited_order_closes_without_a_payment(o2c, runtime):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    assert o2c.get(number)["status"] == "awaiting_payment"
    rma = created(o2c.request_return(number, [(1, 2)], reason="arrived broken"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 2}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "scrap"}))
    assert Decimal(o2c.get(number)["invoices"][0]["outstanding"]) == 0
    assert o2c.get(number)["status"] == "awaiting_payment"  # told after the return's commit
    jobs.run_until_idle(runtime)
    order = o2c.get(number)
    assert order["status"] == "completed" and order["process"]["status"] == "completed"
    [listed] = order["returns"]
    assert (listed["number"], listed["stage"], listed["outcome"]) == (rma, "credited", "scrap")
    assert [inv["kind"] for inv in order["invoices"]] == ["invoice", "credit_note"]


def test_the_order_page_lists_its_returns(o2c, client, make_user):
    import re

    make_user("olga", "sales", password="pw")
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 1)], reason="wrong colour"))["number"]
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "olga", "password": "pw",
                                       "csrf_token": csrf}).status_code == 302
    html = client.get(f"/orders/{number}").get_data(as_text=True)
    assert 'data-testid="returns"' in html and rma in html and "wrong colour" in html


def test_a_partly_credited_order_still_waits_for_the_rest(o2c, runtime):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 1)], reason="one too many"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "restock"}))
    jobs.run_until_idle(runtime)
    order = o2c.get(number)
    assert order["status"] == "awaiting_payment"
    assert Decimal(order["invoices"][0]["outstanding"]) == Decimal("1457.70")


def test_a_replacement_order_ships_and_closes_at_zero(o2c, runtime):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = created(o2c.request_return(number, [(1, 1)], reason="armrest cracked"))["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 1}])
    ok(o2c.complete("wendy", rma, "inspect_return", {"outcome": "replacement"}))
    jobs.run_until_idle(runtime)
    replacement = o2c.get_return(rma)["replacement_order"]
    order = o2c.get(replacement)
    assert order["process"] is not None  # the process linked itself to its order
    ok(o2c.complete("sam", replacement, "approve_supervisor", {"decision": "approve"}))
    assert o2c.pick_and_pack(replacement).status_code == 200
    [shipment] = o2c.get(replacement)["shipments"]
    assert o2c.message("shipment_delivered", replacement,
                       {"tracking_number": shipment["tracking_number"]}).status_code == 200
    order = o2c.get(replacement)
    assert [inv["total"] for inv in order["invoices"]] == ["0.00"]
    assert order["status"] == "completed"  # nothing to pay: no wait for a payment
