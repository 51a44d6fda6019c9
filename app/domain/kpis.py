"""KPIs of the order-to-cash flow over a period, as one figure each and a weekly series.

Every figure is computed from facts already recorded (no KPI table to keep in step):
- fulfilment rate: orders due in the period (due = end of ``requested_date`` when given, else
  ``created_at`` + N days) that were delivered complete by then, over all orders due (cancelled
  and rejected orders left out; an order not yet due and not yet complete is not decided yet);
- order cycle time: order entered -> order closed (fully paid), p50/p90; and per step of
  ``order_lifecycle`` the time from the previous step's completion to this one's (the step
  history in instance_event); user tasks from task created to completed;
- approval lead time: approval requested (``approval_start``) -> decision recorded
  (``approval_decided``), per approval round;
- orders on credit hold: open "Review credit hold" tasks at the end of the period / each week;
- inventory turnover days per product group, without costs: stock and issues are valued at the
  product's list price (first active price list, lowest quantity break), so
  turnover days = time-weighted average stock value / issued value per day;
- days sales outstanding: receivables (the journal's accounts_receivable balance) at the end /
  credit sales (receivables booked in the period, payments left out) x days in the period;
- customer satisfaction: the average score (1–5) of the return surveys answered in the period,
  per month too; n/a while none were answered.
Weeks are ISO weeks (Monday first), clipped to the period; times are UTC.
"""
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from app.domain import surveys
from app.domain.errors import Invalid
from app.models.engine import HumanTask, InstanceEvent, ProcessInstance
from app.models.finance import JournalEntry, JournalLine
from app.models.inventory import Product, StockLedger
from app.models.sales import ItemPrice, PriceList, SalesOrder, SalesOrderLine
from app.models.shipping import Shipment, ShipmentLine
from app.models.types import ZERO, UTCDateTime, utcnow

UTC = timezone.utc
ORDER_PROCESS = "order_lifecycle"
DEFAULT_FULFILMENT_DAYS = 7
DEFAULT_WEEKS = 12
MAX_PERIOD_DAYS = 371  # a year of whole weeks
# Containers and routing nodes: no time is spent "at" them.
NOT_STEPS = ("StartEvent", "EndEvent", "ExclusiveGateway", "ParallelGateway", "InclusiveGateway",
             "SubWorkflowTask", "CallActivity", "UserTask")
SATISFACTION_NOTE = "n/a until feedback exists"
UNGROUPED = "(no group)"
HOUR, DAY = Decimal(3600), Decimal(86400)
RATIO, CENTS, DAYS = Decimal("0.0001"), Decimal("0.01"), Decimal("0.1")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(start: date | None = None, end: date | None = None, today: date | None = None) -> Period:
    """The period asked for; by default the last 12 weeks up to today."""
    end = end or today or utcnow().date()
    start = start or end - timedelta(days=end.weekday() + 7 * (DEFAULT_WEEKS - 1))
    if start > end:
        raise Invalid("invalid period", details=[{"field": "from",
                                                  "message": "must be on or before 'to'"}])
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid("invalid period", details=[{"field": "to", "message": "a period of at "
                                                  f"most {MAX_PERIOD_DAYS} days"}])
    return Period(start, end)


def weeks(p: Period) -> list[tuple[date, Period]]:
    """(Monday, the part of that week inside the period) for every week the period touches."""
    first = p.start - timedelta(days=p.start.weekday())
    mondays = [first + timedelta(weeks=n) for n in range((p.end - first).days // 7 + 1)]
    return [(monday, Period(max(monday, p.start), min(monday + timedelta(days=6), p.end)))
            for monday in mondays]


def _labels(p: Period) -> list[date]:
    return [monday for monday, _ in weeks(p)]


def _week_of(moment, p: Period) -> int:
    day = moment.date() if isinstance(moment, datetime) else moment
    return (day - (p.start - timedelta(days=p.start.weekday()))).days // 7


def _seconds(delta: timedelta) -> int:
    return delta.days * 86400 + delta.seconds


def percentile(values, q: str) -> Decimal | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(Decimal(v) for v in values)
    rank = (len(ordered) - 1) * Decimal(q)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _hours(seconds: Decimal | None) -> Decimal | None:
    return None if seconds is None else (seconds / HOUR).quantize(CENTS)


def _spread(seconds: list[int]) -> dict:
    return {"count": len(seconds), "p50": _hours(percentile(seconds, "0.5")),
            "p90": _hours(percentile(seconds, "0.9"))}


def _weekly_spread(samples: list[tuple[datetime, int]], p: Period) -> list[dict]:
    """samples: (when it ended, seconds) -> p50/p90 per week."""
    labels = _labels(p)
    per_week = [[] for _ in labels]
    for moment, seconds in samples:
        per_week[_week_of(moment, p)].append(seconds)
    return [{"week": label, **_spread(values)} for label, values in zip(labels, per_week)]


def compute(session, p: Period, *, fulfilment_days: int = DEFAULT_FULFILMENT_DAYS,
            now: datetime | None = None) -> dict:
    """All KPIs of the period: {name: {headline figures..., "series": [per week]}}."""
    # Facts recorded at this very moment (a payment just booked) count as before "now".
    now = (now or utcnow()) + timedelta(microseconds=1)
    return {
        "period": {"from": p.start, "to": p.end, "days": p.days},
        "weeks": _labels(p),
        "settings": {"fulfilment_days": fulfilment_days},
        "fulfilment_rate": fulfilment_rate(session, p, fulfilment_days, now),
        "order_cycle_time": order_cycle_time(session, p),
        "approval_lead_time": approval_lead_time(session, p),
        "credit_hold": credit_hold(session, p, now),
        "inventory_turnover": inventory_turnover(session, p, now),
        "dso": days_sales_outstanding(session, p, now),
        "customer_satisfaction": customer_satisfaction(session, p),
    }


def customer_satisfaction(session, p: Period) -> dict:
    """Average survey score (1–5) of the surveys answered in the period, and per month."""
    figures = surveys.satisfaction_by_month(session, p.start, p.end)
    if not figures["count"]:
        return {"value": None, "note": SATISFACTION_NOTE}
    return {**figures, "note": f"average score (1-5) of {figures['count']} answered surveys"}


# ------------------------------------------------------------------ fulfilment

def _ratio(hits: int, total: int) -> Decimal | None:
    return (Decimal(hits) / Decimal(total)).quantize(RATIO) if total else None


def fulfilment_rate(session, p: Period, days: int, now: datetime) -> dict:
    """Share of the orders due in the period that were delivered complete by their due time."""
    n = timedelta(days=days)
    orders = session.execute(select(SalesOrder.id, SalesOrder.requested_date, SalesOrder.created_at)
                             .where(SalesOrder.cancelled_at.is_(None),
                                    SalesOrder.rejected_at.is_(None),
                                    or_(and_(SalesOrder.requested_date.is_not(None),
                                             SalesOrder.requested_date.between(p.start, p.end)),
                                        and_(SalesOrder.requested_date.is_(None),
                                             SalesOrder.created_at >= p.start_at - n,
                                             SalesOrder.created_at < p.end_at - n)))).all()
    due_by = {oid: datetime.combine(requested, time.max, UTC) if requested else created + n
              for oid, requested, created in orders}
    ordered: dict[int, dict[int, Decimal]] = {oid: {} for oid in due_by}
    for oid, line_id, qty in session.execute(
            select(SalesOrderLine.order_id, SalesOrderLine.id, SalesOrderLine.quantity)
            .where(SalesOrderLine.order_id.in_(list(due_by)))):
        ordered[oid][line_id] = qty
    delivered: dict[int, dict[int, Decimal]] = {oid: {} for oid in due_by}
    for oid, line_id, qty, at in session.execute(
            select(Shipment.order_id, ShipmentLine.order_line_id, ShipmentLine.quantity,
                   Shipment.delivered_at).select_from(ShipmentLine).join(Shipment)
            .where(Shipment.order_id.in_(list(due_by)), Shipment.status == "delivered",
                   Shipment.delivered_at.is_not(None))):
        if at <= due_by[oid]:
            delivered[oid][line_id] = delivered[oid].get(line_id, ZERO) + qty
    labels = _labels(p)
    hits, totals = [0] * len(labels), [0] * len(labels)
    for oid, deadline in due_by.items():
        complete = bool(ordered[oid]) and all(
            delivered[oid].get(line_id, ZERO) >= qty for line_id, qty in ordered[oid].items())
        if not complete and deadline > now:
            continue  # not due yet and still open: undecided
        week = _week_of(deadline, p)
        totals[week] += 1
        hits[week] += complete
    return {"value": _ratio(sum(hits), sum(totals)), "on_time": sum(hits), "due": sum(totals),
            "unit": "ratio",
            "series": [{"week": label, "value": _ratio(h, t), "on_time": h, "due": t}
                       for label, h, t in zip(labels, hits, totals)]}


# ------------------------------------------------------------------ cycle and lead times

def order_cycle_time(session, p: Period) -> dict:
    """End to end (entered -> closed) and per step, in hours."""
    closed = [(closed_at, _seconds(closed_at - created)) for created, closed_at in session.execute(
        select(SalesOrder.created_at, SalesOrder.closed_at)
        .where(SalesOrder.closed_at >= p.start_at, SalesOrder.closed_at < p.end_at))]
    steps: dict[str, dict] = {}
    for node_id, node_name, at, seconds in _step_samples(session, p):
        step = steps.setdefault(node_id, {"node_id": node_id, "node_name": node_name,
                                          "samples": []})
        step["samples"].append((at, seconds))
    rows = []
    for step in steps.values():
        samples = step.pop("samples")
        rows.append({**step, **_spread([s for _, s in samples]),
                     "series": _weekly_spread(samples, p)})
    rows.sort(key=lambda r: (-(r["p90"] or 0), -(r["p50"] or 0), r["node_id"]))
    return {"unit": "hours", **_spread([s for _, s in closed]),
            "series": _weekly_spread(closed, p), "steps": rows}


def _step_samples(session, p: Period) -> list[tuple[str, str, datetime, int]]:
    """(node, name, completed at, seconds since the previous step) of the period's steps."""
    ev = InstanceEvent
    history = (select(ev.kind, ev.node_id, ev.node_name, ev.node_type, ev.at,
                      func.lag(ev.at, type_=UTCDateTime()).over(
                          partition_by=ev.instance_id, order_by=ev.id).label("previous_at"))
               .join(ProcessInstance, ProcessInstance.id == ev.instance_id)
               .where(ProcessInstance.process_id == ORDER_PROCESS,
                      ev.kind.in_(("started", "step", "task_completed")), ev.at < p.end_at)
               .subquery())
    samples = [(node_id, name, at, _seconds(at - previous)) for node_id, name, at, previous in
               session.execute(select(history.c.node_id, history.c.node_name, history.c.at,
                                      history.c.previous_at)
                               .where(history.c.kind == "step", history.c.at >= p.start_at,
                                      history.c.node_type.not_in(NOT_STEPS),
                                      history.c.previous_at.is_not(None)))]
    # A user task from created to completed: a reminder in between must not restart its clock.
    samples += [(node_id, name, done, _seconds(done - created))
                for node_id, name, created, done in session.execute(
                    select(HumanTask.node_id, HumanTask.node_name, HumanTask.created_at,
                           HumanTask.completed_at)
                    .where(HumanTask.process_id == ORDER_PROCESS, HumanTask.state == "completed",
                           HumanTask.completed_at >= p.start_at,
                           HumanTask.completed_at < p.end_at))]
    return samples


def approval_lead_time(session, p: Period) -> dict:
    """Approval requested -> decision recorded, per round decided in the period, in hours."""
    ev = InstanceEvent
    rows = session.execute(
        select(ev.instance_id, ev.node_id, ev.at)
        .join(ProcessInstance, ProcessInstance.id == ev.instance_id)
        .where(ProcessInstance.process_id == ORDER_PROCESS, ev.kind == "step",
               ev.node_id.in_(("approval_start", "approval_decided")), ev.at < p.end_at)
        .order_by(ev.instance_id, ev.id))
    requested: dict[int, datetime] = {}
    samples = []
    for instance_id, node_id, at in rows:
        if node_id == "approval_start":
            requested[instance_id] = at
        elif instance_id in requested:
            started = requested.pop(instance_id)
            if at >= p.start_at:
                samples.append((at, _seconds(at - started)))
    return {"unit": "hours", **_spread([s for _, s in samples]),
            "series": _weekly_spread(samples, p)}


# ------------------------------------------------------------------ credit hold

def credit_hold(session, p: Period, now: datetime) -> dict:
    """Orders on credit hold at the end of the period (or now) and of each week; holds started."""
    holds = session.execute(select(HumanTask.created_at, HumanTask.completed_at).where(
        HumanTask.process_id == ORDER_PROCESS, HumanTask.node_id == "credit_review",
        HumanTask.created_at < p.end_at,
        or_(HumanTask.completed_at.is_(None), HumanTask.completed_at >= p.start_at))).all()

    def held_at(moment):
        return sum(1 for start, end in holds if start < moment and (end is None or end > moment))

    def entered(q: Period):
        return sum(1 for start, _ in holds if q.start_at <= start < q.end_at)

    series = [{"week": monday, "entered": entered(q),
               "value": held_at(min(q.end_at, now)) if q.start_at <= now else None}
              for monday, q in weeks(p)]
    return {"value": held_at(min(p.end_at, now)), "entered": entered(p), "unit": "orders",
            "series": series}


# ------------------------------------------------------------------ inventory turnover

def valuation_prices(session) -> dict[int, Decimal]:
    """Product id -> list price on the first active price list that has it (lowest break)."""
    prices: dict[int, Decimal] = {}
    for product_id, price in session.execute(
            select(ItemPrice.product_id, ItemPrice.unit_price).join(PriceList)
            .where(PriceList.active.is_(True))
            .order_by(PriceList.id, ItemPrice.min_qty, ItemPrice.id)):
        prices.setdefault(product_id, price)
    return prices


def inventory_turnover(session, p: Period, now: datetime) -> dict:
    """Per product group: issued value and time-weighted average stock value; turnover days =
    stock-value-days / issued value (the days the average stock lasts at the issue rate)."""
    end = min(p.end_at, now)
    buckets = [(monday, q.start_at, min(q.end_at, end)) for monday, q in weeks(p)]
    prices = valuation_prices(session)
    group_of = {pid: group or UNGROUPED for pid, group in
                session.execute(select(Product.id, Product.item_group))}
    value: dict[str, Decimal] = {}
    for product_id, qty in session.execute(
            select(StockLedger.product_id, func.sum(StockLedger.quantity))
            .where(StockLedger.at < p.start_at).group_by(StockLedger.product_id)):
        group = group_of[product_id]
        value[group] = value.get(group, ZERO) + Decimal(qty) * prices.get(product_id, ZERO)
    stock_seconds = [{} for _ in buckets]  # value x seconds, per group
    issued = [{} for _ in buckets]
    cursor, index = p.start_at, 0

    def run_until(moment):  # integrate the current stock value from cursor to moment
        nonlocal cursor, index
        while index < len(buckets) and cursor < moment:
            edge = min(moment, buckets[index][2])
            for group, amount in value.items():
                acc = stock_seconds[index]
                acc[group] = acc.get(group, ZERO) + amount * _seconds(edge - cursor)
            cursor = edge
            if edge >= buckets[index][2]:
                index += 1

    for product_id, qty, kind, at in session.execute(
            select(StockLedger.product_id, StockLedger.quantity, StockLedger.kind, StockLedger.at)
            .where(StockLedger.at >= p.start_at, StockLedger.at < end)
            .order_by(StockLedger.at, StockLedger.id)):
        run_until(at)
        group, amount = group_of[product_id], qty * prices.get(product_id, ZERO)
        value[group] = value.get(group, ZERO) + amount
        if kind == "issue":
            week = issued[_week_of(at, p)]
            week[group] = week.get(group, ZERO) - amount
    run_until(end)
    groups = sorted(set(value) | {g for week in issued for g in week})
    rows = []
    for group in groups:
        series = [_turnover(monday, start, stop, stock_seconds[i].get(group, ZERO),
                            issued[i].get(group, ZERO))
                  for i, (monday, start, stop) in enumerate(buckets)]
        total = _turnover(None, p.start_at, end, sum((s.get(group, ZERO) for s in stock_seconds),
                                                     ZERO),
                          sum((w.get(group, ZERO) for w in issued), ZERO))
        total.pop("week")
        rows.append({"group": group, **total, "series": series})
    return {"unit": "days", "valuation": "list price of the first active price list "
            "(no cost prices yet)", "groups": rows}


def _turnover(monday, start, stop, value_seconds: Decimal, issued: Decimal) -> dict:
    elapsed = _seconds(stop - start)
    if elapsed <= 0:
        return {"week": monday, "days": None, "issued_value": None, "average_stock_value": None}
    return {"week": monday,
            "days": (value_seconds / DAY / issued).quantize(DAYS) if issued > 0 else None,
            "issued_value": issued.quantize(CENTS),
            "average_stock_value": (value_seconds / elapsed).quantize(CENTS)}


# ------------------------------------------------------------------ DSO

def days_sales_outstanding(session, p: Period, now: datetime) -> dict:
    """Receivables at the end / credit sales of the period x its days (elapsed days only)."""
    ar = (select(JournalEntry.doc_type, JournalEntry.posted_at, JournalLine.debit,
                 JournalLine.credit).select_from(JournalLine).join(JournalEntry)
          .where(JournalLine.account == "accounts_receivable"))
    opening = Decimal(session.scalar(
        select(func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0))
        .join(JournalEntry).where(JournalLine.account == "accounts_receivable",
                                  JournalEntry.posted_at < p.start_at)))
    moves = session.execute(ar.where(JournalEntry.posted_at >= p.start_at,
                                     JournalEntry.posted_at < p.end_at)
                            .order_by(JournalEntry.posted_at)).all()

    def figures(monday, start, stop):
        if stop <= start:
            return {"week": monday, "value": None, "receivables": None, "credit_sales": None}
        balance = opening + sum((d - c for _, at, d, c in moves if at < stop), ZERO)
        sales = sum((d - c for doc, at, d, c in moves if start <= at < stop and doc != "payment"),
                    ZERO)
        days = Decimal(_seconds(stop - start)) / DAY
        value = (balance / sales * days).quantize(DAYS) if sales > 0 else None
        return {"week": monday, "value": value, "receivables": balance, "credit_sales": sales}

    total = figures(None, p.start_at, min(p.end_at, now))
    total.pop("week")
    return {"unit": "days", **total,
            "series": [figures(monday, q.start_at, min(q.end_at, now)) for monday, q in weeks(p)]}


# ------------------------------------------------------------------ CSV

def csv_rows(result: dict) -> list[list]:
    """Long format: kpi, week ("" = whole period), dimension (step / product group), value, unit."""
    rows = [["kpi", "week", "dimension", "value", "unit"]]

    def add(kpi, week, dimension, value, unit):
        rows.append([kpi, week.isoformat() if week else "", dimension,
                     "" if value is None else str(value), unit])

    def add_series(kpi, block, key, unit, dimension=""):
        add(kpi, None, dimension, block[key], unit)
        for point in block["series"]:
            add(kpi, point["week"], dimension, point[key], unit)

    add_series("fulfilment_rate", result["fulfilment_rate"], "value", "ratio")
    add_series("fulfilment_due_orders", result["fulfilment_rate"], "due", "orders")
    cycle = result["order_cycle_time"]
    for q in ("p50", "p90"):
        add_series(f"order_cycle_time_{q}", cycle, q, "hours")
    for step in cycle["steps"]:
        for q in ("p50", "p90"):
            add_series(f"step_cycle_time_{q}", step, q, "hours", step["node_id"])
    for q in ("p50", "p90"):
        add_series(f"approval_lead_time_{q}", result["approval_lead_time"], q, "hours")
    add_series("orders_on_credit_hold", result["credit_hold"], "value", "orders")
    for group in result["inventory_turnover"]["groups"]:
        add_series("inventory_turnover", group, "days", "days", group["group"])
    add_series("dso", result["dso"], "value", "days")
    satisfaction = result["customer_satisfaction"]
    if satisfaction["value"] is None:
        add("customer_satisfaction", None, "", SATISFACTION_NOTE, "")
    else:
        add("customer_satisfaction", None, "", satisfaction["value"], "score")
        for month in satisfaction["months"]:
            add("customer_satisfaction", None, month["month"], month["average"], "score")
    return rows


def to_csv(result: dict) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(result))
    return out.getvalue()
