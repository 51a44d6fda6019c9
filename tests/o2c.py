"""Fixture `o2c`: the real processes/ and forms/, the demo company, users, and a driver that
does what people and services do over the HTTP API (e2e, report and KPI tests use it)."""
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain import demo_data
from app.engine import deployments, specs
from app.models.engine import HumanTask
from app.models.sales import SalesOrder
from tests.conftest import auth

ROOT = Path(__file__).parent.parent
STAFF = {"alice": "sales", "sam": "sales_supervisor", "gina": "general_manager",
         "carl": "credit_controller", "wendy": "warehouse", "fran": "finance",
         "otto": "process_owner", "shop": "services", "root": "admin"}


class O2C:
    """A small driver: each call is what a user or a service does over HTTP."""

    def __init__(self, client, session, tokens):
        self.client, self.session, self.tokens = client, session, tokens

    def call(self, user, method, url, **kwargs):
        return getattr(self.client, method)(url, headers=auth(self.tokens[user]), **kwargs)

    def order(self, customer, lines, user="alice", **extra):
        body = {"customer": customer, "lines": [{"sku": s, "quantity": str(q)} for s, q in lines],
                **extra}
        return self.call(user, "post", "/api/orders", json=body)

    def get(self, number, user="alice"):
        response = self.call(user, "get", f"/api/orders/{number}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def task(self, number, node_id):
        self.session.expire_all()
        return self.session.scalar(select(HumanTask).where(
            HumanTask.business_key == number, HumanTask.node_id == node_id,
            HumanTask.state == "open"))

    def complete(self, user, number, node_id, data):
        task = self.task(number, node_id)
        assert task is not None, f"no open {node_id} for {number}: {self.get(number)['process']}"
        return self.call(user, "post", f"/api/tasks/{task.id}/complete", json={"data": data})

    def message(self, name, number, payload=None, message_id=None, user="shop"):
        return self.call(user, "post", f"/api/messages/{name}",
                         json={"business_key": number, "payload": payload or {},
                               **({"message_id": message_id} if message_id else {})})

    def pick_and_pack(self, number, user="wendy"):
        """Confirm the pick list as printed (scanning every serial) and pack one parcel."""
        lines = self.task_data(number, "pick_pack")["pick"]["lines"]
        confirmations = [{"shipment_line_id": line["line_id"], "quantity": float(line["quantity"]),
                          **({"serials": line["serials"][:int(Decimal(line["quantity"]))]}
                             if line.get("serials") else {})} for line in lines]
        return self.complete(user, number, "pick_pack", {
            "confirmations": confirmations, "parcels": [{"weight_kg": 12.5}]})

    def task_data(self, number, node_id):
        task = self.task(number, node_id)
        return self.call("root", "get", f"/api/tasks/{task.id}").get_json()["data"]

    def stock(self, sku):
        return self.call("wendy", "get", "/api/stock", query_string={"sku": sku}).get_json()

    def order_row(self, number) -> SalesOrder:
        self.session.expire_all()
        return self.session.scalar(select(SalesOrder).where(SalesOrder.number == number))

    def deliver(self, customer, lines, approver="sam", node="approve_supervisor"):
        """Place an order, approve, pick and pack it, report it delivered: its number."""
        response = self.order(customer, lines)
        assert response.status_code == 201, response.get_json()
        number = response.get_json()["number"]
        assert self.complete(approver, number, node, {"decision": "approve"}).status_code == 200
        assert self.pick_and_pack(number).status_code == 200
        [shipment] = self.get(number)["shipments"]
        assert self.message("shipment_delivered", number,
                            {"tracking_number": shipment["tracking_number"]}).status_code == 200
        return number

    def request_return(self, order, lines, user="alice", headers=None, **extra):
        """POST /api/returns; ``lines``: [(order line no, quantity)] or dicts."""
        body = {"order": order, "reason": extra.pop("reason", "not as expected"),
                "lines": [line if isinstance(line, dict) else
                          {"line_no": line[0], "quantity": str(line[1])} for line in lines],
                **extra}
        return self.client.post("/api/returns", json=body,
                                headers={**auth(self.tokens[user]), **(headers or {})})

    def approve(self, number):
        """Approve the order at whichever tier its approval waits."""
        task = "approve_manager" if self.task(number, "approve_manager") else "approve_supervisor"
        user = "gina" if task == "approve_manager" else "sam"
        response = self.complete(user, number, task, {"decision": "approve"})
        assert response.status_code == 200, response.get_json()

    def deliver_current_shipment(self, number):
        """Pick and pack what the pick list says, book it, report it delivered: the shipment."""
        assert self.pick_and_pack(number).status_code == 200
        shipment = [s for s in self.get(number)["shipments"] if s["status"] == "booked"][-1]
        response = self.message("shipment_delivered", number,
                                {"tracking_number": shipment["tracking_number"]})
        assert response.status_code == 200, response.get_json()
        return shipment

    def approve_and_receive(self, rma, lines, approver="sam"):
        """Approve a return and receive its goods as the warehouse."""
        for response in (self.complete(approver, rma, "approve_return", {"decision": "approve"}),
                         self.complete("wendy", rma, "receive_return", {"received_lines": lines})):
            assert response.status_code == 200, response.get_json()

    def get_return(self, number, user="alice"):
        response = self.call(user, "get", f"/api/returns/{number}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def o2c(app, session, client, make_user):
    deployments.deploy(session, specs.read_dir(ROOT / "processes"), source="e2e", actor="test",
                       forms_dir=ROOT / "forms")
    demo_data.seed(session)
    session.commit()
    tokens = {name: make_user(name, group)[1] for name, group in STAFF.items()}
    return O2C(client, session, tokens)
