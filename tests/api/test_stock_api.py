"""The stock API: availability, receipts, adjustments, the ledger; validation and permissions."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import inventory
from app.models.inventory import StockLedger
from tests.conftest import auth
from tests.domain.test_inventory import make_bin, make_order, make_product


@pytest.fixture
def tokens(make_user):
    return {"wendy": make_user("wendy", "warehouse")[1],
            "root": make_user("root", "admin")[1],
            "sam": make_user("sam", "sales")[1]}


@pytest.fixture
def stocked(session):
    product = make_product(session)
    make_bin(session, "WH1", "A-01")
    make_bin(session, "WH1", "A-02")
    session.commit()
    return product


def post(client, path, token, body):
    return client.post(f"/api/stock{path}", json=body, headers=auth(token))


RECEIPT = {"sku": "WIDGET", "warehouse": "WH1", "bin": "A-01", "quantity": "10"}


def test_a_receipt_books_stock_and_tells_which_orders_can_now_be_served(
        client, session, tokens, stocked):
    order = make_order(session, (stocked, 4))
    assert inventory.reserve_order(session, order.id)["complete"] is False
    session.commit()

    response = post(client, "/receipts", tokens["wendy"], dict(RECEIPT, reference="GRN-1"))
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["ledger_ids"]) == 1 and body["replayed"] is False
    assert body["levels"] == [{"warehouse": "WH1", "bin": "A-01", "on_hand": "10.000",
                               "reserved": "0.000", "available": "10.000"}]
    assert body["fulfilled_orders"] == [order.id]
    row = session.get(StockLedger, body["ledger_ids"][0])
    assert (row.doc_type, row.doc_id, row.created_by) == ("receipt", "GRN-1", "wendy")

    replay = post(client, "/receipts", tokens["wendy"], dict(RECEIPT, reference="GRN-1"))
    assert replay.status_code == 200 and replay.get_json()["ledger_ids"] == body["ledger_ids"]
    assert session.scalar(select(func.count()).select_from(StockLedger)) == 1

    available = client.get("/api/stock", query_string={"sku": "WIDGET"},
                           headers=auth(tokens["sam"]))
    assert available.status_code == 200
    assert available.get_json()["totals"] == {"on_hand": "10.000", "reserved": "0.000",
                                              "available": "10.000", "on_order": "0.000",
                                              "projected": "10.000"}


def test_serial_receipt_and_admin_may_book(client, session, tokens):
    make_product(session, "PHONE", tracking="serial")
    make_bin(session)
    session.commit()
    body = dict(RECEIPT, sku="PHONE", quantity=2)
    missing = post(client, "/receipts", tokens["root"], body)
    assert missing.status_code == 422
    assert missing.get_json()["details"][0]["field"] == "serials"
    ok = post(client, "/receipts", tokens["root"], dict(body, serials=["S1", "S2"]))
    assert ok.status_code == 201 and len(ok.get_json()["ledger_ids"]) == 2


def test_bad_bodies_are_422_with_every_field_named(client, tokens, stocked):
    response = post(client, "/receipts", tokens["wendy"],
                    {"quantity": -1, "serials": "S1", "expiry": "soon", "colour": "red"})
    assert response.status_code == 422
    assert set(response.get_json()["details"]) == {
        "sku", "warehouse", "bin", "quantity", "serials", "expiry", "colour"}
    for quantity in ("abc", "NaN", "1.2345", 0, "1e12"):
        bad = post(client, "/receipts", tokens["wendy"], dict(RECEIPT, quantity=quantity))
        assert bad.status_code == 422, quantity
        assert set(bad.get_json()["details"]) == {"quantity"}
    adjustment = post(client, "/adjustments", tokens["wendy"],
                      {"sku": "WIDGET", "warehouse": "WH1", "bin": "A-01",
                       "quantity_delta": 0})
    assert adjustment.status_code == 422
    assert set(adjustment.get_json()["details"]) == {"quantity_delta", "reason"}
    missing_sku = client.get("/api/stock", headers=auth(tokens["sam"]))
    assert missing_sku.status_code == 422 and set(missing_sku.get_json()["details"]) == {"sku"}


def test_unknown_products_and_places_are_404(client, tokens, stocked):
    assert client.get("/api/stock", query_string={"sku": "NOPE"},
                      headers=auth(tokens["sam"])).status_code == 404
    response = post(client, "/receipts", tokens["wendy"], dict(RECEIPT, warehouse="WH9"))
    assert response.status_code == 404
    assert response.get_json()["details"] == [{"field": "warehouse",
                                               "message": "unknown warehouse 'WH9'"}]
    response = post(client, "/adjustments", tokens["wendy"],
                    {"sku": "NOPE", "warehouse": "WH1", "bin": "Z-1", "quantity_delta": 1,
                     "reason": "count"})
    assert response.status_code == 404
    assert [d["field"] for d in response.get_json()["details"]] == ["sku", "bin"]
    assert client.get("/api/stock/ledger", query_string={"sku": "NOPE"},
                      headers=auth(tokens["sam"])).status_code == 404


def test_only_the_warehouse_books_stock(client, session, tokens, stocked):
    assert post(client, "/receipts", tokens["sam"], RECEIPT).status_code == 403
    assert post(client, "/adjustments", tokens["sam"],
                {"sku": "WIDGET", "warehouse": "WH1", "bin": "A-01", "quantity_delta": 1,
                 "reason": "count"}).status_code == 403
    assert client.post("/api/stock/receipts", json=RECEIPT).status_code == 401
    assert session.scalar(select(func.count()).select_from(StockLedger)) == 0


def test_adjustments_and_the_ledger_newest_first(client, session, tokens, stocked):
    post(client, "/receipts", tokens["wendy"], RECEIPT)
    order = make_order(session, (stocked, 6))
    inventory.reserve_order(session, order.id)
    session.commit()

    below_reserved = post(client, "/adjustments", tokens["wendy"],
                          {"sku": "WIDGET", "warehouse": "WH1", "bin": "A-01",
                           "quantity_delta": "-5", "reason": "count"})
    assert below_reserved.status_code == 422
    assert below_reserved.get_json()["details"][0]["field"] == "quantity_delta"

    response = post(client, "/adjustments", tokens["wendy"],
                    {"sku": "WIDGET", "warehouse": "WH1", "bin": "A-01",
                     "quantity_delta": "-1.5", "reason": "broken in transit"})
    assert response.status_code == 201
    assert response.get_json()["levels"][0] == {"warehouse": "WH1", "bin": "A-01",
                                                "on_hand": "8.500", "reserved": "6.000",
                                                "available": "2.500"}

    ledger = client.get("/api/stock/ledger", query_string={"sku": "WIDGET", "limit": 5},
                        headers=auth(tokens["sam"])).get_json()
    assert [(e["kind"], e["quantity"], e["note"]) for e in ledger] == [
        ("adjustment", "-1.500", "broken in transit"), ("receipt", "10.000", None)]
    assert ledger[0]["created_by"] == "wendy"
    one = client.get("/api/stock/ledger", query_string={"limit": 1},
                     headers=auth(tokens["sam"])).get_json()
    assert [e["id"] for e in one] == [ledger[0]["id"]]
    assert client.get("/api/stock/ledger", query_string={"limit": 0},
                      headers=auth(tokens["sam"])).status_code == 422
    assert Decimal(client.get("/api/stock", query_string={"sku": "WIDGET"},
                              headers=auth(tokens["sam"])).get_json()["totals"]["available"]) \
        == Decimal("2.5")
