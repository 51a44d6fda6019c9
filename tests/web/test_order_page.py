"""The order page: status, lines, documents, history, and the diagram of its process version."""
import json
import re

from app.web import order_context
from tests.web.helpers import order_with_process


def data_attr(html, name):
    raw = re.search(rf'{name}="([^"]*)"', html).group(1)
    return json.loads(raw.replace("&#34;", '"').replace("&quot;", '"'))


def test_order_page_shows_the_order_and_where_it_waits(session, runtime, team, as_user):
    order_with_process(session, runtime, "SO-2026-0001")
    response = as_user("wendy").get("/orders/SO-2026-0001")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Order SO-2026-0001" in html and "Acme Trading" in html and "2,034.00 CNY" in html
    assert 'data-testid="order-status">Open<' in html
    assert data_attr(html, "data-waiting") == ["approve"]
    assert {"start_event", "compute_total", "big_gateway"} <= set(data_attr(html, "data-passed"))
    assert "Waiting for" in html and "Approve" in html
    assert "Process started" in html and "Compute total <span class=\"muted\">· service task done" in html
    assert "bpmn-navigated-viewer.production.min.js" in html


def test_the_diagram_is_the_instance_process_file(session, runtime, team, as_user):
    order_with_process(session, runtime, "SO-2026-0001")
    response = as_user("sam").get("/orders/SO-2026-0001/diagram.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    xml = response.get_data(as_text=True)
    assert '<bpmn:process id="basic_flow"' in xml and "BPMNDiagram" in xml


def test_documents_come_from_the_domain_and_a_missing_piece_shows_a_dash(
        session, runtime, team, as_user, monkeypatch):
    order_with_process(session, runtime, "SO-2026-0001")
    client = as_user("sam")
    html = client.get("/orders/SO-2026-0001").get_data(as_text=True)
    assert "No stock reserved yet." in html and "Nothing shipped yet." in html
    assert "No invoices yet." in html and "No payments yet." in html

    monkeypatch.setitem(order_context.PIECES, "shipments", (("app.domain.nowhere", "x"),))

    def broken(session, order_id):
        raise RuntimeError("half-finished")
    monkeypatch.setitem(order_context.PIECES, "reservations",
                        (("tests.web.test_order_page", "_broken"),))
    monkeypatch.setattr(__import__("tests.web.test_order_page", fromlist=["_"]), "_broken",
                        broken, raising=False)
    response = client.get("/orders/SO-2026-0001")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shipments = html[html.index('data-testid="shipments"'):html.index('data-testid="invoices"')]
    reservations = html[html.index('data-testid="reservations"'):
                        html.index('data-testid="shipments"')]
    assert "—" in shipments and "—" in reservations
    assert "Acme Trading" in html  # the rest of the page still there
