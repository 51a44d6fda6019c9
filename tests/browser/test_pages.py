"""The approver's day in a real browser: sign in, see exactly their tasks, claim, open, get a
message for an invalid form, approve, watch the order move on; the order page's diagram; a phone."""
import re

import pytest
from playwright.sync_api import expect

from app.models.engine import HumanTask
from tests.web.helpers import order_with_process


@pytest.fixture
def approval(session, runtime, make_user, deployed):
    """Supervisor sam (approvers), warehouse wendy, an order waiting for approval, and a task of
    another group that sam must not see."""
    from app.models.identity import User

    make_user("sam", "approvers", password="pw")
    session.query(User).filter_by(username="sam").one().full_name = "Sam Supervisor"
    make_user("wendy", "warehouse", password="pw")
    order, instance = order_with_process(session, runtime, "SO-2026-0042")
    runtime.start("timers", business_key="REV-7")  # a reviewers' task
    session.commit()
    task = session.query(HumanTask).filter_by(instance_id=instance.id).one()
    return {"order": order, "instance": instance, "task_id": task.id}


def test_supervisor_claims_fixes_and_approves(page, sign_in, screenshot, approval):
    sign_in("sam")
    expect(page.get_by_test_id("current-user")).to_have_text("Sam Supervisor")
    rows = page.locator("tr.task-row")
    expect(rows).to_have_count(1)  # exactly his: the reviewers' task is not there
    expect(rows.first).to_contain_text("SO-2026-0042")
    expect(rows.first).to_contain_text("Acme Trading")
    expect(rows.first).to_contain_text("2,034.00 CNY")
    screenshot("inbox")

    rows.first.get_by_role("button", name="Claim").click()
    expect(page.locator(".flash-success")).to_have_text("The task is yours now.")
    expect(page.get_by_test_id("count-mine")).to_have_text("1")
    expect(rows.first).to_contain_text("you")

    rows.first.get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", name="Approve", exact=True)).to_be_visible()
    expect(page.get_by_test_id("order-summary")).to_contain_text("Widget")
    page.get_by_label("Comment").fill("Looks fine")
    page.get_by_test_id("complete").click()  # "Approved" left unanswered
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(page.locator('[data-field="approved"]')).to_have_text("This field is required.")
    expect(page.get_by_label("Comment")).to_have_value("Looks fine")
    screenshot("task-form")

    page.get_by_label("Yes").check()
    page.get_by_test_id("complete").click()
    expect(page.get_by_test_id("task-closed")).to_contain_text("You completed this task")
    expect(page.get_by_test_id("history")).to_contain_text("sam completed Approve")

    page.get_by_role("link", name="SO-2026-0042").first.click()
    expect(page.get_by_role("heading", name=re.compile("Order SO-2026-0042"))).to_be_visible()
    expect(page.get_by_test_id("timeline")).to_contain_text("Mark approved")
    expect(page.locator("#diagram[data-rendered=true]")).to_have_count(1)
    expect(page.locator('[data-element-id="end_approved"]')).to_have_class(
        re.compile("of-passed"))


def test_the_warehouse_does_not_see_the_approval(page, sign_in, approval):
    sign_in("wendy")
    expect(page.get_by_test_id("inbox-empty")).to_be_visible()
    expect(page.get_by_test_id("count-groups")).to_have_text("0")
    response = page.goto(f"/tasks/{approval['task_id']}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_the_order_page_draws_the_diagram_with_the_waiting_node(page, sign_in, screenshot,
                                                                approval):
    sign_in("sam")
    page.goto("/orders/SO-2026-0042")
    expect(page.locator("#diagram[data-rendered=true]")).to_have_count(1)
    expect(page.locator('[data-element-id="approve"]')).to_have_class(re.compile("of-waiting"))
    expect(page.locator('[data-element-id="compute_total"]')).to_have_class(
        re.compile("of-passed"))
    expect(page.locator('[data-element-id="mark_approved"]')).not_to_have_class(
        re.compile("of-(passed|waiting)"))
    stroke = page.locator('[data-element-id="approve"] .djs-visual > rect').first.evaluate(
        "el => getComputedStyle(el).stroke")
    assert stroke == "rgb(245, 158, 11)"  # the highlight colour really applies
    screenshot("order")


def test_the_inbox_on_a_phone(page, sign_in, screenshot, approval):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("sam")
    row = page.locator("tr.task-row").first
    expect(page.locator("table.inbox thead")).to_be_hidden()  # a list of cards, not a table
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    claim = row.get_by_role("button", name="Claim")
    expect(claim).to_be_in_viewport()
    assert claim.bounding_box()["height"] >= 40  # a thumb-sized target
    screenshot("inbox-phone")

    claim.click()
    page.locator("tr.task-row").first.get_by_role("link", name="Open").click()
    main, aside = page.locator(".task-main"), page.locator(".task-context")
    assert aside.bounding_box()["y"] > main.bounding_box()["y"]  # the form stacks above
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_test_id("complete")).to_be_in_viewport()  # sticky actions
    screenshot("task-form-phone")

    page.goto("/orders/SO-2026-0042")
    expect(page.locator("#diagram[data-rendered=true]")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
