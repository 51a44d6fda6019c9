"""GET /api/orders?status=: the derived status as a filter, paged in SQL, equal to what each
order shows."""

LINES = [("FUR-TABLE-MTG", 3), ("FUR-CHAIR-ERG", 2)]  # 2 tables on hand


def listed(o2c, *statuses):
    query = "&".join(f"status={s}" for s in statuses)
    response = o2c.call("alice", "get", f"/api/orders?{query}")
    assert response.status_code == 200, response.get_json()
    return sorted(o["number"] for o in response.get_json()["items"])


def test_each_status_lists_exactly_the_orders_that_show_it(o2c):
    approving = o2c.order("C-1001", [("FUR-CHAIR-ERG", 1)]).get_json()["number"]
    held = o2c.order("C-1004", [("FUR-DESK-1400", 3)]).get_json()["number"]  # over the limit
    short = o2c.order("C-1001", [("FUR-TABLE-MTG", 3)]).get_json()["number"]
    o2c.approve(short)
    backordered = o2c.order("C-1003", LINES).get_json()["number"]
    o2c.approve(backordered)
    o2c.deliver_current_shipment(backordered)
    cancelled = o2c.order("C-1001", [("FUR-CHAIR-ERG", 1)]).get_json()["number"]
    o2c.message("order_cancelled", cancelled, {"reason": "test"})

    numbers = [approving, held, short, backordered, cancelled]
    shown = {n: o2c.get(n)["status"] for n in numbers}
    assert shown == {approving: "awaiting_approval", held: "credit_hold",
                     short: "awaiting_stock", backordered: "backordered",
                     cancelled: "cancelled"}
    for number, status in shown.items():
        assert listed(o2c, status) == [number], status
    assert listed(o2c, "credit_hold", "cancelled") == sorted([held, cancelled])
    assert listed(o2c, "completed") == []
    bad = o2c.call("alice", "get", "/api/orders?status=whatever")
    assert bad.status_code == 422 and "status" in str(bad.get_json()["details"])
