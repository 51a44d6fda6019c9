"""Master data over HTTP: CRUD, the duplicate hint, 404 / 422 / 403 / 401, paging and filters."""
import pytest

from tests.conftest import auth

ADDRESS = {"line1": "No. 399 Wangshang Road", "city": "Hangzhou", "postcode": "310051",
           "country": "CN"}


@pytest.fixture
def tokens(make_user):
    return {name: make_user(name, *groups)[1] for name, groups in {
        "admin": ("admin",), "alice": ("sales",), "wendy": ("warehouse",),
        "ada": ("analyst",)}.items()}


@pytest.fixture
def api(client, tokens):
    def call(method, url, who="admin", **kwargs):
        return client.open(url, method=method, headers=auth(tokens[who]), **kwargs)
    return call


def details(response) -> dict:
    assert response.status_code == 422, response.get_json()
    return {p["field"]: p["message"] for p in response.get_json()["details"]}


def test_customer_crud(api):
    assert api("POST", "/api/price-lists", json={"code": "VIP", "name": "VIP"}).status_code == 201
    created = api("POST", "/api/customers", who="alice", json={
        "code": "C-1002", "name": "Hangzhou Xinyuan Technology Co., Ltd. 杭州鑫源科技有限公司",
        "type": "vip", "tax_id": "91330108MA2H7K9D0X", "email": "buyer@xinyuan.example.com",
        "credit_limit": "500000", "billing_address": ADDRESS, "shipping_address": ADDRESS,
        "payment_terms_days": 45, "price_list": "VIP"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["credit_limit"] == "500000.00" and body["price_list"] == "VIP"
    assert body["normalized_name"] == "hangzhou xinyuan technology 杭州鑫源科技"
    assert body["possible_duplicates"] == [] and body["possible_duplicate_of"] is None

    one = api("GET", "/api/customers/C-1002", who="ada").get_json()
    assert one["type"] == "vip" and one["billing_address"] == ADDRESS
    assert "possible_duplicates" not in one

    patched = api("PATCH", "/api/customers/C-1002", who="alice",
                  json={"blocked": True, "credit_limit": "450000.5", "price_list": None})
    assert patched.status_code == 200
    assert patched.get_json()["blocked"] is True
    assert patched.get_json()["credit_limit"] == "450000.50"
    assert patched.get_json()["price_list"] is None
    assert api("GET", "/api/customers/C-1002").get_json()["name"].startswith("Hangzhou")


def test_a_likely_duplicate_is_created_with_a_hint(api):
    api("POST", "/api/customers", json={"code": "C-1", "name": "Shanghai Hengtai Trading Co., Ltd.",
                                        "email": "Purchasing@Hengtai.example.com"})
    response = api("POST", "/api/customers", json={
        "code": "C-2", "name": "Hengtai Shanghai", "email": "purchasing@hengtai.example.com"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["possible_duplicates"] == [{
        "code": "C-1", "name": "Shanghai Hengtai Trading Co., Ltd.", "reason": "email",
        "reasons": ["email"]}]
    assert api("GET", "/api/customers/C-2").get_json()["possible_duplicate_of"] == ["C-1"]


def test_customer_list_filters_and_pages(api):
    for n, kind in enumerate(["standard", "vip", "standard", "key_account", "standard"], 1):
        api("POST", "/api/customers", json={"code": f"C-{n}", "name": f"Buyer {n}",
                                            "type": kind, "blocked": n == 3})
    listed = api("GET", "/api/customers", query_string={"type": "standard", "per_page": 2})
    body = listed.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 2)
    assert [c["code"] for c in body["items"]] == ["C-1", "C-3"]
    page2 = api("GET", "/api/customers",
                query_string={"type": "standard", "per_page": 2, "page": 2}).get_json()
    assert [c["code"] for c in page2["items"]] == ["C-5"]
    assert [c["code"] for c in api("GET", "/api/customers", query_string={
        "blocked": "true"}).get_json()["items"]] == ["C-3"]
    assert [c["code"] for c in api("GET", "/api/customers", query_string={
        "q": "buyer 4"}).get_json()["items"]] == ["C-4"]
    bad = api("GET", "/api/customers", query_string={"type": "gold", "per_page": 0})
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]) == {"type", "per_page"}


def test_unknown_codes_are_404(api):
    for url in ("/api/customers/NOPE", "/api/products/NOPE", "/api/price-lists/NOPE",
                "/api/warehouses/NOPE", "/api/suppliers/NOPE"):
        response = api("GET", url)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
        assert api("PATCH", url, json={}).status_code == 404
    assert api("POST", "/api/price-lists/NOPE/items",
               json={"sku": "X", "unit_price": "1"}).status_code == 404
    assert api("DELETE", "/api/price-lists/NOPE/items/1").status_code == 404
    assert api("POST", "/api/warehouses/NOPE/bins", json={"code": "A"}).status_code == 404


def test_bad_bodies_are_422_naming_every_field(api):
    api("POST", "/api/customers", json={"code": "C-1", "name": "Acme"})
    problems = details(api("POST", "/api/customers", json={
        "code": "C-1", "type": "gold", "credit_limit": "-5", "currency": "RMB!",
        "billing_address": {"line1": "x"}}))
    assert problems == {"code": "already exists", "name": "is required",
                        "type": "must be one of: standard, vip, key_account",
                        "currency": "must be a 3-letter ISO 4217 code",
                        "credit_limit": "must be at least 0",
                        "billing_address.city": "is required",
                        "billing_address.country": "is required"}
    # type errors and unknown fields are refused by the schema, each named
    typed = api("POST", "/api/customers", json={"code": "C-2", "name": "B",
                                                "credit_limit": "lots", "colour": "red"})
    assert typed.status_code == 422
    assert set(typed.get_json()["details"]) == {"credit_limit", "colour"}
    assert details(api("PATCH", "/api/customers/C-1", json={"name": ""})) == {
        "name": "is required"}
    huge = api("POST", "/api/customers", json={"code": "C-3", "name": "B",
                                               "credit_limit": "1" + "0" * 20})
    assert details(huge) == {"credit_limit": "is too large"}
    assert api("PATCH", "/api/customers/C-1", json={"code": "C-9"}).status_code == 422


def test_writes_need_the_right_group(api, client):
    assert api("POST", "/api/customers", who="ada",
               json={"code": "C-1", "name": "A"}).status_code == 403
    assert api("POST", "/api/customers", who="wendy",
               json={"code": "C-1", "name": "A"}).status_code == 403
    assert api("POST", "/api/products", who="alice",
               json={"sku": "P-1", "name": "A"}).status_code == 403
    assert api("POST", "/api/price-lists", who="alice",
               json={"code": "X", "name": "A"}).status_code == 403
    assert api("POST", "/api/suppliers", who="wendy",
               json={"code": "S", "name": "A"}).status_code == 403
    assert api("POST", "/api/warehouses", who="alice",
               json={"code": "W", "name": "A"}).status_code == 403
    forbidden = api("POST", "/api/customers", who="ada", json={"bad": "body"})
    assert forbidden.status_code == 403  # the group is checked before the body
    assert api("POST", "/api/warehouses", who="wendy",
               json={"code": "W", "name": "A"}).status_code == 201
    assert api("POST", "/api/customers", who="alice",
               json={"code": "C-1", "name": "A"}).status_code == 201
    assert api("PATCH", "/api/customers/C-1", who="ada", json={}).status_code == 403
    assert api("GET", "/api/customers", who="wendy").get_json()["total"] == 1
    assert client.get("/api/customers").status_code == 401


def test_products_crud(api):
    api("POST", "/api/suppliers", json={"code": "SUP-1", "name": "Huaxin"})
    created = api("POST", "/api/products", json={
        "sku": "ELE-LAP-14", "name": "Business laptop", "item_group": "electronics",
        "tracking": "serial", "weight_kg": "1.4", "lead_time_days": 10,
        "reorder_point": "5", "reorder_qty": "10", "default_supplier": "SUP-1"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["tax_rate"] == "0.1300" and body["weight_kg"] == "1.400"
    assert body["default_supplier"] == "SUP-1" and body["sales_multiple"] == "1.000"
    assert details(api("POST", "/api/products", json={"sku": "ELE-LAP-14", "tracking": "lot"})) \
        == {"sku": "already exists", "name": "is required",
            "tracking": "must be one of: none, batch, serial"}
    patched = api("PATCH", "/api/products/ELE-LAP-14", json={"active": False, "weight_kg": "1.45"})
    assert patched.get_json()["active"] is False and patched.get_json()["weight_kg"] == "1.450"
    api("POST", "/api/products", json={"sku": "CON-PAPER", "name": "A4 paper",
                                       "item_group": "consumables"})
    listed = api("GET", "/api/products", who="ada", query_string={"active": "true"}).get_json()
    assert [p["sku"] for p in listed["items"]] == ["CON-PAPER"]
    assert api("GET", "/api/products", query_string={"item_group": "electronics"}
               ).get_json()["total"] == 1
    assert api("GET", "/api/products/CON-PAPER").get_json()["item_group"] == "consumables"


def test_price_lists_items_and_rules(api):
    api("POST", "/api/products", json={"sku": "P-1", "name": "Paper", "item_group": "consumables"})
    created = api("POST", "/api/price-lists", json={"code": "STANDARD", "name": "Standard"})
    assert created.status_code == 201
    assert created.get_json() == {"id": 1, "code": "STANDARD", "name": "Standard",
                                       "currency": "CNY", "active": True, "items": [],
                                       "rules": []}
    item = api("POST", "/api/price-lists/STANDARD/items", json={
        "sku": "P-1", "unit_price": "26.80", "valid_from": "2026-01-01"})
    assert item.status_code == 201
    assert item.get_json() == {"id": 1, "sku": "P-1", "unit_price": "26.8000", "min_qty": "0.000",
                               "valid_from": "2026-01-01", "valid_to": None}
    assert details(api("POST", "/api/price-lists/STANDARD/items", json={
        "sku": "P-1", "unit_price": "0", "valid_from": "2026-02-01",
        "valid_to": "2026-01-01"})) == {"unit_price": "must be greater than 0",
                                         "valid_to": "must be on or after valid_from"}
    rule = api("POST", "/api/price-lists/STANDARD/rules", json={
        "name": "bulk paper", "applies_to": "item_group", "item_group": "consumables",
        "min_qty": "50", "discount_percent": "10"})
    assert rule.status_code == 201 and rule.get_json()["discount_percent"] == "10.0000"
    assert details(api("POST", "/api/price-lists/STANDARD/rules", json={
        "name": "bad", "applies_to": "item", "discount_percent": "101"})) == {
        "sku": "is required", "discount_percent": "must be at most 100"}
    detail = api("GET", "/api/price-lists/STANDARD", who="ada").get_json()
    assert [i["sku"] for i in detail["items"]] == ["P-1"]
    assert [r["name"] for r in detail["rules"]] == ["bulk paper"]
    assert api("DELETE", "/api/price-lists/STANDARD/items/1", who="alice").status_code == 403
    assert api("DELETE", "/api/price-lists/STANDARD/items/1").status_code == 204
    assert api("DELETE", "/api/price-lists/STANDARD/items/1").status_code == 404
    assert api("GET", "/api/price-lists/STANDARD").get_json()["items"] == []
    assert api("PATCH", "/api/price-lists/STANDARD",
               json={"active": False}).get_json()["active"] is False
    assert api("GET", "/api/price-lists", query_string={"active": "false"}).get_json()["total"] == 1
    assert api("PATCH", "/api/price-lists/STANDARD", json={"currency": "USD"}).status_code == 422


def test_warehouses_with_bins(api):
    created = api("POST", "/api/warehouses", who="wendy", json={
        "code": "SH-MAIN", "name": "Shanghai main", "address": ADDRESS,
        "bins": [{"code": "A-02"}, {"code": "A-01"}]})
    assert created.status_code == 201
    assert [b["code"] for b in created.get_json()["bins"]] == ["A-01", "A-02"]
    added = api("POST", "/api/warehouses/SH-MAIN/bins", who="wendy", json={"code": "B-01"})
    assert added.status_code == 201
    assert [b["code"] for b in added.get_json()["bins"]] == ["A-01", "A-02", "B-01"]
    assert details(api("POST", "/api/warehouses/SH-MAIN/bins", json={"code": "B-01"})) == {
        "code": "already exists"}
    assert details(api("POST", "/api/warehouses", json={
        "code": "SH-MAIN", "name": "x", "bins": [{"code": "C"}, {"code": "C"}]})) == {
        "code": "already exists", "bins[1].code": "repeats an earlier bin"}
    patched = api("PATCH", "/api/warehouses/SH-MAIN", who="wendy", json={"name": "Shanghai"})
    assert patched.get_json()["name"] == "Shanghai"
    listed = api("GET", "/api/warehouses", who="alice").get_json()
    assert listed["total"] == 1 and listed["items"][0]["bins"][0]["code"] == "A-01"


def test_suppliers_crud(api):
    created = api("POST", "/api/suppliers", json={
        "code": "SUP-BAIYUN", "name": "Guangzhou Baiyun Office Supplies Co., Ltd.",
        "email": "service@baiyun.example.com", "lead_time_days": 5, "min_order_qty": "10",
        "pack_size": "10"})
    assert created.status_code == 201 and created.get_json()["pack_size"] == "10.000"
    again = api("POST", "/api/suppliers", json={"code": "SUP-BY2",
                                                "name": "GUANGZHOU BAIYUN OFFICE SUPPLIES"})
    assert [d["code"] for d in again.get_json()["possible_duplicates"]] == ["SUP-BAIYUN"]
    assert api("PATCH", "/api/suppliers/SUP-BY2", json={"active": False}).status_code == 200
    assert api("GET", "/api/suppliers", query_string={"active": "true"}).get_json()["total"] == 1
    assert api("GET", "/api/suppliers/SUP-BAIYUN", who="wendy").get_json()["lead_time_days"] == 5
    assert details(api("POST", "/api/suppliers", json={"code": "S", "name": "x",
                                                        "pack_size": "0"})) == {
        "pack_size": "must be greater than 0"}
