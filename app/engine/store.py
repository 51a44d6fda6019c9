"""Saving a unit of work: state with its revision, human tasks, jobs, subscriptions, history."""
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from app.engine import clock, serializer
from app.engine.projection import Projection, project
from app.models.engine import (
    COMPLETED,
    ERROR,
    RUNNING,
    SUSPENDED,
    WAITING,
    HumanTask,
    HumanTaskCandidate,
    Incident,
    InstanceEvent,
    Job,
    MessageSubscription,
    ProcessInstance,
)


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


def _known_open_tasks(instance: ProcessInstance) -> set[str]:
    return {w["task_id"] for w in instance.waiting_at or () if w.get("kind") == "user_task"}


_human_task = HumanTask.__table__
_candidate = HumanTaskCandidate.__table__
_job = Job.__table__
_subscription = MessageSubscription.__table__
_event = InstanceEvent.__table__


def save(session, instance: ProcessInstance, workflow, recorder: StepRecorder,
         failed: bool = False) -> Projection:
    """Write the state and every projection; Core statements, touched only when they changed."""
    now = clock.now()
    old_tasks = _known_open_tasks(instance)
    old_messages = {w["message"] for w in instance.waiting_at or () if w.get("kind") == "message"}
    old_due = instance.next_due_at
    proj = project(workflow, old_tasks)

    instance.state = serializer.dump(workflow)
    instance.waiting_at = proj.waits
    instance.next_due_at = proj.next_due_at
    instance.updated_at = now
    if proj.completed:
        instance.status, instance.ended_at = COMPLETED, now
    elif failed or instance.status == ERROR:
        instance.status = ERROR
    elif instance.status != SUSPENDED:
        instance.status = RUNNING if proj.engine_work_pending and not proj.waits else WAITING
    is_new = instance.id is None
    if is_new:
        session.add(instance)
    session.flush()  # the revision check happens here: StaleDataError if someone saved first

    _save_human_tasks(session, instance, proj, old_tasks, recorder, now)
    if proj.messages != old_messages:
        _save_subscriptions(session, instance, proj, is_new)
    if is_new or proj.next_due_at != old_due:
        _save_timer_job(session, instance, proj.next_due_at, is_new)
    write_events(session, instance, recorder)
    return proj


def _save_human_tasks(session, instance, proj, old_tasks, recorder, now):
    new_ids = [task_id for task_id in proj.user_tasks if task_id not in old_tasks]
    if new_ids:
        views = [proj.user_tasks[task_id] for task_id in new_ids]
        session.execute(_human_task.insert(), [{
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
            session.execute(_candidate.insert(), candidates)
    for task_id in old_tasks - set(proj.user_tasks):
        user = recorder.completed_by_user.get(task_id)
        values = {"state": "completed", "completed_by": user, "completed_at": now} if user \
            else {"state": "cancelled", "completed_at": now}
        session.execute(_human_task.update().where(_human_task.c.id == task_id).values(**values))
        session.execute(_candidate.update().where(_candidate.c.task_id == task_id)
                        .values(open=False))


def _save_subscriptions(session, instance, proj, is_new):
    if not is_new:
        session.execute(_subscription.delete().where(
            _subscription.c.instance_id == instance.id))
    if proj.messages:
        session.execute(_subscription.insert(), [
            {"instance_id": instance.id, "message_name": name,
             "business_key": instance.business_key, "node_id": None}
            for name in sorted(proj.messages)])


def _save_timer_job(session, instance, due: datetime | None, is_new: bool):
    where = (_job.c.instance_id == instance.id) & (_job.c.kind == "timer")
    if due is None:
        if not is_new:
            session.execute(_job.delete().where(where))
        return
    changed = 0 if is_new else session.execute(_job.update().where(where).values(
        due_at=due, lease_owner=None, lease_expires_at=None)).rowcount
    if changed == 0:
        session.execute(_job.insert().values(instance_id=instance.id, kind="timer", due_at=due,
                                             fence=0, attempts=0))


def write_events(session, instance: ProcessInstance, recorder: StepRecorder) -> None:
    if recorder.events:
        now = clock.now()
        session.execute(_event.insert(), [
            {**event, "instance_id": instance.id, "at": now} for event in recorder.events])


def open_incident(session, instance: ProcessInstance, failure, *, auto_retries: int,
                  backoff_seconds: int, automatic: bool) -> Incident:
    """Record a failure on the instance; schedule the next automatic retry while any are left."""
    from datetime import timedelta

    now = clock.now()
    incident = session.scalar(select(Incident).where(
        Incident.instance_id == instance.id, Incident.status == "open"))
    if incident is None:
        incident = Incident(instance_id=instance.id, retries_left=auto_retries, failures=0,
                            first_failure_at=now)
        session.add(incident)
    elif automatic:
        incident.retries_left = max(0, incident.retries_left - 1)
    incident.failures += 1
    incident.node_id, incident.node_name = failure.node_id, failure.node_name
    incident.message = f"{type(failure.original).__name__}: {failure.original}"[:4000]
    incident.traceback = failure.traceback[-20000:]
    incident.last_failure_at = now
    session.execute(delete(Job).where(Job.instance_id == instance.id, Job.kind == "retry"))
    if incident.retries_left > 0:
        due = now + timedelta(seconds=backoff_seconds * 2 ** (incident.failures - 1))
        session.execute(insert(Job).values(instance_id=instance.id, kind="retry", due_at=due))
    return incident


def resolve_incident(session, instance_id: int, actor: str | None) -> bool:
    result = session.execute(update(Incident).where(
        Incident.instance_id == instance_id, Incident.status == "open").values(
        status="resolved", resolved_at=clock.now(), resolved_by=actor))
    session.execute(delete(Job).where(Job.instance_id == instance_id, Job.kind == "retry"))
    return result.rowcount > 0
