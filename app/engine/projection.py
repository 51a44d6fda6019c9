"""What the database shows of a workflow: its waits, its due time, its human tasks.

Computed after every unit of work from the in-memory workflow and written with the state, so the
inbox, the scheduler and message routing are index lookups that never deserialize an instance.
"""
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime

from jinja2.sandbox import SandboxedEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from app.engine import clock

_jinja = SandboxedEnvironment(autoescape=False)


@dataclass
class UserTaskView:
    task_id: str
    node_id: str
    node_name: str | None
    lane: str | None
    candidate_groups: list[str]
    form_schema: str | None
    form_ui_schema: str | None
    instructions: str | None
    due_at: datetime | None
    excluded_users: list[str]


@dataclass
class Projection:
    completed: bool
    waits: list[dict] = field(default_factory=list)
    user_tasks: dict[str, UserTaskView] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)
    next_due_at: datetime | None = None
    engine_work_pending: bool = False


def timer_due(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = value.get("next") if value.get("cycles", 0) != 0 else None
        if value is None:
            return None
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


def _boundary_timers(task):
    """Timer boundary events attached to a task: its siblings under the boundary split."""
    parent = task.parent
    if parent is None:
        return []
    return [t for t in parent.children
            if t is not task and isinstance(t.task_spec, BoundaryEvent)
            and isinstance(t.task_spec.event_definition, TimerEventDefinition)
            and t.has_state(TaskState.WAITING)]


@lru_cache(maxsize=1024)
def _template(text: str):
    return _jinja.from_string(text)


def _render(template: str | None, data: dict) -> str | None:
    if not template:
        return None
    try:
        return _template(template).render(**data)
    except Exception:  # a broken template still shows its text, never breaks the unit
        return template


def _user_task_view(task, evaluate) -> UserTaskView:
    spec = task.task_spec
    props = spec.extensions.get("properties", {}) if hasattr(spec, "extensions") else {}
    groups = [g.strip() for g in props.get("candidateGroups", "").split(",") if g.strip()]
    if not groups and spec.lane:
        groups = [spec.lane]
    due = None
    if props.get("dueIn"):
        duration = props["dueIn"].strip().strip("\"'")
        due = clock.now() + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(duration))
    else:
        deadlines = [timer_due(t) for t in _boundary_timers(task) if t.task_spec.cancel_activity]
        deadlines = [d for d in deadlines if d]
        due = min(deadlines) if deadlines else None
    excluded = []
    if props.get("excludeUsers"):
        value = evaluate(task, props["excludeUsers"])
        excluded = [str(v) for v in ([value] if isinstance(value, str) else value or []) if v]
    return UserTaskView(
        task_id=str(task.id), node_id=spec.bpmn_id, node_name=spec.bpmn_name, lane=spec.lane,
        candidate_groups=groups, form_schema=props.get("formJsonSchemaFilename"),
        form_ui_schema=props.get("formUiSchemaFilename"),
        instructions=_render(spec.extensions.get("instructionsForEndUser"), task.data),
        due_at=due, excluded_users=excluded,
    )


def project(workflow, known_task_ids: set[str], ready: list | None = None) -> Projection:
    """``known_task_ids``: user tasks already projected, which need no view rebuilt;
    ``ready``: ``workflow.get_tasks(state=TaskState.READY)`` when the caller just listed them."""
    proj = Projection(completed=workflow.is_completed())
    if proj.completed:
        return proj
    evaluate = workflow.script_engine.evaluate
    if ready is None:
        ready = workflow.get_tasks(state=TaskState.READY)
    for task in ready:
        if not task.task_spec.manual:
            proj.engine_work_pending = True
            continue
        task_id = str(task.id)
        view = None if task_id in known_task_ids else _user_task_view(task, evaluate)
        proj.user_tasks[task_id] = view
        proj.waits.append({"kind": "user_task", "node_id": task.task_spec.bpmn_id,
                           "node_name": task.task_spec.bpmn_name, "task_id": task_id})
    dues = []
    for task in workflow.event_manager.tasks.values():
        if not task.has_state(TaskState.WAITING):
            continue
        spec = task.task_spec
        event = spec.event_definition
        wait = {"kind": "event", "node_id": spec.bpmn_id, "node_name": spec.bpmn_name,
                "task_id": str(task.id)}
        # An event-based gateway waits itself, holding all its events in one definition.
        events = event.event_definitions if isinstance(event, MultipleEventDefinition) \
            else [event]
        for each in events:
            entry = dict(wait)
            if isinstance(each, TimerEventDefinition):
                due = timer_due(task)
                entry.update(kind="timer", due_at=due.isoformat() if due else None)
                if due:
                    dues.append(due)
            elif isinstance(each, MessageEventDefinition):
                entry.update(kind="message", message=each.name)
                proj.messages.add(each.name)
            if isinstance(spec, BoundaryEvent):
                entry["boundary"] = True
            proj.waits.append(entry)
    proj.next_due_at = min(dues) if dues else None
    return proj
