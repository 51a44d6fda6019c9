"""The report pages over orders run through the real lifecycle: who may see them, what each
shows, the incident actions (one, all matching, refused ones), and bad filters."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import orders as order_domain
from app.engine import clock
from app.models.engine import Incident
from tests.web.helpers import login, post

OWNER = "owen"


@pytest.fixture
def owner(o2c, make_user):  # noqa: F811
    make_user(OWNER, "process_owner", password="pw")
    make_user("sally", "sales", password="pw")
    return o2c


def signed_in(client, username=OWNER):
    assert login(client, username).status_code == 302
    return client


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def place(o2c, customer, lines):  # noqa: F811
    response = o2c.order(customer, lines)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def test_only_process_owners_get_the_pages_and_the_header_link(owner, client, app):
    assert client.get("/reports/stuck").status_code == 302  # to the login page
    signed_in(client, "sally")
    assert "Reports</a>" not in page(client, "/inbox")
    for name in ("stuck", "incidents", "sla", "exceptions", "heatmap"):
        assert "for process owners" in page(client, f"/reports/{name}", 403)
    client = signed_in(app.test_client())
    assert 'data-testid="nav-reports"' in page(client, "/inbox")
    assert client.get("/reports").headers["Location"].endswith("/reports/stuck")


def test_the_stuck_page_lists_the_order_with_its_customer_and_a_link(owner, client,
                                                                      frozen_clock):
    held = place(owner, "C-1004", [("FUR-DESK-1400", 3)])
    signed_in(client)
    assert 'data-testid="stuck-empty"' in page(client, "/reports/stuck")
    clock.travel(timedelta(hours=25))
    html = page(client, "/reports/stuck?process_id=order_lifecycle")
    assert 'data-testid="stuck-total">1<' in html
    assert f'href="/orders/{held}"' in html and "Review credit hold" in html
    assert "credit_controller" in html and "8,068.20 CNY" in html and "25 h" in html
    assert 'data-testid="stuck-total">0<' in page(client, "/reports/stuck?customer=C-1001")
    assert 'data-testid="stuck-total">1<' in page(client, "/reports/stuck?min_age_hours=2")


def test_bad_filters_are_named_and_the_page_still_renders(owner, client):
    signed_in(client)
    html = page(client, "/reports/stuck?min_age_hours=soon&limit=0&version=x")
    assert 'data-testid="filter-errors"' in html
    assert "min_age_hours" in html and "version" in html
    assert 'data-testid="filter-errors"' in page(client, "/reports/sla?period_days=-3")
    assert page(client, "/reports/heatmap?process_id=nope", 404)


def fail_approval(owner, monkeypatch, count=1):  # noqa: F811
    numbers = [place(owner, "C-1001", [("FUR-CHAIR-ERG", 1)]) for _ in range(count)]

    def broken(*args, **kwargs):
        raise RuntimeError("orders service unavailable")
    monkeypatch.setattr(order_domain, "approve", broken)
    for number in numbers:
        owner.complete("sam", number, "approve_supervisor", {"decision": "approve"})
    monkeypatch.undo()
    return numbers


def instance_ids(html):
    return [int(i) for i in re.findall(r'name="instance_id" value="(\d+)"', html)]


def test_retry_one_incident_from_the_page(owner, client, monkeypatch):
    first, second = fail_approval(owner, monkeypatch, 2)
    signed_in(client)
    html = page(client, "/reports/incidents")
    assert 'data-testid="incident-total">2<' in html and "orders service unavailable" in html
    assert "Traceback" in html and f'href="/orders/{first}"' in html
    paged = page(client, "/reports/incidents?limit=1")
    assert "1–1 of 2" in paged and 'rel="next"' in paged and 'rel="prev"' not in paged
    assert 'rel="prev"' in page(client, "/reports/incidents?limit=1&offset=1")
    target = owner.order_row(first).process_instance_id
    response = post(client, "/reports/incidents/actions",
                    {"action": "retry", "scope": "selected", "instance_id": str(target)},
                    token_from="/reports/incidents")
    assert response.status_code == 302
    html = page(client, response.headers["Location"])
    assert "Retry: 1 of 1 instance(s) done." in html
    assert 'data-testid="incident-total">1<' in html
    assert owner.get(first)["status"] == "picking"
    assert owner.get(second)["status"] == "on_hold_incident"


def test_all_matching_and_refused_actions(owner, client, monkeypatch):
    fail_approval(owner, monkeypatch, 3)
    signed_in(client)
    nothing = post(client, "/reports/incidents/actions", {"action": "retry", "scope": "selected"},
                   token_from="/reports/incidents")
    assert "Select at least one instance" in page(client, nothing.headers["Location"])
    no_reason = post(client, "/reports/incidents/actions",
                     {"action": "terminate", "scope": "all", "node_id": "mark_approved"},
                     token_from="/reports/incidents")
    assert "Give a reason to terminate" in page(client, no_reason.headers["Location"])
    suspended = post(client, "/reports/incidents/actions",
                     {"action": "suspend", "scope": "all", "node_id": "mark_approved",
                      "reason": "waiting for the fix"}, token_from="/reports/incidents")
    html = page(client, suspended.headers["Location"])
    assert "Suspend: 3 of 3 instance(s) done." in html
    assert html.count(">Suspended<") == 3
    again = post(client, "/reports/incidents/actions",
                 {"action": "suspend", "scope": "all", "node_id": "mark_approved"},
                 token_from="/reports/incidents")
    assert "Suspend: 0 of 3 instance(s) done. Not done" in page(client, again.headers["Location"])
    owner.session.expire_all()
    assert len(owner.session.scalars(select(Incident).where(Incident.status == "open")).all()) == 3


def test_sla_exceptions_and_heatmap_pages(owner, client, monkeypatch, frozen_clock):
    held = place(owner, "C-1004", [("FUR-DESK-1400", 3)])
    waiting = place(owner, "C-1001", [("FUR-CHAIR-ERG", 1)])
    [broken] = fail_approval(owner, monkeypatch)
    clock.travel(timedelta(hours=30))
    signed_in(client)
    sla = page(client, "/reports/sla")
    assert 'data-testid="overdue-total">1<' in sla and "sales_supervisor" in sla
    assert f'href="/orders/{waiting}"' in sla and "Approve order (supervisor)" in sla

    board = page(client, "/reports/exceptions")
    section = board.split('data-testid="exceptions-credit_hold"')[1].split("</section>")[0]
    assert f'href="/orders/{held}"' in section and "30 h" in section
    assert f'href="/orders/{broken}"' in board.split('data-testid="exceptions-incident"')[1]

    heat = page(client, "/reports/heatmap")
    nodes = {n["node_id"]: n for n in json.loads(re.search(
        r'data-nodes="([^"]*)"', heat).group(1).replace("&#34;", '"'))}
    assert (nodes["approval"]["waiting"], nodes["credit_review"]["waiting"]) == (1, 1)
    assert nodes["mark_approved"]["incidents"] == 1
    assert "js/heatmap.js" in heat and "/reports/heatmap/diagram.bpmn?process_id=order_lifecycle" in heat
    fragment = page(client, "/reports/heatmap/node?process_id=order_lifecycle&node_id=approval")
    assert f'href="/orders/{waiting}"' in fragment and "approve_supervisor" in fragment
    assert "<bpmn:definitions" in page(client, "/reports/heatmap/diagram.bpmn?process_id=order_lifecycle")
    inline = page(client, "/reports/heatmap?process_id=order_lifecycle&node_id=credit_review")
    assert 'data-testid="node-instances"' in inline and f'href="/orders/{held}"' in inline
