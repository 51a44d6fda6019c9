"""Process owners' reports over the runtime tables: stuck instances and instances that make no
progress at all, plus what the other reports share (report_incidents, report_sla,
report_heatmap): a diagram's nodes and thresholds, waits as rows, row decoration.

Knows nothing about orders: rows carry the business key and the API joins the ERP side.
Each query is carried by an index (named in its docstring), so the reports stay quick with a
million instances of which tens of thousands wait:

    ix_wait_since                instance_wait(since)             -- stuck
    ix_wait_process_node         instance_wait(process_id, node_id, status)   -- heatmap counts
    ix_wait_node_since           instance_wait(node_id, since)    -- a node's instances
    ix_wait_kind_since           instance_wait(kind, since)       -- silent
    ix_human_task_state_created  human_task(state, created_at)      -- added for these reports
    ix_human_task_open_due       human_task(state, due_at)
    ix_incident_status_instance  incident(status, instance_id)
    ix_event_node_at             instance_event(node_id, at)         -- added for these reports
    ix_event_instance            instance_event(instance_id, id)
"""
from datetime import timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import and_, false, func, or_, select

from app.engine import clock, deployments
from app.models.engine import (
    RUNNING,
    SUSPENDED,
    WAITING,
    Deployment,
    HumanTask,
    HumanTaskCandidate,
    InstanceEvent,
    InstanceWait,
    ProcessDefinition,
    ProcessInstance,
)

DEFAULT_STUCK_AFTER = timedelta(hours=24)
STUCK_PROPERTY = "stuckAfter"  # <spiffworkflow:property name="stuckAfter" value="PT48H"/>
MAX_ROWS = 500


# -- the diagram: nodes, thresholds, predecessors ---------------------------------------------
def parse_duration(text: str | None) -> timedelta | None:
    """An ISO 8601 duration ("PT48H", "P2D", quotes allowed) or None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text.strip().strip("\"'"))
        return TimerEventDefinition.get_timedelta_from_start(parsed, clock.now())
    except Exception:  # a typo in a diagram property must not break the report
        return None


def _predecessors(task_spec) -> tuple[str, ...]:
    """The nearest BPMN nodes before a node, looking through the engine's internal specs."""
    found, seen, todo = set(), set(), list(task_spec.inputs)
    while todo:
        spec = todo.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if getattr(spec, "bpmn_id", None):
            found.add(spec.bpmn_id)
        else:
            todo.extend(spec.inputs)
    return tuple(sorted(found))


def _node(ts) -> dict:
    props = (getattr(ts, "extensions", None) or {}).get("properties", {})
    return {"id": ts.bpmn_id, "name": ts.bpmn_name, "type": type(ts).__name__,
            "stuck_after": parse_duration(props.get(STUCK_PROPERTY)),
            "preds": _predecessors(ts),
            "calls": ts.spec if type(ts).__name__ == "CallActivity" else None}


def _specs(parsed, process_id, *, own_file_only):
    if process_id not in parsed.specs:
        return []
    top = parsed.specs[process_id]
    subs = parsed.subprocess_specs.get(process_id, {}).values()
    if own_file_only:  # embedded subprocesses are drawn in the same file; called ones are not
        subs = [s for s in subs if s.file == top.file and s.name not in parsed.specs]
    return [top, *subs]


def nodes_of(parsed, process_id, *, own_file_only=False) -> dict[str, dict]:
    """Nodes an instance of ``process_id`` may stand on (called processes included), or only
    those drawn in its own diagram."""
    nodes = {}
    for spec in _specs(parsed, process_id, own_file_only=own_file_only):
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None):
                nodes.setdefault(ts.bpmn_id, _node(ts))
    return nodes


def latest(session, process_id):
    return deployments.parsed_for(session, deployments.latest_deployment_id(session, process_id))


def processes(session) -> list[tuple[str, str]]:
    """(process id, name) of every deployed process, for the report filters."""
    rows = session.execute(select(ProcessDefinition.process_id, func.max(ProcessDefinition.name))
                           .group_by(ProcessDefinition.process_id)
                           .order_by(ProcessDefinition.process_id))
    return [(pid, name or pid) for pid, name in rows]


def node_thresholds(session, process_id=None):
    """(deployment id, process id) -> {node: stuck_after}, for every deployed version."""
    query = select(ProcessDefinition.deployment_id, ProcessDefinition.process_id)
    if process_id:
        query = query.where(ProcessDefinition.process_id == process_id)
    result = {}
    for deployment_id, pid in session.execute(query):
        parsed = deployments.parsed_for(session, deployment_id)
        result[(deployment_id, pid)] = {
            node_id: node["stuck_after"] or DEFAULT_STUCK_AFTER
            for node_id, node in nodes_of(parsed, pid).items()}
    return result


# -- waits as rows: the instance_wait projection ----------------------------------------------
def _standing_at(node_ids, process_ids=None, business_keys=None) -> list:
    """instance_wait rows of active, not failed instances at ``node_ids``."""
    return [InstanceWait.node_id.in_(list(node_ids)),
            InstanceWait.status.in_((RUNNING, WAITING, SUSPENDED)),
            *wait_filters(process_ids=process_ids, business_keys=business_keys)]


def waiting_at_nodes(session, node_ids, *, process_ids=None, business_keys=None,
                     limit=None) -> list[dict]:
    """Active (not failed) instances waiting at any of ``node_ids`` now, oldest first, one row
    per instance and node; since = when the instance got there (ix_wait_node_since)."""
    query = (select(InstanceWait.instance_id, InstanceWait.business_key, InstanceWait.status,
                    InstanceWait.since, InstanceWait.node_id, InstanceWait.kind,
                    HumanTask.assignee)
             .outerjoin(HumanTask, HumanTask.id == InstanceWait.task_id)
             .where(*_standing_at(node_ids, process_ids, business_keys))
             .order_by(InstanceWait.since, InstanceWait.instance_id, InstanceWait.node_id))
    if limit is not None:
        query = query.limit(limit)
    return [{"instance_id": r.instance_id, "business_key": r.business_key, "status": r.status,
             "node_id": r.node_id, "wait_kind": r.kind, "assignee": r.assignee,
             "since": r.since} for r in session.execute(query)]


def waiting_keys(session, node_ids, *, process_ids=None) -> set[str]:
    """Business keys of the active (not failed) instances at ``node_ids`` (ix_wait_node_since)."""
    return set(session.scalars(select(InstanceWait.business_key).where(
        *_standing_at(node_ids, process_ids))))


def wait_counts(session, node_ids, *, process_ids=None) -> dict[str, dict]:
    """node -> {count, oldest, avg_since_epoch} of the active (not failed) instances there,
    without reading a row per instance (ix_wait_process_node)."""
    epoch = _epoch_seconds(session, InstanceWait.since)
    rows = session.execute(
        select(InstanceWait.node_id, func.count(), func.min(InstanceWait.since), func.avg(epoch))
        .where(*_standing_at(node_ids, process_ids)).group_by(InstanceWait.node_id))
    return {node: {"count": count, "oldest": oldest, "avg_epoch": float(avg) if avg else None}
            for node, count, oldest, avg in rows}


def _epoch_seconds(session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _filters(table, process_id, version, business_keys, process_ids):
    """The report filters on ``table``'s process_id, deployment_id and business_key."""
    conditions = []
    if process_id:
        conditions.append(table.process_id == process_id)
    if process_ids is not None:
        conditions.append(table.process_id.in_(process_ids))
    if version is not None:
        conditions.append(table.deployment_id.in_(
            select(Deployment.id).where(Deployment.version == version)))
    if business_keys is not None:  # a list or a SELECT of keys (the API's customer filter)
        conditions.append(table.business_key.in_(business_keys))
    return conditions


def instance_filters(process_id=None, version=None, business_keys=None, process_ids=None):
    return _filters(ProcessInstance, process_id, version, business_keys, process_ids)


def wait_filters(process_id=None, version=None, business_keys=None, process_ids=None):
    """The same on instance_wait's own copies of the instance's columns (no join)."""
    return _filters(InstanceWait, process_id, version, business_keys, process_ids)


def _last_events(session, instance_ids) -> dict[int, InstanceEvent]:
    """The latest history row of each instance (ix_event_instance)."""
    if not instance_ids:
        return {}
    latest_ids = select(func.max(InstanceEvent.id)).where(
        InstanceEvent.instance_id.in_(instance_ids)).group_by(InstanceEvent.instance_id)
    return {e.instance_id: e for e in session.scalars(
        select(InstanceEvent).where(InstanceEvent.id.in_(latest_ids)))}


def _event_dict(event):
    if event is None:
        return None
    return {"kind": event.kind, "node_id": event.node_id, "node_name": event.node_name,
            "actor": event.actor, "at": event.at}


def _versions(session, deployment_ids) -> dict[int, int]:
    if not deployment_ids:
        return {}
    return dict(session.execute(select(Deployment.id, Deployment.version)
                                .where(Deployment.id.in_(set(deployment_ids)))).all())


def _groups(session, task_ids) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    if task_ids:
        for task_id, name in session.execute(
                select(HumanTaskCandidate.task_id, HumanTaskCandidate.group_name)
                .where(HumanTaskCandidate.task_id.in_(task_ids))
                .order_by(HumanTaskCandidate.group_name)):
            groups.setdefault(task_id, []).append(name)
    return groups


# -- stuck ------------------------------------------------------------------------------------
def latest_thresholds(session, process_id=None) -> dict[tuple[str, str], timedelta]:
    """(process, node) -> stuckAfter of the newest version of each process (older versions'
    instances are judged by the newest diagram's thresholds)."""
    newest: dict[str, int] = {}
    thresholds = node_thresholds(session, process_id)
    for deployment_id, pid in thresholds:
        newest[pid] = max(newest.get(pid, 0), deployment_id)
    return {(pid, node): limit for (deployment_id, pid), nodes in thresholds.items()
            if newest[pid] == deployment_id for node, limit in nodes.items()}


def _past_threshold(thresholds, min_age, now):
    """Waits older than their node's threshold, as one condition (ix_wait_since per branch)."""
    if min_age is not None:
        return InstanceWait.since <= now - min_age
    special = {key: limit for key, limit in thresholds.items() if limit != DEFAULT_STUCK_AFTER}
    at = [and_(InstanceWait.process_id == pid, InstanceWait.node_id == node) for pid, node in special]
    branches = [and_(at_node, InstanceWait.since <= now - limit)
                for at_node, limit in zip(at, special.values())]
    branches.append(and_(InstanceWait.since <= now - DEFAULT_STUCK_AFTER, ~or_(false(), *at)))
    return or_(*branches)


def stuck_instances(session, *, process_id=None, version=None, node_id=None, min_age=None,
                    business_keys=None, limit=100, offset=0, now=None) -> dict:
    """Instances waiting at the same node longer than its threshold: the node's ``stuckAfter``
    property (default 24 h), or ``min_age`` for every node when given.

    Counted and paged in SQL over instance_wait (ix_wait_since): user tasks and events alike,
    since = when the instance got to the node; boundary events are not places.
    """
    now = now or clock.now()
    thresholds = latest_thresholds(session, process_id)
    conditions = [InstanceWait.status == WAITING, InstanceWait.kind != "none",
                  _past_threshold(thresholds, min_age, now),
                  *wait_filters(process_id, version, business_keys)]
    if node_id:
        conditions.append(InstanceWait.node_id == node_id)
    total = session.scalar(select(func.count()).select_from(InstanceWait).where(*conditions))
    page = session.execute(
        select(InstanceWait.instance_id, InstanceWait.node_id, InstanceWait.node_name,
               InstanceWait.kind, InstanceWait.since, InstanceWait.task_id,
               InstanceWait.process_id, InstanceWait.deployment_id, InstanceWait.business_key,
               HumanTask.assignee)
        .outerjoin(HumanTask, HumanTask.id == InstanceWait.task_id).where(*conditions)
        .order_by(InstanceWait.since, InstanceWait.instance_id, InstanceWait.node_id)
        .offset(offset).limit(limit))
    items = []
    for r in page:
        threshold = min_age if min_age is not None else thresholds.get(
            (r.process_id, r.node_id), DEFAULT_STUCK_AFTER)
        items.append({"instance_id": r.instance_id, "process_id": r.process_id,
                      "deployment_id": r.deployment_id, "business_key": r.business_key,
                      "node_id": r.node_id, "node_name": r.node_name, "wait_kind": r.kind,
                      "waiting_since": r.since, "task_id": r.task_id, "assignee": r.assignee,
                      "age_seconds": int((now - r.since).total_seconds()),
                      "threshold_seconds": int(threshold.total_seconds())})
    decorate(session, items)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def decorate(session, rows):
    """Version, candidate groups and last event for one page of rows."""
    versions = _versions(session, [r["deployment_id"] for r in rows])
    groups = _groups(session, [r["task_id"] for r in rows if r.get("task_id")])
    last = _last_events(session, sorted({r["instance_id"] for r in rows}))
    for row in rows:
        row["version"] = versions.get(row.pop("deployment_id"))
        row["candidate_groups"] = groups.get(row.get("task_id"), [])
        row["last_event"] = _event_dict(last.get(row["instance_id"]))


# Waits nothing outside the instance can end: a signal no one sends, or no wait at all.
SILENT_KINDS = ("none", "event")


def silent_instances(session, *, min_age=DEFAULT_STUCK_AFTER, process_id=None, version=None,
                     business_keys=None, limit=100, offset=0, now=None) -> dict:
    """Running or waiting for ``min_age`` with nothing that could ever move them on: no open
    task, no timer, no message — the silent kind. instance_wait rows of kind "none" (standing
    nowhere) or "event" (ix_wait_kind_since), less instances that also wait for something that
    can come."""
    now = now or clock.now()
    movable = select(InstanceWait.instance_id).where(
        InstanceWait.kind.not_in(SILENT_KINDS)).scalar_subquery()
    conditions = [InstanceWait.kind.in_(SILENT_KINDS), InstanceWait.status.in_((RUNNING, WAITING)),
                  InstanceWait.since <= now - min_age, InstanceWait.instance_id.not_in(movable),
                  *wait_filters(process_id, version, business_keys)]
    since = func.min(InstanceWait.since)
    grouped = (select(InstanceWait.instance_id, since.label("since"))
               .where(*conditions).group_by(InstanceWait.instance_id))
    total = session.scalar(select(func.count()).select_from(grouped.subquery()))
    page = session.execute(grouped.order_by(since, InstanceWait.instance_id)
                           .offset(offset).limit(limit)).all()
    found = {i.id: i for i in session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_([p.instance_id for p in page])))}
    rows = []
    for instance_id, waited_since in page:
        i = found[instance_id]
        rows.append({"instance_id": i.id, "process_id": i.process_id,
                     "deployment_id": i.deployment_id, "business_key": i.business_key,
                     "status": i.status,
                     "waiting_at": [w.get("node_id") for w in i.waiting_at or ()],
                     "since": waited_since,
                     "age_seconds": int((now - waited_since).total_seconds())})
    decorate(session, rows)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
