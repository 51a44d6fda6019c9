"""Process owners' reports over the runtime tables: stuck instances and instances that make no
progress at all, plus what the other reports share (report_incidents, report_sla,
report_heatmap): a diagram's nodes and thresholds, waits as rows, row decoration.

Knows nothing about orders: rows carry the business key and the API joins the ERP side.
Each query is carried by an index (named in its docstring), so the reports stay quick with a
million instances of which tens of thousands wait:

    ix_wait_since                instance_wait(since)             -- stuck
    ix_wait_process_node         instance_wait(process_id, node_id, status)   -- heatmap counts
    ix_wait_node_since           instance_wait(node_id, since)    -- a node's instances
    ix_instance_status_updated   process_instance(status, updated_at)   -- silent
    ix_human_task_state_created  human_task(state, created_at)      -- added for these reports
    ix_human_task_open_due       human_task(state, due_at)
    ix_incident_status_instance  incident(status, instance_id)
    ix_event_node_at             instance_event(node_id, at)         -- added for these reports
    ix_event_instance            instance_event(instance_id, id)
"""
from datetime import timedelta

from sqlalchemy import exists, func, select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

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
    Job,
    MessageSubscription,
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
def waiting_at_nodes(session, node_ids, *, process_ids=None, business_keys=None,
                     limit=None) -> list[dict]:
    """Active (not failed) instances waiting at any of ``node_ids`` now, oldest first, one row
    per instance and node; since = when the instance got there (ix_wait_node_since)."""
    query = (select(InstanceWait.instance_id, ProcessInstance.business_key,
                    ProcessInstance.status, InstanceWait.since, InstanceWait.node_id,
                    InstanceWait.kind, HumanTask.assignee)
             .join(ProcessInstance, ProcessInstance.id == InstanceWait.instance_id)
             .outerjoin(HumanTask, HumanTask.id == InstanceWait.task_id)
             .where(InstanceWait.node_id.in_(list(node_ids)),
                    InstanceWait.status.in_((RUNNING, WAITING, SUSPENDED)),
                    *instance_filters(process_ids=process_ids, business_keys=business_keys))
             .order_by(InstanceWait.since, InstanceWait.instance_id, InstanceWait.node_id))
    if limit is not None:
        query = query.limit(limit)
    return [{"instance_id": r.instance_id, "business_key": r.business_key, "status": r.status,
             "node_id": r.node_id, "wait_kind": r.kind, "assignee": r.assignee,
             "since": r.since} for r in session.execute(query)]


def instance_filters(process_id=None, version=None, business_keys=None, process_ids=None):
    conditions = []
    if process_id:
        conditions.append(ProcessInstance.process_id == process_id)
    if process_ids is not None:
        conditions.append(ProcessInstance.process_id.in_(process_ids))
    if version is not None:
        conditions.append(ProcessInstance.deployment_id.in_(
            select(Deployment.id).where(Deployment.version == version)))
    if business_keys is not None:  # a list or a SELECT of keys (the API's customer filter)
        conditions.append(ProcessInstance.business_key.in_(business_keys))
    return conditions


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
def stuck_instances(session, *, process_id=None, version=None, node_id=None, min_age=None,
                    business_keys=None, limit=100, offset=0, now=None) -> dict:
    """Instances waiting at the same node longer than its threshold: the node's ``stuckAfter``
    property (default 24 h), or ``min_age`` for every node when given.

    One range over instance_wait (ix_wait_since): every place an instance has stood on since
    before the cutoff, user tasks and events alike; boundary events are not places.
    """
    now = now or clock.now()
    thresholds = node_thresholds(session, process_id)
    if min_age is not None:
        floor = min_age
    else:
        floor = min([t for nodes in thresholds.values() for t in nodes.values()]
                    or [DEFAULT_STUCK_AFTER])
    cutoff = now - floor
    filters = instance_filters(process_id, version, business_keys)
    rows = []

    waits = (select(InstanceWait.instance_id, InstanceWait.node_id, InstanceWait.node_name,
                    InstanceWait.kind, InstanceWait.since, InstanceWait.task_id,
                    HumanTask.assignee, ProcessInstance.process_id,
                    ProcessInstance.deployment_id, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == InstanceWait.instance_id)
             .outerjoin(HumanTask, HumanTask.id == InstanceWait.task_id)
             .where(InstanceWait.since <= cutoff, InstanceWait.status == WAITING, *filters))
    if node_id:
        waits = waits.where(InstanceWait.node_id == node_id)
    for r in session.execute(waits):
        rows.append({"instance_id": r.instance_id, "process_id": r.process_id,
                     "deployment_id": r.deployment_id, "business_key": r.business_key,
                     "node_id": r.node_id, "node_name": r.node_name, "wait_kind": r.kind,
                     "waiting_since": r.since, "task_id": r.task_id, "assignee": r.assignee})

    stuck = []
    for row in rows:
        limit_for_node = min_age if min_age is not None else thresholds.get(
            (row["deployment_id"], row["process_id"]), {}).get(row["node_id"],
                                                              DEFAULT_STUCK_AFTER)
        age = now - row["waiting_since"]
        if age >= limit_for_node:
            row.update(age_seconds=int(age.total_seconds()),
                       threshold_seconds=int(limit_for_node.total_seconds()))
            stuck.append(row)
    stuck.sort(key=lambda r: (r["waiting_since"], r["instance_id"], r["node_id"]))
    page = stuck[offset:offset + limit]
    decorate(session, page)
    return {"items": page, "total": len(stuck), "limit": limit, "offset": offset}


def decorate(session, rows):
    """Version, candidate groups and last event for one page of rows."""
    versions = _versions(session, [r["deployment_id"] for r in rows])
    groups = _groups(session, [r["task_id"] for r in rows if r.get("task_id")])
    last = _last_events(session, sorted({r["instance_id"] for r in rows}))
    for row in rows:
        row["version"] = versions.get(row.pop("deployment_id"))
        row["candidate_groups"] = groups.get(row.get("task_id"), [])
        row["last_event"] = _event_dict(last.get(row["instance_id"]))


def silent_instances(session, *, min_age=DEFAULT_STUCK_AFTER, process_id=None, version=None,
                     business_keys=None, limit=100, offset=0, now=None) -> dict:
    """Running or waiting, unchanged for ``min_age``, and nothing that could ever move them on:
    no open task, no job (timer or retry), no message subscription — the silent kind.

    ix_instance_status_updated for the range; the three NOT EXISTS probe ix_human_task_instance,
    job's unique (instance_id, kind) and ix_subscription_instance."""
    now = now or clock.now()
    query = select(ProcessInstance).where(
        ProcessInstance.status.in_((RUNNING, WAITING)),
        ProcessInstance.updated_at <= now - min_age,
        ~exists().where(HumanTask.instance_id == ProcessInstance.id, HumanTask.state == "open"),
        ~exists().where(Job.instance_id == ProcessInstance.id),
        ~exists().where(MessageSubscription.instance_id == ProcessInstance.id),
        *instance_filters(process_id, version, business_keys))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    found = list(session.scalars(query.order_by(ProcessInstance.updated_at, ProcessInstance.id)
                                 .offset(offset).limit(limit)))
    rows = [{"instance_id": i.id, "process_id": i.process_id, "deployment_id": i.deployment_id,
             "business_key": i.business_key, "status": i.status,
             "waiting_at": [w.get("node_id") for w in i.waiting_at or ()],
             "since": i.updated_at, "age_seconds": int((now - i.updated_at).total_seconds())}
            for i in found]
    decorate(session, rows)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
