"""Returns and supply in a real browser: the nav leads to them, a return opens from the list,
its page shows the credit note; the supply page shows what a shortage started."""
import pytest
from playwright.sync_api import expect

from app.engine import jobs


@pytest.fixture
def documents(o2c, make_user, runtime):
    make_user("olga", "sales", password="pw")
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    rma = o2c.request_return(number, [(1, 2)], reason="arrived broken").get_json()["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 2}])
    assert o2c.complete("wendy", rma, "inspect_return", {"outcome": "scrap"}).status_code == 200
    short = o2c.order("C-1001", [("FUR-TABLE-MTG", 3)]).get_json()["number"]
    o2c.approve(short)
    jobs.run_until_idle(runtime)
    return {"order": number, "rma": rma}


def test_returns_and_supply_pages(page, sign_in, screenshot, documents):
    sign_in("olga")
    page.get_by_test_id("nav-returns").click()
    page.wait_for_url("**/returns")
    rows = page.locator("tr.return-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(documents["order"])
    screenshot("returns")
    rows.first.get_by_role("link", name=documents["rma"]).click()
    expect(page.get_by_test_id("return-stage")).to_have_text("Credited")
    expect(page.get_by_test_id("return-money")).to_contain_text("CN-")
    screenshot("return")

    page.get_by_test_id("nav-supply").click()
    page.wait_for_url("**/supply")
    expect(page.get_by_test_id("purchase-orders")).to_contain_text("FUR-TABLE-MTG")
    expect(page.get_by_test_id("purchase-orders").get_by_role("link")).to_have_count(1)
    screenshot("supply")
