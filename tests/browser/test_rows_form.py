"""A form with arrays of objects (like the warehouse's pick_pack: confirmations[] and parcels[])
in a real browser: rows prefilled from task data, "Add row", messages inside the rows."""
import pytest
from playwright.sync_api import expect

from app.web import task_page
from tests.browser.test_pages import approval  # noqa: F401  (the order and its task)
from tests.web.test_schema_form import PICK_PACK

UI = {"confirmations": {"ui:rowsFrom": "items_list"}, "ui:order": ["confirmations", "parcels"]}


@pytest.fixture
def pick_pack_form(monkeypatch, approval):  # noqa: F811
    """The approval task shows the pick_pack form (the engine's form is not reached: the page
    refuses the invalid submission before completing)."""
    monkeypatch.setattr(task_page, "_forms", lambda human: (PICK_PACK, UI))
    return approval


def test_rows_can_be_added_and_carry_their_messages(page, sign_in, screenshot, pick_pack_form):
    sign_in("sam")
    page.goto(f"/tasks/{pick_pack_form['task_id']}")
    confirmations = page.locator('[data-rows="confirmations"] tbody tr')
    expect(confirmations).to_have_count(1)
    page.locator('[name="confirmations.0.line_id"]').fill("11")
    page.locator('[name="confirmations.0.quantity"]').fill("2")
    page.locator('[data-rows="confirmations"] [data-add-row]').click()
    expect(confirmations).to_have_count(2)
    page.locator('[name="confirmations.1.line_id"]').fill("12")
    page.locator('[name="confirmations.1.quantity"]').fill("two")
    page.locator('[name="parcels.0.weight_kg"]').fill("1.5")
    screenshot("task-form-rows")
    page.get_by_test_id("complete").click()

    expect(page.locator('[data-field="confirmations.1.quantity"]')).to_have_text(
        "Enter a number.")
    expect(page.locator('[name="confirmations.1.quantity"]')).to_have_value("two")
    expect(page.locator('[name="confirmations.0.line_id"]')).to_have_value("11")
    expect(page.locator('[name="parcels.0.weight_kg"]')).to_have_value("1.5")
    page.locator('[data-rows="parcels"] [data-remove-row]').click()  # the last row: a blank one
    expect(page.locator('[data-rows="parcels"] tbody tr')).to_have_count(1)
    expect(page.locator('[name="parcels.1.weight_kg"]')).to_have_value("")
