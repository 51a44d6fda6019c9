"""The customer's survey page in a real browser: the e-mailed link, a score, thanks; used once."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.models.shipping import Outbox


def test_customer_answers_the_survey_from_the_emailed_link(page, screenshot, o2c):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = o2c.request_return(number, [(1, 1)], reason="too big").get_json()["number"]
    for user, node, data in (("sam", "approve_return", {"decision": "approve"}),
                             ("wendy", "receive_return",
                              {"received_lines": [{"line_no": 1, "quantity": 1}]}),
                             ("wendy", "inspect_return", {"outcome": "restock"})):
        assert o2c.complete(user, rma, node, data).status_code == 200
    body = o2c.session.scalar(select(Outbox).where(Outbox.key == f"survey:{rma}")).payload["body"]
    link = re.search(r"(/survey/[A-Za-z0-9_-]+)", body).group(1)

    page.goto(link)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    expect(page.get_by_test_id("survey")).to_contain_text(rma)
    page.get_by_role("button", name="Send").click()  # no score chosen
    expect(page.get_by_role("alert")).to_contain_text("a whole number from 1 to 5")
    page.get_by_label("5 (excellent)").check()
    page.get_by_label("Comment (optional)").fill("Quick pickup, credit note the same week.")
    screenshot("survey")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("survey-thanks")).to_contain_text("5 of 5")
    assert o2c.get_return(rma)["survey"]["score"] == 5

    page.goto(link)
    expect(page.get_by_test_id("survey-closed")).to_contain_text("already answered")
