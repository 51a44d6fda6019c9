"""GET /api/kpis (+ .csv), GET /api/data-quality, and CRUD on /api/saved-filters."""
import csv
import io
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.engine import clock
from app.models.finance import JournalEntry, JournalLine
from tests import factories
from tests.conftest import auth

UTC = timezone.utc
PERIOD = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture
def owner(make_user):
    return make_user("otto", "process_owner")[1]


@pytest.fixture
def receivables(session):
    """Invoiced 2000 on Tue 3 March, 400 paid on Wed: DSO = 1600 / 2000 x 7 days = 5.6."""
    clock.freeze(datetime(2026, 3, 20, tzinfo=UTC))
    for doc_type, day, debit, credit in (("invoice", 3, "2000", "0"), ("payment", 4, "0", "400")):
        entry = JournalEntry(doc_type=doc_type, doc_id=day,
                             posted_at=datetime(2026, 3, day, tzinfo=UTC))
        entry.lines = [JournalLine(account="accounts_receivable", debit=Decimal(debit),
                                   credit=Decimal(credit))]
        session.add(entry)
    session.commit()


def test_kpis_as_json(client, owner, receivables):
    response = client.get("/api/kpis", query_string=PERIOD, headers=auth(owner))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-08", "days": 7}
    assert body["weeks"] == ["2026-03-02"]
    assert body["dso"]["value"] == "5.6" and body["dso"]["receivables"] == "1600.00"
    assert body["dso"]["series"] == [{"week": "2026-03-02", "value": "5.6",
                                      "receivables": "1600.00", "credit_sales": "2000.00"}]
    assert body["fulfilment_rate"] == {"value": None, "on_time": 0, "due": 0, "unit": "ratio",
                                       "series": [{"week": "2026-03-02", "value": None,
                                                   "on_time": 0, "due": 0}]}
    assert body["credit_hold"]["value"] == 0
    assert body["order_cycle_time"]["steps"] == []
    assert body["customer_satisfaction"] == {"value": None, "note": "n/a until feedback exists"}
    assert body["settings"] == {"fulfilment_days": 7}


def test_kpis_as_csv(client, owner, receivables):
    response = client.get("/api/kpis.csv", query_string={**PERIOD, "fulfilment_days": 3},
                          headers=auth(owner))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="kpis-2026-03-02-2026-03-08.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["kpi", "week", "dimension", "value", "unit"]
    assert ["dso", "", "", "5.6", "days"] in rows
    assert ["dso", "2026-03-02", "", "5.6", "days"] in rows
    assert ["customer_satisfaction", "", "", "n/a until feedback exists", ""] in rows


def test_default_period_is_twelve_weeks_to_today(client, owner, frozen_clock):
    body = client.get("/api/kpis", headers=auth(owner)).get_json()
    assert body["period"] == {"from": "2025-12-15", "to": "2026-03-02", "days": 78}
    assert len(body["weeks"]) == 12


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-03-09", "to": "2026-03-08"}, "from"),
    ({"from": "2024-01-01", "to": "2026-03-08"}, "to"),
    ({"from": "March"}, "from"),
    ({"fulfilment_days": "0"}, "fulfilment_days"),
    ({"colour": "red"}, "colour"),
])
def test_bad_periods_are_422_naming_the_field(client, owner, query, field):
    response = client.get("/api/kpis", query_string=query, headers=auth(owner))
    assert response.status_code == 422
    details = response.get_json()["details"]
    named = {d["field"] for d in details} if isinstance(details, list) else set(details)
    assert field in named


def test_only_report_users_see_kpis(client, make_user):
    _, sales = make_user("alice", "sales")
    _, manager = make_user("gina", "general_manager")
    _, admin = make_user("root", "admin")
    assert client.get("/api/kpis").status_code == 401
    assert client.get("/api/kpis", headers=auth(sales)).status_code == 403
    assert client.get("/api/data-quality", headers=auth(sales)).status_code == 403
    assert client.get("/api/saved-filters", headers=auth(sales)).status_code == 403
    assert client.get("/api/kpis", headers=auth(manager)).status_code == 200
    assert client.get("/api/kpis.csv", headers=auth(admin)).status_code == 200


def test_data_quality(client, owner, session):
    pl = factories.price_list(session, "STD")
    factories.customer(session, "C-1", pl, credit_limit="0")
    factories.product(session, "P-1")
    session.commit()
    body = client.get("/api/data-quality", headers=auth(owner)).get_json()
    counts = {c["key"]: c["count"] for c in body["checks"]}
    assert counts["customer_credit_limit"] == 1 and counts["product_price"] == 1
    assert counts["product_weight"] == 1  # the default weight 0
    assert body["total"] == 3
    one = client.get("/api/data-quality", query_string={"check": "product_price"},
                     headers=auth(owner)).get_json()
    assert one["checks"] == [{"key": "product_price", "label": "Products without a price",
                              "count": 1, "items": [{
                                  "code": "P-1", "name": "P-1",
                                  "problem": "no price on an active price list",
                                  "fix": {"method": "POST", "href": "/api/price-lists/STD/items",
                                          "fields": ["sku", "unit_price"]}}]}]
    bad = client.get("/api/data-quality", query_string={"check": "boms", "limit": "-1"},
                     headers=auth(owner))
    assert bad.status_code == 422 and set(bad.get_json()["details"]) == {"check", "limit"}


# ------------------------------------------------------------------ saved filters

def test_saved_filter_crud(client, make_user):
    _, otto = make_user("otto", "process_owner")
    _, gina = make_user("gina", "general_manager")
    body = {"name": "Last quarter", "report": "kpis",
            "query": {"from": "2026-01-01", "to": "2026-03-31"}}
    created = client.post("/api/saved-filters", json=body, headers=auth(otto))
    assert created.status_code == 201, created.get_json()
    saved = created.get_json()
    assert (saved["owner"], saved["shared"]) == ("otto", False)
    assert saved["query_string"] == "from=2026-01-01&to=2026-03-31"

    replay = client.post("/api/saved-filters", json=body, headers=auth(otto))
    assert replay.status_code == 200 and replay.get_json()["id"] == saved["id"]
    clash = client.post("/api/saved-filters", json={**body, "query": {"from": "2026-02-01"}},
                        headers=auth(otto))
    assert clash.status_code == 409
    # the same name is fine for another user or another report
    assert client.post("/api/saved-filters", json=body, headers=auth(gina)).status_code == 201
    assert client.post("/api/saved-filters", json={**body, "report": "stuck"},
                       headers=auth(otto)).status_code == 201

    url = f"/api/saved-filters/{saved['id']}"
    assert client.get(url, headers=auth(gina)).status_code == 404  # private
    gina_sees = client.get("/api/saved-filters", query_string={"report": "kpis"},
                           headers=auth(gina)).get_json()["items"]
    assert [(f["owner"], f["name"]) for f in gina_sees] == [("gina", "Last quarter")]

    shared = client.patch(url, json={"shared": True, "name": "Q1"}, headers=auth(otto))
    assert shared.status_code == 200 and shared.get_json()["name"] == "Q1"
    assert client.get(url, headers=auth(gina)).get_json()["name"] == "Q1"
    gina_sees = client.get("/api/saved-filters", query_string={"report": "kpis"},
                           headers=auth(gina)).get_json()["items"]
    assert [(f["owner"], f["name"]) for f in gina_sees] == [("gina", "Last quarter"),
                                                           ("otto", "Q1")]
    # others read a shared filter but neither change nor delete it
    assert client.patch(url, json={"name": "mine now"}, headers=auth(gina)).status_code == 404
    assert client.delete(url, headers=auth(gina)).status_code == 404
    stuck_id = client.get("/api/saved-filters", query_string={"report": "stuck"},
                          headers=auth(otto)).get_json()["items"][0]["id"]
    renamed = client.patch(f"/api/saved-filters/{stuck_id}", json={"report": "kpis", "name": "Q1"},
                           headers=auth(otto))
    assert renamed.status_code == 409

    assert client.delete(url, headers=auth(otto)).status_code == 204
    assert client.get(url, headers=auth(otto)).status_code == 404


@pytest.mark.parametrize("body, fields", [
    ({"report": "kpis"}, {"name"}),
    ({"name": "x" * 101, "report": "nope"}, {"name", "report"}),
    ({"name": "x", "report": "kpis", "owner": "root"}, {"owner"}),
    ({"name": "x", "report": "kpis", "query": {"a": {"b": 1}, "c": None}}, {"query.a", "query.c"}),
    ({"name": "x", "report": "kpis", "query": {"c": ["y" * 501]}}, {"query.c"}),
])
def test_invalid_saved_filters_are_422(client, owner, body, fields):
    response = client.post("/api/saved-filters", json=body, headers=auth(owner))
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["details"]
    named = {d["field"] for d in details} if isinstance(details, list) else set(details)
    assert named == fields


def test_query_values_are_kept_as_query_string_text(client, owner):
    body = {"name": "x", "report": "stuck",
            "query": {"node": ["pick_pack", "approve_manager"], "min_age_hours": 4, "open": True}}
    saved = client.post("/api/saved-filters", json=body, headers=auth(owner)).get_json()
    assert saved["query"] == {"node": ["pick_pack", "approve_manager"], "min_age_hours": "4",
                              "open": "true"}
    assert saved["query_string"] == "min_age_hours=4&node=pick_pack&node=approve_manager&open=true"
