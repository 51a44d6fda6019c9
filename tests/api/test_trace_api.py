"""GET /api/stock/trace: a serial from receipt to delivery and a batch's recall list, driven
through real orders of the demo company (the o2c driver)."""
NEW_LAPTOP = "CN-LT14-20001"


def trace(o2c, user="otto", **query):
    return o2c.call(user, "get", "/api/stock/trace", query_string=query)


def place_and_ship(o2c, customer, lines, approver="sam", deliver=True):
    response = o2c.order(customer, lines)
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["number"]
    node = "approve_manager" if approver == "gina" else "approve_supervisor"
    assert o2c.complete(approver, number, node, {"decision": "approve"}).status_code == 200
    assert o2c.pick_and_pack(number).status_code == 200
    order = o2c.get(number)
    [shipment] = order["shipments"]
    if deliver:
        assert o2c.message("shipment_delivered", number,
                           {"tracking_number": shipment["tracking_number"]}).status_code == 200
    return number, shipment


def test_a_serial_is_traced_from_its_receipt_to_the_customer(o2c):
    # a laptop arrives from the supplier in Beijing (the first warehouse the reservation uses)
    receipt = o2c.call("wendy", "post", "/api/stock/receipts", json={
        "sku": "ELE-LAP-14", "warehouse": "BJ-NORTH", "bin": "01", "quantity": "1",
        "serials": [NEW_LAPTOP], "reference": "DN-HX-7781"})
    assert receipt.status_code == 201, receipt.get_json()
    before = trace(o2c, serial=NEW_LAPTOP).get_json()
    assert before["summary"]["status"] == "in_stock"
    assert (before["summary"]["warehouse"], before["summary"]["bin"]) == ("BJ-NORTH", "01")

    order, shipment = place_and_ship(o2c, "C-1001", [("ELE-LAP-14", 1)], approver="gina")
    assert shipment["lines"][0]["serials"] == [NEW_LAPTOP]

    response = trace(o2c, serial=NEW_LAPTOP)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["product"]["sku"] == "ELE-LAP-14" and result["product"]["tracking"] == "serial"
    events = result["events"]
    assert [e["event"] for e in events] == [
        "received", "reserved", "picked", "shipped", "delivered"]
    received, reserved, picked, shipped, delivered = events
    assert (received["warehouse"], received["bin"], received["quantity"], received["user"]) == (
        "BJ-NORTH", "01", "1.000", "wendy")
    assert received["document"] == {"type": "receipt", "id": "DN-HX-7781"}
    assert received["supplier"]["code"] == "SUP-HUAXIN"
    assert received["supplier_source"] == "product default supplier"
    assert reserved["document"]["order"] == order and reserved["document"]["order_line"] == 1
    assert picked["document"]["shipment"] == shipment["number"]
    assert picked["document"]["customer"]["code"] == "C-1001"
    assert (picked["quantity"], picked["user"]) == ("-1.000", "wendy")
    assert shipped["document"]["tracking_number"] == shipment["tracking_number"]
    assert shipped["document"]["carrier"] == shipment["carrier"]
    assert delivered["document"]["status"] == "delivered"
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    summary = result["summary"]
    assert summary["status"] == "delivered"
    assert (summary["customer"]["code"], summary["order"], summary["shipment"]) == (
        "C-1001", order, shipment["number"])
    assert summary["tracking_number"] == shipment["tracking_number"]
    assert summary["delivered_at"] == delivered["at"]


def test_a_batch_recall_list_names_every_customer_that_got_it(o2c):
    # FEFO: both orders are picked from the older toner batch TK-A-0312 (12 received)
    first, ship1 = place_and_ship(o2c, "C-1001", [("CON-TONER-K", 5)])
    second, ship2 = place_and_ship(o2c, "C-1003", [("CON-TONER-K", 4)], deliver=False)
    assert {ln["batch"] for s in (ship1, ship2) for ln in s["lines"]} == {"TK-A-0312"}

    result = trace(o2c, batch="TK-A-0312").get_json()
    summary = result["summary"]
    assert (summary["received"], summary["shipped"], summary["on_hand"]) == (
        "12.000", "9.000", "3.000")
    assert summary["on_hand_by_bin"] == [{"warehouse": "SH-MAIN", "bin": "A-03",
                                          "quantity": "3.000"}]
    recall = {c["customer"]: c for c in summary["customers"]}
    assert sorted(recall) == ["C-1001", "C-1003"]
    assert (recall["C-1001"]["shipped"], recall["C-1003"]["shipped"]) == ("5.000", "4.000")
    assert recall["C-1001"]["email"] == "purchasing@hengtai.example.com"
    assert recall["C-1003"]["contact"] == "Mr. Sun Lei"  # the ship-to contact
    [s1] = recall["C-1001"]["shipments"]
    assert (s1["order"], s1["shipment"], s1["tracking_number"]) == (
        first, ship1["number"], ship1["tracking_number"])
    assert s1["delivered_at"] is not None
    [s2] = recall["C-1003"]["shipments"]
    assert (s2["order"], s2["delivered_at"]) == (second, None)
    kinds = [e["event"] for e in result["events"]]
    assert kinds[0] == "received" and kinds.count("picked") == 2
    assert kinds.count("delivered") == 1
    # the younger batch went nowhere
    other = trace(o2c, batch="TK-A-0418").get_json()["summary"]
    assert other["customers"] == [] and other["on_hand"] == "40.000"


def test_unknown_serial_or_batch_is_404_and_the_query_must_name_one(o2c):
    unknown = trace(o2c, serial="NO-SUCH-SERIAL")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"] == "not_found"
    assert trace(o2c, batch="NO-SUCH-BATCH").status_code == 404
    assert trace(o2c, serial="CN-LT14-10001", sku="ELE-MON-27").status_code == 404
    neither = trace(o2c)
    assert neither.status_code == 422 and neither.get_json()["error"] == "validation_error"
    both = trace(o2c, serial="CN-LT14-10001", batch="TK-A-0312")
    assert both.status_code == 422
    assert trace(o2c, serial="CN-LT14-10001", sku="ELE-LAP-14").status_code == 200
    assert o2c.client.get("/api/stock/trace?serial=CN-LT14-10001").status_code == 401
