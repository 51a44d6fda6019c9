"""The heatmap: per node of a diagram, how many instances wait there now and how long instances
spent there over a period (from the history), and the instances behind a node."""
import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.engine import clock
from app.engine.reports import latest, nodes_of, waiting_at_nodes
from app.models.engine import (
    RUNNING,
    SUSPENDED,
    WAITING,
    Deployment,
    DeploymentFile,
    Incident,
    InstanceEvent,
    InstanceWait,
    NodeVisit,
    ProcessDefinition,
    ProcessInstance,
)

# Node types an instance can stand on for a while; the heatmap times these.
WAIT_NODE_TYPES = ("UserTask", "ManualTask", "IntermediateCatchEvent", "ReceiveTask",
                   "EventBasedGateway", "CallActivity", "SubWorkflowTask", "TransactionSubprocess")
DONE_KINDS = ("step", "task_completed")  # history rows that mean "this node completed"


def _callers(parsed, process_id) -> list[str]:
    """Processes whose instances can stand on ``process_id``'s nodes: itself and its callers."""
    return sorted({process_id} | {pid for pid, subs in parsed.subprocess_specs.items()
                                  if process_id in subs})


def _owners(parsed, process_id, nodes) -> dict[str, str]:
    """Node id -> the node of this diagram it counts for: itself, or the call activity whose
    called process it belongs to (an order waiting for approval stands on "approval")."""
    owner = {node_id: node_id for node_id in nodes}
    for node_id, info in nodes.items():
        if info["calls"]:
            for inner in nodes_of(parsed, info["calls"]):
                owner.setdefault(inner, node_id)
    return owner


def _count_by_owner(rows, owner) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node_id, count in rows:
        counts[owner[node_id]] = counts.get(owner[node_id], 0) + count
    return counts


def heatmap(session, process_id: str, *, since: datetime, now=None) -> dict:
    """Per node of ``process_id``'s diagram (latest version): instances waiting there now,
    open incidents there, and the time instances spent there over [since, now]: the stays
    that ended in the period (node_visit); for a call activity, from its completion in the
    history back to the completion of a predecessor that led there.
    Waits and incidents inside a called process count for the call activity.

    Counts: instance_wait (ix_wait_process_node, index only), incidents
    by ix_incident_status_instance. Times: ix_visit_process_left; a call activity's from
    ix_event_node_at and ix_event_instance."""
    now = now or clock.now()
    parsed = latest(session, process_id)
    nodes = nodes_of(parsed, process_id, own_file_only=True)
    owner = _owners(parsed, process_id, nodes)
    callers = _callers(parsed, process_id)
    counts = _count_by_owner(session.execute(
        select(InstanceWait.node_id, func.count())
        .where(InstanceWait.process_id.in_(callers), InstanceWait.node_id.in_(sorted(owner)),
               InstanceWait.status.in_((RUNNING, WAITING, SUSPENDED)))
        .group_by(InstanceWait.node_id)), owner)
    incident_counts = _count_by_owner(session.execute(
        select(Incident.node_id, func.count()).join(
            ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(Incident.status == "open", ProcessInstance.process_id.in_(callers),
               Incident.node_id.in_(sorted(owner))).group_by(Incident.node_id)), owner)
    visits = _visit_figures(session, callers, since, now)
    result = []
    for node_id, info in sorted(nodes.items()):
        timed = info["type"] in WAIT_NODE_TYPES
        if timed and info["calls"]:  # a called process has no stay of its own: its history
            spent = _time_spent(session, node_id, info["preds"], callers, since, now)
            figures = {"visits": len(spent),
                       "avg_seconds": round(sum(spent) / len(spent)) if spent else None,
                       "p90_seconds": _percentile(spent, 0.9)}
        else:
            figures = visits.get(node_id) if timed else None
            figures = figures or {"visits": 0, "avg_seconds": None, "p90_seconds": None}
        result.append({"node_id": node_id, "name": info["name"], "type": info["type"],
                       "waiting": counts.get(node_id, 0),
                       "incidents": incident_counts.get(node_id, 0), "timed": timed,
                       **figures})
    return {"process_id": process_id, "since": since, "until": now, "nodes": result,
            "waiting_total": sum(counts.values()),
            "incidents_total": sum(incident_counts.values())}


def _visit_figures(session, callers, since, now) -> dict[str, dict]:
    """node -> visits, mean and nearest-rank p90 of the stays that ended in [since, now], in one
    statement over node_visit (ix_visit_process_left); the p90 row is picked by a window."""
    period = [NodeVisit.process_id.in_(callers), NodeVisit.left_at >= since,
              NodeVisit.left_at <= now]
    if session.get_bind().dialect.name == "postgresql":  # one pass: an ordered-set aggregate
        p90 = func.percentile_disc(0.9).within_group(NodeVisit.seconds)
        return {node: {"visits": count, "avg_seconds": round(float(avg)), "p90_seconds": int(p)}
                for node, count, avg, p in session.execute(
                    select(NodeVisit.node_id, func.count(), func.avg(NodeVisit.seconds), p90)
                    .where(*period).group_by(NodeVisit.node_id))}
    totals = {node: (count, avg) for node, count, avg in session.execute(
        select(NodeVisit.node_id, func.count(), func.avg(NodeVisit.seconds))
        .where(*period).group_by(NodeVisit.node_id))}
    ranked = select(
        NodeVisit.node_id, NodeVisit.seconds,
        func.row_number().over(partition_by=NodeVisit.node_id,
                               order_by=NodeVisit.seconds).label("rank"),
        func.count().over(partition_by=NodeVisit.node_id).label("n")).where(*period).subquery()
    p90 = dict(session.execute(select(ranked.c.node_id, ranked.c.seconds).where(
        ranked.c.rank == (9 * ranked.c.n + 9) // 10)).all())  # ceil(0.9 n)
    return {node: {"visits": count, "avg_seconds": round(float(avg)), "p90_seconds": p90.get(node)}
            for node, (count, avg) in totals.items()}


def _time_spent(session, node_id, preds, callers, since, now) -> list[int]:
    if not preds:
        return []
    done, before = aliased(InstanceEvent), aliased(InstanceEvent)
    entered = select(func.max(before.at)).where(
        before.instance_id == done.instance_id, before.id < done.id,
        before.node_id.in_(preds), before.kind.in_(DONE_KINDS)).scalar_subquery()
    rows = session.execute(
        select(done.at, entered).join(ProcessInstance, ProcessInstance.id == done.instance_id)
        .where(done.node_id == node_id, done.kind.in_(DONE_KINDS), done.at >= since,
               done.at <= now, ProcessInstance.process_id.in_(callers)))
    return [int((left - came).total_seconds()) for left, came in rows if came is not None]


def _percentile(values, fraction) -> int | None:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def instances_at(session, process_id: str, node_id: str, *, limit=100) -> list[dict]:
    """Instances waiting at a node of ``process_id``'s diagram now (inside it, for a call
    activity), and those stopped there by an incident: the heatmap's click-through."""
    parsed = latest(session, process_id)
    callers = _callers(parsed, process_id)
    owner = _owners(parsed, process_id, nodes_of(parsed, process_id, own_file_only=True))
    inner = sorted(n for n, o in owner.items() if o == node_id) or [node_id]
    rows = waiting_at_nodes(session, inner, process_ids=callers, limit=limit)
    stopped = session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.status,
               Incident.node_id, Incident.first_failure_at)
        .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(Incident.status == "open", Incident.node_id.in_(inner),
               ProcessInstance.process_id.in_(callers))
        .order_by(Incident.first_failure_at).limit(limit))
    rows += [{"instance_id": i, "business_key": key, "status": status, "node_id": node,
              "wait_kind": "incident", "assignee": None, "since": since}
             for i, key, status, node, since in stopped]
    return rows[:limit]


def diagram_xml(session, process_id: str) -> str | None:
    """The BPMN file of the latest version of ``process_id``."""
    return session.scalar(
        select(DeploymentFile.content)
        .join(ProcessDefinition, (ProcessDefinition.deployment_id == DeploymentFile.deployment_id)
              & (ProcessDefinition.file_name == DeploymentFile.name))
        .join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(Deployment.version.desc()).limit(1))
