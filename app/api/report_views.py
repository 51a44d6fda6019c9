"""The order-aware side of the process owners' reports: the engine's rows joined to their sales
order (business_key = SalesOrder.number) for number, customer and amount, the customer and
amount filters, and the exception board. Used by the API (app/api/reports.py) and the pages."""
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select

from app.domain.orders import WAIT_STATUS
from app.engine import clock, report_heatmap, report_incidents, report_sla, reports
from app.models.engine import Incident, ProcessInstance
from app.models.finance import Invoice
from app.models.sales import Customer, SalesOrder

LABELS = {
    "credit_hold": "Credit hold",
    "shortage": "Short of stock, waiting for goods",
    "carrier_chase": "Carrier chase: no delivery news",
    "dunning": "Dunning, payment overdue",
    "incident": "Stopped by an incident",
    "cancelled": "Cancelled",
}


def _nodes_with(*statuses) -> list[str]:
    return sorted(node for node, status in WAIT_STATUS.items() if status in statuses)


LIFECYCLE = "order_lifecycle"
# Exception paths that are a wait at a node of the lifecycle.
WAIT_CATEGORIES = {
    "credit_hold": _nodes_with("credit_hold"),
    "shortage": _nodes_with("awaiting_stock"),
    "carrier_chase": ["chase_carrier"],  # in transit, and the chase timer has fired
    "dunning": _nodes_with("payment_overdue"),
}


# -- orders beside engine rows ----------------------------------------------------------------
def order_keys(session, customer=None, min_amount=None, max_amount=None):
    """A SELECT of the order numbers the filters allow, or None when there are no filters."""
    if customer is None and min_amount is None and max_amount is None:
        return None
    query = select(SalesOrder.number)
    if customer:
        query = query.join(Customer, Customer.id == SalesOrder.customer_id).where(or_(
            Customer.code == customer, func.lower(Customer.name).contains(customer.lower(),
                                                                           autoescape=True)))
    if min_amount is not None:
        query = query.where(SalesOrder.total >= min_amount)
    if max_amount is not None:
        query = query.where(SalesOrder.total <= max_amount)
    return query


def orders_by_number(session, numbers) -> dict[str, dict]:
    numbers = sorted({n for n in numbers if n})
    if not numbers:
        return {}
    rows = session.execute(
        select(SalesOrder.number, SalesOrder.total, SalesOrder.currency, Customer.code,
               Customer.name).join(Customer, Customer.id == SalesOrder.customer_id)
        .where(SalesOrder.number.in_(numbers)))
    return {number: {"number": number, "amount": total, "currency": currency,
                     "customer_code": code, "customer_name": name}
            for number, total, currency, code, name in rows}


def attach_orders(session, rows: list[dict]) -> list[dict]:
    found = orders_by_number(session, [r.get("business_key") for r in rows])
    for row in rows:
        row["order"] = found.get(row.get("business_key"))
    return rows


# -- the reports ------------------------------------------------------------------------------
def _hours(value):
    return None if value is None else timedelta(hours=value)


def stuck_report(session, args: dict) -> dict:
    keys = order_keys(session, args.get("customer"), args.get("min_amount"),
                      args.get("max_amount"))
    common = {"process_id": args.get("process_id"), "version": args.get("version"),
              "business_keys": keys}
    result = reports.stuck_instances(session, node_id=args.get("node_id"),
                                     min_age=_hours(args.get("min_age_hours")),
                                     limit=args["limit"], offset=args["offset"], **common)
    silent = reports.silent_instances(session, min_age=_hours(args["silent_min_age_hours"]),
                                      limit=args["limit"], **common)
    attach_orders(session, result["items"])
    attach_orders(session, silent["items"])
    return {**result, "silent": silent}


def _incident_filters(session, args: dict) -> dict:
    filters = {k: args.get(k) for k in ("process_id", "version", "node_id", "q")}
    filters["business_keys"] = order_keys(session, args.get("customer"))
    return filters


def incident_report(session, args: dict) -> dict:
    result = report_incidents.incidents(session, status=args["status"], limit=args["limit"],
                                        offset=args["offset"], **_incident_filters(session, args))
    attach_orders(session, result["items"])
    return result


def incident_action(runtime, args: dict, actor) -> dict:
    """One action on the instances named, or on every open incident a filter selects."""
    if "instance_ids" in args:
        ids = args["instance_ids"]
    else:
        ids = report_incidents.incident_selection(
            runtime.session, **_incident_filters(runtime.session, args["filter"]))
    return report_incidents.run_action(runtime, args["action"], ids, actor, args.get("reason"))


def sla_report(session, args: dict) -> dict:
    now = clock.now()
    since = now - timedelta(days=args["period_days"])
    overdue = report_sla.overdue_tasks(
        session, process_id=args.get("process_id"), node_id=args.get("node_id"),
        group=args.get("group"), assignee=args.get("assignee"), limit=args["limit"],
        offset=args["offset"], now=now)
    attach_orders(session, overdue["items"])
    return {"since": since, "until": now, "overdue": overdue,
            "breach_rates": report_sla.breach_rates(session, since=since, until=now,
                                                    process_id=args.get("process_id"), now=now)}


def heatmap_report(session, args: dict) -> dict:
    now = clock.now()
    result = report_heatmap.heatmap(session, args["process_id"],
                                    since=now - timedelta(days=args["period_days"]), now=now)
    node_id = args.get("node_id")
    result["node_id"] = node_id
    result["instances"] = attach_orders(session, report_heatmap.instances_at(
        session, args["process_id"], node_id)) if node_id else None
    return result


# -- the exception board ----------------------------------------------------------------------
def exception_board(session, *, period_days=30, per_group=50, now=None) -> dict:
    """Orders in an exception path now, by category with count and age, oldest first:
    waits at the lifecycle's exception nodes, unpaid invoices in dunning, open incidents,
    and orders cancelled within the period."""
    now = now or clock.now()
    since = now - timedelta(days=period_days)
    found = {category: [] for category in LABELS}
    # Waits: counted and aged in SQL; only each category's oldest rows are read.
    figures = {}
    for category, nodes in WAIT_CATEGORIES.items():
        counts = reports.wait_counts(session, nodes, process_ids=[LIFECYCLE])
        figures[category] = _wait_figures(counts.values(), now)
        found[category] = [
            {"key": row["business_key"], "since": row["since"], "node_id": row["node_id"],
             "instance_id": row["instance_id"], "detail": None}
            for row in reports.waiting_at_nodes(session, nodes, process_ids=[LIFECYCLE],
                                                limit=per_group)]
    # Dunning is also invoices that no wait shows: those orders are added to its figures.
    waiting = reports.waiting_keys(session, WAIT_CATEGORIES["dunning"], process_ids=[LIFECYCLE])
    extra = [d for d in _dunning(session) if d["key"] not in waiting]
    found["dunning"] += extra
    figures["dunning"] = _with_rows(figures["dunning"], extra, now)
    found["incident"] = [
        {"key": key, "since": first, "node_id": node, "instance_id": instance_id,
         "detail": (message or "").splitlines()[0][:200] if message else None}
        for key, first, node, instance_id, message in session.execute(
            select(ProcessInstance.business_key, Incident.first_failure_at, Incident.node_id,
                   Incident.instance_id, Incident.message)
            .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
            .where(Incident.status == "open"))]
    found["cancelled"] = [
        {"key": number, "since": at, "node_id": None, "instance_id": instance_id,
         "detail": reason} for number, at, instance_id, reason in session.execute(
            select(SalesOrder.number, SalesOrder.cancelled_at, SalesOrder.process_instance_id,
                   SalesOrder.end_reason).where(SalesOrder.cancelled_at >= since))]
    orders = orders_by_number(session, [i["key"] for items in found.values() for i in items])
    groups = [_group(category, found[category], orders, now, per_group, figures.get(category))
              for category in LABELS]
    return {"since": since, "total": sum(g["count"] for g in groups), "groups": groups}


def _dunning(session) -> list[dict]:
    """Unpaid invoices with at least one dunning letter (ix_invoice_order for the order)."""
    rows = session.execute(
        select(SalesOrder.number, func.min(Invoice.due_date), func.max(Invoice.dunning_level),
               SalesOrder.process_instance_id)
        .join(SalesOrder, SalesOrder.id == Invoice.order_id)
        .where(Invoice.status == "posted", Invoice.kind == "invoice", Invoice.dunning_level > 0,
               SalesOrder.cancelled_at.is_(None))
        .group_by(SalesOrder.number, SalesOrder.process_instance_id))
    return [{"key": number, "since": datetime.combine(due, time(), tzinfo=timezone.utc),
             "node_id": None, "instance_id": instance_id,
             "detail": f"dunning level {level}"} for number, due, level, instance_id in rows]


def _wait_figures(counts, now) -> dict:
    """count, oldest and average age of a category's waits from the per-node aggregates."""
    counts = [c for c in counts if c["count"]]
    total = sum(c["count"] for c in counts)
    if not total:
        return {"count": 0, "oldest_age_seconds": None, "avg_age_seconds": None}
    oldest = min(c["oldest"] for c in counts)
    mean_epoch = sum(c["avg_epoch"] * c["count"] for c in counts) / total
    return {"count": total, "oldest_age_seconds": int((now - oldest).total_seconds()),
            "avg_age_seconds": round(now.timestamp() - mean_epoch)}


def _with_rows(figures, rows, now) -> dict:
    """Wait figures plus rows known one by one (distinct orders), as one count and ages."""
    keys = {r["key"] for r in rows}
    if not keys:
        return figures
    ages = {r["key"]: int((now - r["since"]).total_seconds()) for r in rows}
    count = figures["count"] + len(keys)
    oldest = max([a for a in (figures["oldest_age_seconds"],) if a is not None]
                 + list(ages.values()))
    total = (figures["avg_age_seconds"] or 0) * figures["count"] + sum(ages.values())
    return {"count": count, "oldest_age_seconds": oldest, "avg_age_seconds": round(total / count)}


def _group(category, items, orders, now, per_group, figures=None) -> dict:
    seen, rows = set(), []
    for item in sorted(items, key=lambda i: i["since"]):
        order = orders.get(item["key"])
        if order is None or item["key"] in seen:  # not an order, or already listed
            continue
        seen.add(item["key"])
        age = int((now - item["since"]).total_seconds())
        rows.append({**order, "since": item["since"], "age_seconds": age,
                     "node_id": item["node_id"], "instance_id": item["instance_id"],
                     "detail": item["detail"], "link": f"/orders/{order['number']}"})
    ages = [r["age_seconds"] for r in rows]
    figures = figures or {"count": len(rows), "oldest_age_seconds": max(ages) if ages else None,
                          "avg_age_seconds": round(sum(ages) / len(ages)) if ages else None}
    return {"category": category, "label": LABELS[category], **figures,
            "items": rows[:per_group]}
