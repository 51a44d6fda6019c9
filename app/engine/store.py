"""Saving a unit of work: state with its revision, human tasks, jobs, subscriptions, history.

Core statements on the unit's connection, built once at import (building one costs about what
running it does); the rows a unit works on are in rows.py.
"""
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update

from app.engine import clock, deployments, serializer
from app.engine.errors import StaleRevision
from app.engine.projection import Projection, project
from app.engine.rows import InstanceRow
from app.models.engine import (
    ACTIVE_STATUSES,
    COMPLETED,
    ERROR,
    RUNNING,
    SUSPENDED,
    WAITING,
    HumanTask,
    HumanTaskCandidate,
    Incident,
    InstanceEvent,
    InstanceWait,
    Job,
    MessageSubscription,
    NodeVisit,
    ProcessedMessage,
    ProcessInstance,
)

_instance = ProcessInstance.__table__
_human_task = HumanTask.__table__
_candidate = HumanTaskCandidate.__table__
_job = Job.__table__
_subscription = MessageSubscription.__table__
_event = InstanceEvent.__table__
_processed = ProcessedMessage.__table__
_incident = Incident.__table__
_wait = InstanceWait.__table__
_visit = NodeVisit.__table__


# ---- history -----------------------------------------------------------------------------
class StepRecorder:
    """Collects the audit events of one unit; written in one batch at save."""

    def __init__(self, actor: str | None):
        self.actor = actor
        self.events: list[dict] = []
        self.current_task = None
        self.completed_by_user: dict[str, str] = {}  # task id -> username

    def will_complete(self, task):
        self.current_task = task

    def did_complete(self, task):
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None):
            self.add("step", node_id=spec.bpmn_id, node_name=spec.bpmn_name,
                     node_type=type(spec).__name__, actor=None, details=_data_changes(task))
        self.current_task = None

    def add(self, kind, *, node_id=None, node_name=None, node_type=None, actor=None, details=None):
        self.events.append({"kind": kind, "node_id": node_id, "node_name": node_name,
                            "node_type": node_type, "actor": actor, "details": details})


_MISSING = object()


def _data_changes(task) -> dict | None:
    """Names of the data keys a step set, changed or removed (names only: data can be large)."""
    before = task.parent.data if task.parent is not None else {}
    after = task.data
    changed = sorted(k for k, v in after.items() if before.get(k, _MISSING) != v)
    removed = sorted(k for k in before if k not in after)
    if not changed and not removed:
        return None
    return {"changed": changed, **({"removed": removed} if removed else {})}


# ---- what a unit writes ------------------------------------------------------------------
_STARTED = ("process_id", "business_key", "status", "revision", "state", "waiting_at",
            "started_by", "created_at", "updated_at")
_started_values = [bindparam(f"new_{name}", type_=_instance.c[name].type) for name in _STARTED]
_newest = deployments.newest_with_process(bindparam("new_process_id")).subquery()
_insert_started = insert(_instance).from_select(
    ["deployment_id", *_STARTED], select(_newest.c.deployment_id, *_started_values)
).returning(_instance.c.id, _instance.c.deployment_id)
_insert_started_on = insert(_instance).returning(_instance.c.id, _instance.c.deployment_id)
# SET columns come from the parameters; "seen" is the revision the unit loaded.
_update_instance = update(_instance).where(
    _instance.c.id == bindparam("where_instance"),
    _instance.c.revision == bindparam("seen")).values(revision=_instance.c.revision + 1)
_insert_tasks = insert(_human_task)
_insert_candidates = insert(_candidate)
_close_task = update(_human_task).where(_human_task.c.id == bindparam("where_task"))
_close_candidates = update(_candidate).where(
    _candidate.c.task_id == bindparam("where_task")).values(open=False)
_delete_subscriptions = delete(_subscription).where(
    _subscription.c.instance_id == bindparam("where_instance"))
_insert_subscriptions = insert(_subscription)
_timer_of = (_job.c.instance_id == bindparam("where_instance")) & (_job.c.kind == "timer")
_delete_timer = delete(_job).where(_timer_of)
_move_timer = update(_job).where(_timer_of).values(
    due_at=bindparam("due"), lease_owner=None, lease_expires_at=None)
_insert_job = insert(_job)
_insert_events = insert(_event)
_insert_processed = insert(_processed)
_retry_of = (_job.c.instance_id == bindparam("where_instance")) & (_job.c.kind == "retry")
_delete_retry = delete(_job).where(_retry_of)
_insert_waits = insert(_wait)
_delete_waits = delete(_wait).where(_wait.c.instance_id == bindparam("where_instance"))
_left = (_wait.c.node_id, _wait.c.kind, _wait.c.since)
_leave_all = _delete_waits.returning(*_left)
_leave = delete(_wait).where(_wait.c.instance_id == bindparam("where_instance"),
                             _wait.c.node_id == bindparam("where_node")).returning(*_left)
_insert_visits = insert(_visit)
_set_wait_status = update(_wait).where(_wait.c.instance_id == bindparam("where_instance"))
_resolve = update(_incident).where(
    _incident.c.instance_id == bindparam("where_instance"), _incident.c.status == "open")


def start_row(session, process_id: str, business_key: str | None, started_by: str | None,
              now: datetime, deployment_id: int | None = None) -> InstanceRow | None:
    """Insert a starting instance (running, revision 0, no state yet) on the newest deployment
    that has the process, or on ``deployment_id``; None when no deployment has it.

    Inserted before the engine runs: the unique index on active business keys refuses a second
    start of one key (IntegrityError) before any work is done, even when the first one would end
    within its unit, and operators can use the instance id. save() writes the rest.
    """
    values = {"process_id": process_id, "business_key": business_key, "status": RUNNING,
              "revision": 0, "state": b"", "waiting_at": [], "started_by": started_by,
              "created_at": now, "updated_at": now}
    conn = session.connection()
    if deployment_id is None:
        found = conn.execute(_insert_started, {f"new_{k}": v for k, v in values.items()}).first()
    else:
        found = conn.execute(_insert_started_on, {**values, "deployment_id": deployment_id}).first()
    if found is None:
        return None
    return InstanceRow(id=found.id, deployment_id=found.deployment_id, next_due_at=None,
                       deployment_version=deployments.version_of(session, found.deployment_id),
                       **values)


def _known_open_tasks(instance: InstanceRow) -> set[str]:
    return {w["task_id"] for w in instance.waiting_at or () if w.get("kind") == "user_task"}


def _settled_status(instance: InstanceRow, proj: Projection, failed: bool) -> str:
    if proj.completed:
        return COMPLETED
    if failed or instance.status == ERROR:
        return ERROR
    if instance.status == SUSPENDED:
        return SUSPENDED
    return RUNNING if proj.engine_work_pending and not proj.waits else WAITING


def save(session, instance: InstanceRow, workflow, recorder: StepRecorder,
         failed: bool = False, ready: list | None = None) -> Projection:
    """Write the state and every projection; each touched only when it changed.

    The row is updated only at the revision the unit loaded: StaleRevision when another unit
    saved it first. ``ready``: the workflow's READY tasks if the caller has them at hand.
    """
    session.flush()  # the operators' ORM writes go first, as ever; a no-op when there are none
    conn = session.connection()
    now = clock.now()
    old_tasks = _known_open_tasks(instance)
    old_messages = {w["message"] for w in instance.waiting_at or () if w.get("kind") == "message"}
    old_due = instance.next_due_at
    old_waits, old_status = instance.waiting_at, instance.status
    proj = project(workflow, old_tasks, ready)
    status = _settled_status(instance, proj, failed)
    values = {"state": serializer.dump(workflow), "waiting_at": proj.waits,
              "next_due_at": proj.next_due_at, "status": status, "updated_at": now,
              "ended_at": now if status == COMPLETED else instance.ended_at}
    is_new = instance.revision == 0  # inserted by start_row, no projections yet
    _update(conn, instance, values)
    for name, value in values.items():
        setattr(instance, name, value)

    _save_human_tasks(conn, instance, proj, old_tasks, recorder, now)
    if proj.messages != old_messages:
        _save_subscriptions(conn, instance, proj, old_messages)
    if is_new or proj.next_due_at != old_due:
        _save_timer_job(conn, instance, proj.next_due_at, is_new)
    _save_waits(conn, instance, old_waits, old_status, now)
    write_events(conn, instance, recorder, now)
    return proj


def _update(conn, instance: InstanceRow, values: dict) -> None:
    result = conn.execute(_update_instance, {**values, "where_instance": instance.id,
                                             "seen": instance.revision})
    if result.rowcount != 1:
        raise StaleRevision(f"process instance {instance.id} was saved by another unit")
    instance.revision += 1


def save_status(session, instance: InstanceRow, recorder: StepRecorder) -> None:
    """Operator actions (suspend, resume, terminate): the row's own columns and a history line."""
    conn = session.connection()
    now = clock.now()
    values = {"status": instance.status, "waiting_at": instance.waiting_at,
              "next_due_at": instance.next_due_at, "ended_at": instance.ended_at,
              "end_reason": instance.end_reason, "updated_at": now}
    _update(conn, instance, values)
    instance.updated_at = now
    # Rare actions: the instance's wait rows follow its status, or go when it ends.
    where = {"where_instance": instance.id}
    if instance.status in ACTIVE_STATUSES:
        conn.execute(_set_wait_status, {**where, "status": instance.status})
    else:
        conn.execute(_delete_waits, where)
    write_events(conn, instance, recorder, now)


NOWHERE = {"kind": "none"}  # an active instance that waits for nothing: the silent kind


def _wait_places(waits, active=True) -> dict[str, dict]:
    """node id -> the wait there; boundary events are not places, an event gateway is one."""
    if not active:
        return {}
    places = {}
    for wait in waits or ():
        if not wait.get("boundary") and wait.get("node_id"):
            places.setdefault(wait["node_id"], wait)
    return places or {"": NOWHERE}


def _save_waits(conn, instance, old_waits, old_status, now):
    """Keep instance_wait in step: rows only for active instances; ``since`` survives units
    that leave the instance where it stands, so it is when it got there."""
    new = _wait_places(instance.waiting_at, instance.status in ACTIVE_STATUSES)
    old = _wait_places(old_waits, old_status in ACTIVE_STATUSES
                       and instance.revision > 1)
    where = {"where_instance": instance.id}
    if not new:
        if old:
            _record_visits(conn, instance, conn.execute(_leave_all, where).all(), now)
        return
    left = []
    for node_id, wait in old.items():
        if node_id not in new or new[node_id].get("task_id") != wait.get("task_id"):
            left += conn.execute(_leave, {**where, "where_node": node_id}).all()
    _record_visits(conn, instance, left, now)
    added = [{"instance_id": instance.id, "node_id": node_id, "process_id": instance.process_id,
              "deployment_id": instance.deployment_id, "business_key": instance.business_key,
              "status": instance.status, "kind": wait["kind"], "node_name": wait.get("node_name"),
              "task_id": wait.get("task_id"), "since": now}
             for node_id, wait in new.items()
             if node_id not in old or old[node_id].get("task_id") != wait.get("task_id")]
    if old_status != instance.status and len(added) < len(new):
        conn.execute(_set_wait_status, {**where, "status": instance.status})
    if added:
        conn.execute(_insert_waits, added)


def _record_visits(conn, instance, left, now):
    visits = [{"instance_id": instance.id, "process_id": instance.process_id, "node_id": node_id,
               "entered_at": since, "left_at": now,
               "seconds": int((now - since).total_seconds())}
              for node_id, kind, since in left if kind != "none"]
    if visits:
        conn.execute(_insert_visits, visits)


def _save_human_tasks(conn, instance, proj, old_tasks, recorder, now):
    new_ids = [task_id for task_id in proj.user_tasks if task_id not in old_tasks]
    if new_ids:
        views = [proj.user_tasks[task_id] for task_id in new_ids]
        conn.execute(_insert_tasks, [{
            "id": v.task_id, "instance_id": instance.id, "process_id": instance.process_id,
            "business_key": instance.business_key, "node_id": v.node_id,
            "node_name": v.node_name, "lane": v.lane, "state": "open", "assignee": None,
            "form_schema": v.form_schema, "form_ui_schema": v.form_ui_schema,
            "instructions": v.instructions, "excluded_users": v.excluded_users,
            "created_at": now, "due_at": v.due_at, "completed_by": None, "completed_at": None,
        } for v in views])
        candidates = [{"task_id": v.task_id, "group_name": g, "open": True}
                      for v in views for g in v.candidate_groups]
        if candidates:
            conn.execute(_insert_candidates, candidates)
    for task_id in sorted(old_tasks - set(proj.user_tasks)):
        user = recorder.completed_by_user.get(task_id)
        values = {"state": "completed", "completed_by": user, "completed_at": now} if user \
            else {"state": "cancelled", "completed_at": now}
        conn.execute(_close_task, {**values, "where_task": task_id})
        conn.execute(_close_candidates, {"where_task": task_id})


def _save_subscriptions(conn, instance, proj, old_messages):
    # The rows mirror the message waits of waiting_at: none to delete when none were waited for.
    if old_messages:
        conn.execute(_delete_subscriptions, {"where_instance": instance.id})
    if proj.messages:
        conn.execute(_insert_subscriptions, [
            {"instance_id": instance.id, "message_name": name,
             "business_key": instance.business_key, "node_id": None}
            for name in sorted(proj.messages)])


def _save_timer_job(conn, instance, due: datetime | None, is_new: bool):
    if due is None:
        if not is_new:
            conn.execute(_delete_timer, {"where_instance": instance.id})
        return
    changed = 0 if is_new else conn.execute(_move_timer, {
        "where_instance": instance.id, "due": due}).rowcount
    if changed == 0:
        conn.execute(_insert_job, {"instance_id": instance.id, "kind": "timer", "due_at": due,
                                   "fence": 0, "attempts": 0})


def write_events(conn, instance, recorder: StepRecorder, now: datetime) -> None:
    if recorder.events:
        conn.execute(_insert_events, [
            {**event, "instance_id": instance.id, "at": now} for event in recorder.events])


def record_message(session, message_id: str, name: str, instance_id: int) -> None:
    """IntegrityError when the message id was delivered before (the primary key says so)."""
    session.connection().execute(_insert_processed, {
        "message_id": message_id, "message_name": name, "instance_id": instance_id,
        "received_at": clock.now()})


# ---- incidents ---------------------------------------------------------------------------
def open_incident(session, instance_id: int, failure, *, auto_retries: int,
                  backoff_seconds: int, automatic: bool) -> Incident:
    """Record a failure on the instance; schedule the next automatic retry while any are left."""
    now = clock.now()
    incident = session.scalar(select(Incident).where(
        Incident.instance_id == instance_id, Incident.status == "open"))
    if incident is None:
        incident = Incident(instance_id=instance_id, retries_left=auto_retries, failures=0,
                            first_failure_at=now)
        session.add(incident)
    elif automatic:
        incident.retries_left = max(0, incident.retries_left - 1)
    incident.failures += 1
    incident.node_id, incident.node_name = failure.node_id, failure.node_name
    incident.message = f"{type(failure.original).__name__}: {failure.original}"[:4000]
    incident.traceback = failure.traceback[-20000:]
    incident.last_failure_at = now
    conn = session.connection()
    conn.execute(_delete_retry, {"where_instance": instance_id})
    if incident.retries_left > 0:
        due = now + timedelta(seconds=backoff_seconds * 2 ** (incident.failures - 1))
        conn.execute(_insert_job, {"instance_id": instance_id, "kind": "retry", "due_at": due,
                                   "fence": 0, "attempts": 0})
    return incident


def resolve_incident(session, instance_id: int, actor: str | None) -> bool:
    conn = session.connection()
    result = conn.execute(_resolve, {"where_instance": instance_id, "status": "resolved",
                                     "resolved_at": clock.now(), "resolved_by": actor})
    conn.execute(_delete_retry, {"where_instance": instance_id})
    return result.rowcount > 0


def close_projections(session, instance_id: int, now: datetime) -> None:
    """A terminated instance: open tasks cancelled, no jobs, no subscriptions."""
    conn = session.connection()
    open_tasks = select(_human_task.c.id).where(_human_task.c.instance_id == instance_id,
                                                _human_task.c.state == "open")
    conn.execute(update(_candidate).where(_candidate.c.task_id.in_(open_tasks))
                 .values(open=False))
    conn.execute(update(_human_task).where(
        _human_task.c.instance_id == instance_id, _human_task.c.state == "open").values(
        state="cancelled", completed_at=now))
    conn.execute(delete(_job).where(_job.c.instance_id == instance_id))
    conn.execute(delete(_subscription).where(_subscription.c.instance_id == instance_id))
