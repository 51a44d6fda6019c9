"""The BOM, MRP-run and planned-order API: CRUD, cycles, runs, filters, validation, permissions."""
from datetime import date, datetime, timezone

import pytest

from app.engine import clock
from tests.conftest import auth
from tests.domain.test_inventory import make_bin, make_order, make_product


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def tokens(make_user):
    return {"pia": make_user("pia", "planner")[1], "sam": make_user("sam", "sales")[1]}


@pytest.fixture
def parts(session):
    make_bin(session)
    items = {sku: make_product(session, sku, lead_time_days=2) for sku in ("CHAIR", "LEG", "SEAT")}
    session.commit()
    return items


def post(client, path, token, body):
    return client.post(f"/api{path}", json=body, headers=auth(token))


CHAIR = {"product": "CHAIR", "lines": [{"component": "LEG", "qty_per": "4"},
                                        {"component": "SEAT", "qty_per": "1",
                                         "scrap_percent": "2.5"}]}


def test_bom_crud(client, tokens, parts):
    created = post(client, "/boms", tokens["pia"], CHAIR)
    assert created.status_code == 201, created.get_json()
    bom = created.get_json()
    assert (bom["product"], bom["version"], bom["active"], bom["low_level_code"]) == \
        ("CHAIR", 1, True, 0)
    assert [(ln["component"], ln["qty_per"], ln["low_level_code"]) for ln in bom["lines"]] == [
        ("LEG", "4.000", 1), ("SEAT", "1.000", 1)]

    got = client.get(f"/api/boms/{bom['id']}", headers=auth(tokens["sam"]))
    assert got.status_code == 200 and got.get_json()["lines"][1]["scrap_percent"] == "2.5000"
    listed = client.get("/api/boms?product=CHAIR&active=true", headers=auth(tokens["sam"]))
    assert [b["id"] for b in listed.get_json()["items"]] == [bom["id"]]

    patched = client.patch(f"/api/boms/{bom['id']}", headers=auth(tokens["pia"]),
                           json={"lines": [{"component": "LEG", "qty_per": "3"}],
                                 "effective_to": "2026-12-31"})
    assert patched.status_code == 200
    assert [ln["component"] for ln in patched.get_json()["lines"]] == ["LEG"]
    assert patched.get_json()["effective_to"] == "2026-12-31"
    assert client.get("/api/boms/999", headers=auth(tokens["pia"])).status_code == 404


def test_a_cycle_is_a_422_naming_the_path(client, tokens, parts):
    assert post(client, "/boms", tokens["pia"], CHAIR).status_code == 201
    response = post(client, "/boms", tokens["pia"],
                    {"product": "SEAT", "lines": [{"component": "CHAIR", "qty_per": "1"}]})
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] == "BOM cycle: SEAT → CHAIR → SEAT"
    assert body["details"] == [{"field": "lines", "message": "BOM cycle: SEAT → CHAIR → SEAT"}]


def test_bad_input_is_a_422_with_every_field(client, tokens, parts):
    response = post(client, "/boms", tokens["pia"], {
        "product": "CHAIR", "surprise": 1, "effective_from": "2026-05-01",
        "effective_to": "2026-04-01",
        "lines": [{"component": "LEG", "qty_per": "0"},
                  {"component": "SEAT", "qty_per": "1.0001", "scrap_percent": "100"},
                  {"component": "SEAT", "qty_per": "NaN"}]})
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert set(details) == {"surprise", "effective_to", "lines"}
    assert set(details["lines"]) == {"0", "1", "2"}
    assert set(details["lines"]["1"]) == {"qty_per", "scrap_percent"}
    unknown = post(client, "/boms", tokens["pia"],
                   {"product": "NOPE", "lines": [{"component": "GHOST", "qty_per": "1"}]})
    assert unknown.status_code == 422
    assert {d["field"] for d in unknown.get_json()["details"]} == {"product", "lines[0].component"}
    assert post(client, "/boms", tokens["pia"], {"product": "CHAIR", "lines": []}).status_code \
        == 422
    assert post(client, "/mrp/runs", tokens["pia"], {"horizon_days": 0}).status_code == 422
    assert post(client, "/mrp/runs", tokens["pia"], {"bucket": "week"}).status_code == 422
    assert client.get("/api/planned-orders?kind=magic",
                      headers=auth(tokens["pia"])).status_code == 422


def test_only_planners_write(client, tokens, parts):
    assert post(client, "/boms", tokens["sam"], CHAIR).status_code == 403
    assert post(client, "/mrp/runs", tokens["sam"], {}).status_code == 403
    assert client.patch("/api/boms/1", json={}, headers=auth(tokens["sam"])).status_code == 403
    assert client.get("/api/boms").status_code == 401


def test_a_run_plans_pegged_orders_and_a_rerun_adds_none(client, session, tokens, parts):
    assert post(client, "/boms", tokens["pia"], CHAIR).status_code == 201
    order = make_order(session, (parts["CHAIR"], 5))
    order.requested_date = date(2026, 3, 12)
    line_id = order.lines[0].id
    session.commit()

    first = post(client, "/mrp/runs", tokens["pia"], {"horizon_days": 30})
    assert first.status_code == 201, first.get_json()
    run = first.get_json()
    assert (run["horizon_days"], run["bucket"], run["plan_date"], run["started_by"]) == \
        (30, "day", "2026-03-02", "pia")
    assert (run["counts"]["created"], run["counts"]["work_orders"],
            run["counts"]["purchase_requests"]) == (3, 1, 2)
    # LEG and SEAT have no supplier
    assert sorted((e["type"], e["sku"]) for e in run["exceptions"]) == [
        ("missing_supplier", "LEG"), ("missing_supplier", "SEAT")]
    assert client.get(f"/api/mrp/runs/{run['id']}", headers=auth(tokens["sam"])).get_json() == run

    wos = client.get("/api/planned-orders?kind=work_order&status=planned",
                     headers=auth(tokens["sam"])).get_json()
    assert wos["total"] == 1
    wo = wos["items"][0]
    assert (wo["sku"], wo["quantity"], wo["due_date"], wo["release_date"]) == \
        ("CHAIR", "5.000", "2026-03-12", "2026-03-10")
    assert wo["pegging"] == [{"demand_type": "sales_order_line", "demand_id": line_id,
                              "quantity": "5.000"}]
    prs = client.get("/api/planned-orders?kind=purchase_request",
                     headers=auth(tokens["sam"])).get_json()["items"]
    # SEAT: 5 × 1 × 1.025 = 5.125; LEG: 20; both due on the chair's release day
    assert sorted((p["sku"], p["quantity"], p["due_date"]) for p in prs) == [
        ("LEG", "20.000", "2026-03-10"), ("SEAT", "5.125", "2026-03-10")]
    assert all(p["pegging"] == [{"demand_type": "planned_order", "demand_id": wo["id"],
                                 "quantity": p["quantity"]}] for p in prs)

    second = post(client, "/mrp/runs", tokens["pia"], {}).get_json()
    assert (second["counts"]["created"], second["counts"]["unchanged"]) == (0, 3)
    again = client.get("/api/planned-orders", headers=auth(tokens["sam"])).get_json()
    assert again["total"] == 3
    assert client.get("/api/mrp/runs/999", headers=auth(tokens["sam"])).status_code == 404


def test_the_cli_runs_mrp(app, session, parts):
    from app.domain import boms

    boms.create_bom(session, product="CHAIR", lines=[{"component": "LEG", "qty_per": 4}])
    order = make_order(session, (parts["CHAIR"], 2))
    order.requested_date = date(2026, 3, 20)
    session.commit()
    result = app.test_cli_runner().invoke(args=["mrp-run", "--horizon", "30"])
    assert result.exit_code == 0, result.output
    assert "2 planned orders (1 work orders, 1 purchase requests); created 2" in result.output
    assert "missing_supplier: LEG is bought but has no default supplier" in result.output
    assert app.test_cli_runner().invoke(args=["mrp-run", "--horizon", "0"]).exit_code == 2
