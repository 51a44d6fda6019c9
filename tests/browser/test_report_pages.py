"""The process owner in Chromium: the stuck report leads to the order, the heatmap draws the
lifecycle with counts on the nodes and lists a clicked node's orders, incidents are retried."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.domain import orders as order_domain
from app.engine import clock


def place(o2c, customer, lines):  # noqa: F811
    response = o2c.order(customer, lines)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


@pytest.fixture
def orders(o2c, make_user, frozen_clock, monkeypatch):  # noqa: F811
    """Two orders awaiting approval (one for 3 hours), one on credit hold, one short of stock,
    one being picked, one stopped by an incident; then a day and a bit passes."""
    make_user("owen", "process_owner", password="pw")
    numbers = {"approving": [place(o2c, "C-1001", [("FUR-CHAIR-ERG", 1)]) for _ in range(2)],
               "held": place(o2c, "C-1004", [("FUR-DESK-1400", 3)]),
               "short": place(o2c, "C-1001", [("FUR-TABLE-MTG", 3)]),
               "picking": place(o2c, "C-1001", [("FUR-CHAIR-ERG", 2)]),
               "broken": place(o2c, "C-1002", [("CON-PEN-GEL", 2)])}
    clock.travel(timedelta(hours=3))
    o2c.complete("gina", numbers["short"], "approve_manager", {"decision": "approve"})
    o2c.complete("sam", numbers["picking"], "approve_supervisor", {"decision": "approve"})

    def broken(*args, **kwargs):
        raise RuntimeError("orders service unavailable")
    monkeypatch.setattr(order_domain, "approve", broken)
    o2c.complete("gina", numbers["broken"], "approve_manager", {"decision": "approve"})
    monkeypatch.undo()
    clock.travel(timedelta(hours=24))
    return numbers


def test_the_stuck_report_leads_to_the_order(page, sign_in, screenshot, orders):
    sign_in("owen")
    page.get_by_test_id("nav-reports").click()
    page.wait_for_url("**/reports/stuck")
    rows = page.locator("tr.stuck-row")
    # 2 approvals, credit hold, picking: past their thresholds; goods may take 14 days
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text=orders["short"])).to_have_count(0)
    held = rows.filter(has_text=orders["held"])
    expect(held).to_contain_text("Review credit hold")
    expect(held).to_contain_text("credit_controller")
    expect(held).to_contain_text("8,068.20 CNY")
    expect(held).to_contain_text("27 h")
    screenshot("report-stuck")

    page.get_by_label("Customer").fill("C-1004")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name=orders["held"]).click()
    expect(page.get_by_role("heading", name=re.compile(f"Order {orders['held']}"))).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Credit hold")


def test_the_heatmap_counts_on_the_diagram_and_a_click_lists_the_orders(page, sign_in,
                                                                         screenshot, orders):
    sign_in("owen")
    page.goto("/reports/heatmap")
    expect(page.locator("#heatmap[data-rendered=true]")).to_have_count(1)
    approval = page.locator('.djs-overlays[data-container-id="approval"] .heat-count')
    expect(approval).to_have_text("2")
    expect(page.locator('.djs-overlays[data-container-id="credit_review"] .heat-count')
           ).to_have_text("1")
    expect(page.locator('.djs-overlays[data-container-id="mark_approved"] .heat-incident')
           ).to_have_text("1")
    expect(page.locator('[data-element-id="approval"]')).to_have_class(re.compile("heat-5"))
    expect(page.locator('[data-element-id="wait_goods"]')).to_have_class(re.compile("heat-3"))
    expect(page.locator('.djs-overlays[data-container-id="approval"] .heat-time').first
           ).to_contain_text("avg 3 h")
    fill = page.locator('[data-element-id="approval"] .djs-visual > rect').first.evaluate(
        "el => getComputedStyle(el).fill")
    assert fill == "rgb(248, 113, 113)"  # the heat colour really applies
    screenshot("report-heatmap")

    page.locator('[data-element-id="credit_review"]').click()
    listed = page.get_by_test_id("node-instances")
    expect(listed).to_have_attribute("data-node-id", "credit_review")
    expect(listed.locator("tr.node-instance-row")).to_have_count(1)
    expect(listed).to_contain_text(orders["held"])
    assert "node_id=credit_review" in page.url

    page.locator('[data-element-id="approval"]').click()
    expect(listed.locator("tr.node-instance-row")).to_have_count(2)
    page.get_by_label("Colour by").select_option("time")
    expect(page.locator('[data-element-id="credit_review"]')).not_to_have_class(
        re.compile("heat-"))  # nobody left credit review yet: no time spent there
    screenshot("report-heatmap-node")


def test_retry_from_the_incidents_page(page, sign_in, screenshot, orders):
    sign_in("owen")
    page.goto("/reports/incidents")
    row = page.locator("tr.incident-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("orders service unavailable")
    screenshot("report-incidents")
    row.get_by_role("checkbox").check()
    page.get_by_test_id("apply-selected").click()
    expect(page.locator(".flash-success")).to_contain_text("Retry: 1 of 1 instance(s) done.")
    expect(page.get_by_test_id("incidents-empty")).to_be_visible()


def test_sla_and_exception_board(page, sign_in, screenshot, orders):
    sign_in("owen")
    page.goto("/reports/sla")
    expect(page.get_by_test_id("overdue-total")).to_have_text("2")  # both approvals are late
    screenshot("report-sla")
    page.goto("/reports/exceptions")
    credit = page.get_by_test_id("exceptions-credit_hold")
    expect(credit).to_contain_text(orders["held"])
    expect(page.get_by_test_id("exceptions-incident")).to_contain_text(orders["broken"])
    expect(page.get_by_test_id("exceptions-shortage")).to_contain_text(orders["short"])
    screenshot("report-exceptions")
    credit.get_by_role("link", name=orders["held"]).click()
    expect(page.get_by_role("heading", name=re.compile(f"Order {orders['held']}"))).to_be_visible()
