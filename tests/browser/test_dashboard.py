"""The dashboard in Chromium: every KPI chart is drawn by Chart.js from four weeks of facts."""
from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from app.engine import clock
from app.models.engine import HumanTask, InstanceEvent, ProcessInstance
from app.models.sales import SalesOrder
from tests import factories
from tests.domain.test_kpis import _deliver, _move, _order, _posting

UTC = timezone.utc
FIRST_MONDAY = date(2026, 2, 9)
CHARTS = ("fulfilment", "cycle", "steps", "approval", "credit_hold", "turnover", "dso")


def moment(week, day=0, hour=9):
    start = datetime.combine(FIRST_MONDAY, datetime.min.time(), UTC)
    return start + timedelta(weeks=week, days=day, hours=hour)


@pytest.fixture
def four_weeks(session, make_user, deployed):
    """Orders due and delivered, closed orders, approval rounds, credit holds, stock moves and
    receivables in each of the four weeks from Mon 9 February 2026."""
    clock.freeze(moment(4, hour=12))
    make_user("otto", "process_owner", password="pw")
    pl = factories.price_list(session)
    cust = factories.customer(session, "C-1", pl, name="Hengtai Trading")
    chair = factories.product(session, "CHAIR", price="100", pl=pl, item_group="furniture")
    paper = factories.product(session, "PAPER", price="20", pl=pl, item_group="consumables")
    bin_id = factories.warehouse(session).bins[0].id
    _move(session, chair, bin_id, "40", "receipt", moment(0, hour=0) - timedelta(days=1))
    _move(session, paper, bin_id, "200", "receipt", moment(0, hour=0) - timedelta(days=1))
    instance = ProcessInstance(process_id="order_lifecycle", deployment_id=deployed.id,
                               business_key="SO-X", status="waiting", state=b"", waiting_at=[])
    session.add(instance)
    session.flush()
    for week in range(4):
        for n in range(week + 2):
            order = _order(session, cust, chair, f"SO-{week}-{n}", ["1"],
                           requested=FIRST_MONDAY + timedelta(weeks=week, days=3))
            _deliver(session, order, bin_id, ["1"], moment(week, day=2 + n % 3))
        closed = session.get(SalesOrder, order.id)
        closed.created_at, closed.closed_at = moment(week), moment(week, day=3 + week)
        _move(session, chair, bin_id, str(-(week + 3)), "issue", moment(week, day=2))
        _move(session, paper, bin_id, str(-10 * (4 - week)), "issue", moment(week, day=3))
        _posting(session, "invoice", moment(week, day=1), debit=str(1000 * (week + 1)))
        _posting(session, "payment", moment(week, day=4), credit=str(600 * (week + 1)))
        for node_id, hours in (("approval_start", 0), ("approval_decided", 2 * week + 3)):
            session.add(InstanceEvent(instance_id=instance.id, kind="step", node_id=node_id,
                                      node_type="StartEvent", at=moment(week, hour=9 + hours)))
        for n in range(week + 1):
            session.add(HumanTask(id=f"hold-{week}-{n}", instance_id=instance.id,
                                  process_id="order_lifecycle", business_key="SO-X",
                                  node_id="credit_review", node_name="Review credit hold",
                                  state="completed" if n else "open", created_at=moment(week),
                                  completed_at=moment(week, day=1 + n) if n else None))
    session.commit()


def test_the_dashboard_draws_every_chart(page, sign_in, screenshot, four_weeks):
    sign_in("otto")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard")
    page.get_by_label("From").fill("2026-02-09")
    page.get_by_label("To").fill("2026-03-08")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/dashboard?from=2026-02-09&to=2026-03-08")
    expect(page.get_by_test_id("period")).to_contain_text("2026-02-09 – 2026-03-08")
    expect(page.get_by_test_id("kpi-credit-hold").locator(".kpi-value")).to_have_text("4 orders")
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-chart]'))
        .map(canvas => {
          const chart = window.Chart.getChart(canvas);
          const pixels = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
          return {id: canvas.dataset.chart, width: canvas.width, painted: painted,
                  points: chart ? chart.data.datasets.reduce(
                    (n, set) => n + set.data.filter(v => v !== null).length, 0) : -1};
        })""")
    assert sorted(c["id"] for c in drawn) == sorted(CHARTS)
    for chart in drawn:
        assert chart["width"] > 100, chart
        assert chart["painted"] > 1000, chart  # axes, lines and legend, not a blank canvas
        assert chart["points"] > 0, chart  # every chart has real figures to draw
    quality = page.get_by_test_id("data-quality")
    quality.locator('[data-check="product_weight"] summary').click()
    expect(quality.get_by_role("link", name="PATCH /api/products/CHAIR")).to_be_visible()
    screenshot("dashboard")
