"""The instance (and the task) as a unit of work reads them: plain rows, one Core select each.

Through the ORM the unit's reads and writes cost several times what the database spends on them
(bench/engine.py --breakdown), so the runtime works on :class:`InstanceRow` and writes it back
itself (store.py), ``revision = revision + 1 WHERE revision = :seen``. The ORM models stay the
schema and serve the read side (queries.py, the pages, the API).
"""
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import bindparam, select

from app.engine import deployments
from app.models.engine import (
    ACTIVE_STATUSES,
    HumanTask,
    HumanTaskCandidate,
    MessageSubscription,
    ProcessedMessage,
    ProcessInstance,
)


@dataclass(eq=False)
class InstanceRow:
    """A process instance as a unit of work reads and writes it; InstanceSchema dumps it."""

    id: int | None
    process_id: str
    deployment_id: int
    business_key: str | None
    status: str
    revision: int
    state: bytes | None
    waiting_at: list
    next_due_at: datetime | None
    started_by: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    deployment_version: int | None = None


@dataclass(eq=False)
class TaskRow:
    """What completing a human task needs of it (the inbox reads the ORM HumanTask)."""

    id: str
    instance_id: int
    state: str
    assignee: str | None
    completed_by: str | None
    excluded_users: list
    node_id: str
    node_name: str | None
    form_schema: str | None
    candidate_groups: list[str] = field(default_factory=list)


_instance = ProcessInstance.__table__
_human_task = HumanTask.__table__
_candidate = HumanTaskCandidate.__table__
_subscription = MessageSubscription.__table__
_processed = ProcessedMessage.__table__

_ROW_COLUMNS = [f.name for f in fields(InstanceRow) if f.name in _instance.c]
_TASK_COLUMNS = [f.name for f in fields(TaskRow) if f.name in _human_task.c]


def _instance_row(session, mapping) -> InstanceRow:
    """An InstanceRow from a result row holding (at least) the instance's columns."""
    row = InstanceRow(**{name: mapping[name] for name in _ROW_COLUMNS})
    row.deployment_version = deployments.version_of(session, row.deployment_id)
    return row


_select_instance = select(*(_instance.c[name] for name in _ROW_COLUMNS))
_instance_by_id = _select_instance.where(_instance.c.id == bindparam("instance_id"))
_active_by_key = _select_instance.where(
    _instance.c.process_id == bindparam("process_id"),
    _instance.c.business_key == bindparam("business_key"),
    _instance.c.status.in_(ACTIVE_STATUSES))
_instance_of_message = _select_instance.join(
    _processed, _processed.c.instance_id == _instance.c.id).where(
    _processed.c.message_id == bindparam("message_id"))
# The task, its candidate groups (one row each) and its instance in one round trip.
_task_with_instance = (
    _select_instance.add_columns(
        *(_human_task.c[name].label(f"task_{name}") for name in _TASK_COLUMNS),
        _candidate.c.group_name)
    .join(_human_task, _human_task.c.instance_id == _instance.c.id)
    .outerjoin(_candidate, _candidate.c.task_id == _human_task.c.id)
    .where(_human_task.c.id == bindparam("task_id")))


def load_instance(session, instance_id: int) -> InstanceRow | None:
    found = session.connection().execute(_instance_by_id, {"instance_id": instance_id}).first()
    return _instance_row(session, found._mapping) if found is not None else None


def active_by_key(session, process_id: str, business_key: str) -> InstanceRow | None:
    found = session.connection().execute(_active_by_key, {
        "process_id": process_id, "business_key": business_key}).first()
    return _instance_row(session, found._mapping) if found is not None else None


def instance_of_message(session, message_id: str) -> InstanceRow | None:
    """The instance a message id was delivered to, if it was."""
    found = session.connection().execute(_instance_of_message,
                                         {"message_id": message_id}).first()
    return _instance_row(session, found._mapping) if found is not None else None


def load_task(session, task_id: str) -> tuple[TaskRow, InstanceRow] | None:
    found = session.connection().execute(_task_with_instance, {"task_id": str(task_id)}).all()
    if not found:
        return None
    first = found[0]._mapping
    task = TaskRow(**{name: first[f"task_{name}"] for name in _TASK_COLUMNS},
                   candidate_groups=sorted(r.group_name for r in found if r.group_name))
    return task, _instance_row(session, first)


MAX_CANDIDATES = 201


def _subscribed(by_instance: bool, by_key: bool):
    query = _select_instance.join(
        _subscription, _subscription.c.instance_id == _instance.c.id).where(
        _subscription.c.message_name == bindparam("name"))
    if by_instance:
        query = query.where(_instance.c.id == bindparam("instance_id"))
    if by_key:
        query = query.where(_subscription.c.business_key == bindparam("business_key"))
    return query.limit(MAX_CANDIDATES)


# Built once per combination of filters: building a select costs more than running it.
_subscribed_by = {(i, k): _subscribed(i, k) for i in (False, True) for k in (False, True)}


def message_candidates(session, name: str, business_key: str | None,
                       instance_id: int | None) -> list[InstanceRow]:
    """Instances subscribed to the message (at most MAX_CANDIDATES), narrowed by business key
    or id."""
    query = _subscribed_by[instance_id is not None, business_key is not None]
    found = {}
    for row in session.connection().execute(query, {
            "name": name, "instance_id": instance_id, "business_key": business_key}):
        found.setdefault(row.id, row)  # one row per subscription; an instance once
    return [_instance_row(session, row._mapping) for row in found.values()]
