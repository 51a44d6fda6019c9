"""The supply page lists the purchase and work orders a shortage started, with the task each
waits at."""
import re

from sqlalchemy import select

from app.engine import jobs
from app.models.engine import HumanTask
from app.models.procurement import PurchaseOrder, WorkOrder

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_shortage_supply_shows_with_its_open_tasks(o2c, client, make_user, runtime):
    lines = [("FUR-TABLE-MTG", 3), ("FUR-CHAIR-ERG", 70)]  # 2 tables, 65 chairs on hand
    number = o2c.order("C-1001", lines).get_json()["number"]
    o2c.approve(number)
    jobs.run_until_idle(runtime)  # the supply processes start after the order's unit
    o2c.session.expire_all()
    po = o2c.session.scalar(select(PurchaseOrder).order_by(PurchaseOrder.id))
    wo = o2c.session.scalar(select(WorkOrder))
    assert po is not None and wo is not None

    make_user("pia", "purchasing", password="pw")
    csrf = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "pia", "password": "pw",
                                       "csrf_token": csrf}).status_code == 302
    html = client.get("/supply").get_data(as_text=True)
    assert po.number in html and wo.number in html and "FUR-CHAIR-ERG" in html
    for document in (po.number, wo.number):  # each waits at a task someone can open
        [task] = o2c.session.scalars(select(HumanTask).where(
            HumanTask.business_key == document, HumanTask.state == "open")).all()
        assert f"/tasks/{task.id}" in html
