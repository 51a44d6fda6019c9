"""The dashboard page: who sees it, the KPI numbers, chart data, data-quality counts, CSV."""
import csv
import io
import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from app.engine import clock
from app.models.engine import HumanTask, ProcessInstance
from app.models.reporting import SavedFilter
from tests import factories

UTC = timezone.utc


@pytest.fixture
def people(make_user):
    for name, group in (("otto", "process_owner"), ("gina", "general_manager"),
                        ("alice", "sales"), ("root", "admin")):
        make_user(name, group, password="pw")


@pytest.fixture
def facts(session, deployed):
    """One order on credit hold since Tue 3 March; a customer without a credit limit."""
    clock.freeze(datetime(2026, 3, 6, 12, tzinfo=UTC))
    instance = ProcessInstance(process_id="order_lifecycle", deployment_id=deployed.id,
                               business_key="SO-1", status="waiting", state=b"",
                               waiting_at=[])
    session.add(instance)
    session.flush()
    session.add(HumanTask(id="t-1", instance_id=instance.id, process_id="order_lifecycle",
                          business_key="SO-1", node_id="credit_review",
                          node_name="Review credit hold",
                          created_at=datetime(2026, 3, 3, 9, tzinfo=UTC)))
    pl = factories.price_list(session)
    factories.customer(session, "C-NOLIMIT", pl, credit_limit="0", name="Nolimit Ltd")
    session.commit()


def charts(html):
    raw = re.search(r'<script type="application/json" id="kpi-charts">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))


def test_process_owner_sees_numbers_charts_and_data_quality(people, facts, as_user):
    response = as_user("otto").get("/dashboard?from=2026-03-02&to=2026-03-08")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="period">2026-03-02 – 2026-03-08 (7 days, by week)' in html
    hold = html[html.index('data-testid="kpi-credit-hold"'):html.index('data-testid="kpi-dso"')]
    assert '<p class="kpi-value">1 <span class="unit">orders</span>' in hold
    assert "1 put on hold during it" in hold
    assert "N/a until feedback exists" in html
    for chart in ("fulfilment", "cycle", "steps", "approval", "credit_hold", "turnover", "dso"):
        assert f'<canvas id="chart-{chart}" data-chart="{chart}"' in html
    data = charts(html)
    assert data["labels"] == ["2026-03-02"]
    assert data["charts"]["credit_hold"]["datasets"][0] == {"label": "on hold at week end",
                                                           "data": [1.0]}
    assert 'data-testid="dq-customer_credit_limit">1<' in html
    assert 'data-testid="dq-product_price">0<' in html
    assert "C-NOLIMIT Nolimit Ltd" in html and "PATCH /api/customers/C-NOLIMIT" in html
    assert "BOMs referencing inactive items" in html
    assert "chart.js/chart.umd.min.js" in html and "js/dashboard.js" in html
    assert '>Dashboard</a>' in html  # the header link


@pytest.mark.parametrize("user", ["gina", "root"])
def test_general_managers_and_admins_see_it(people, as_user, user):
    page = as_user(user).get("/dashboard")
    assert page.status_code == 200 and ">Dashboard</a>" in page.get_data(as_text=True)


def test_sales_does_not_see_it(people, as_user):
    client = as_user("alice")
    assert ">Dashboard</a>" not in client.get("/inbox").get_data(as_text=True)
    refused = client.get("/dashboard")
    assert refused.status_code == 403
    assert "for process owners and general managers" in refused.get_data(as_text=True)
    assert client.get("/dashboard/kpis.csv").status_code == 403


def test_signed_out_users_go_to_the_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_csv_download(people, facts, as_user):
    response = as_user("otto").get("/dashboard/kpis.csv?from=2026-03-02&to=2026-03-08")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "kpis-2026-03-02-2026-03-08.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert ["orders_on_credit_hold", "", "", "1", "orders"] in rows


@pytest.mark.parametrize("query, message", [
    ("from=yesterday", "from: a date like 2026-03-02"),
    ("from=2026-03-09&to=2026-03-08", "from: must be on or before"),
])
def test_a_bad_period_is_a_readable_400(people, as_user, query, message):
    response = as_user("otto").get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_saved_kpi_views_are_links(people, as_user, session):
    session.add_all([
        SavedFilter(owner="otto", name="Q1", report="kpis",
                    query={"from": "2026-01-01", "to": "2026-03-31"}),
        SavedFilter(owner="gina", name="Shared view", report="kpis", query={"from": "2026-02-01"},
                    shared=True),
        SavedFilter(owner="gina", name="Private view", report="kpis", query={}),
        SavedFilter(owner="otto", name="Stuck ones", report="stuck", query={}),
    ])
    session.commit()
    html = as_user("otto").get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard?from=2026-01-01&amp;to=2026-03-31"' in html
    assert ">Q1</a>" in html and ">Shared view</a>" in html
    assert "Private view" not in html and "Stuck ones" not in html


def test_without_data_the_figures_are_dashes(people, as_user):
    html = as_user("otto").get("/dashboard?from=2026-03-02&to=2026-03-08").get_data(as_text=True)
    fulfilment = html[html.index('data-testid="kpi-fulfilment"'):
                      html.index('data-testid="kpi-cycle"')]
    assert '<p class="kpi-value">—</p>' in fulfilment
    assert "0 of 0 orders due" in fulfilment
    assert "No steps completed in the period." in html


def test_chart_data_converts_ratios_to_percent():
    from app.web.dashboard import chart_data

    week = {"week": date(2026, 3, 2), "value": Decimal("0.6667"), "count": 0, "p50": None,
            "p90": None, "entered": 0}
    result = {"weeks": [date(2026, 3, 2)], "fulfilment_rate": {"series": [week]},
              "order_cycle_time": {"series": [week], "steps": [
                  {"node_id": "pick_pack", "node_name": "Pick and pack",
                   "series": [{**week, "p50": Decimal("2.50")}]}]},
              "approval_lead_time": {"series": [week]}, "credit_hold": {"series": [week]},
              "inventory_turnover": {"groups": []}, "dso": {"series": [week]}}
    data = chart_data(result)
    assert data["charts"]["fulfilment"]["datasets"][0]["data"] == [66.67]
    assert data["charts"]["steps"]["datasets"] == [{"label": "Pick and pack", "data": [2.5]}]
    assert data["charts"]["cycle"]["datasets"][0]["data"] == [None]
