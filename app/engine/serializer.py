"""Workflow state <-> bytes, without the spec.

SpiffWorkflow embeds the whole spec (and every called process's spec) in each serialized
instance; we store a deployment's spec once and keep only the state: measured 3x smaller before
compression. The state is zlib-compressed JSON.

Every task id appears about four times in a state (as the task, as its parent's child, as its
children's parent, as a key), and turning UUIDs into text and back was a quarter of the time of
a dump and of a load. The ids of a live instance recur in every unit of work, so the conversions
are cached; the JSON is the same as SpiffWorkflow's own.
"""
import json
import zlib
from copy import copy
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from app.engine.service_task import ServiceTask, ServiceTaskSpecConverter

# Plain dicts, emptied when full: cheaper than lru_cache and adding no garbage-collected entry
# objects. A lost entry (another thread emptied it) is only a miss: ids never change.
_MAX_IDS = 10_000
_uuids: dict[str, UUID] = {}
_texts: dict[UUID, str] = {}


def _remember(value: UUID, text: str) -> None:
    # Both ways: the ids a unit dumps are the ones the instance's next unit loads.
    if len(_uuids) >= _MAX_IDS:
        _uuids.clear()
        _texts.clear()
    _uuids[text], _texts[value] = value, text


def _uuid(text: str) -> UUID:
    value = _uuids.get(text)
    if value is None:
        value = UUID(text)
        _remember(value, text)
    return value


def _text(value: UUID) -> str:
    text = _texts.get(value)
    if text is None:
        text = str(value)
        _remember(value, text)
    return text


# What json.loads gives that needs no restoring.
_LEAF_TYPES = frozenset((str, int, float, bool, type(None)))
_MUTABLE = (dict, list, set)


def _restore(registry, value):
    """``registry.restore(value)`` for a value fresh from json.loads (only dicts, lists and
    leaves), without a call per leaf: about 7 of 10 restore calls of a load were on leaves."""
    kind = type(value)
    if kind is dict:
        if "typename" in value:
            return registry.restore(value)
        return {key: item if type(item) in _LEAF_TYPES else _restore(registry, item)
                for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _LEAF_TYPES else _restore(registry, item) for item in value]
    return registry.restore(value)


def _copy_data(data: dict) -> dict:
    """``DeepMerge.merge({}, data)``: a new dict whose dict/list/set values are shallow copies."""
    return {key: (value.copy() if type(value) in (dict, list, set) else copy(value))
            if isinstance(value, _MUTABLE) else value for key, value in data.items()}


def _workflow_dict(registry, workflow) -> dict:
    """WorkflowConverter.to_dict's common keys, in its order, with the cached id conversions."""
    last_task = workflow.last_task
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": _text(last_task.id) if last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {_text(k): registry.convert(v) for k, v in workflow.tasks.items()},
        "root": _text(workflow.task_tree.id),
    }


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        # Without "spec" / "subprocess_specs": the spec comes from the deployment.
        return {**_workflow_dict(self.registry, workflow),
                "subprocesses": self.mapping_to_dict(workflow.subprocesses),
                "bpmn_events": self.registry.convert(workflow.bpmn_events)}

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = _tasks_from_dict(self.registry, dct["tasks"], workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class CachedIdSubWorkflowConverter(BpmnSubWorkflowConverter):
    """SpiffWorkflow 3.2's converter of a subprocess (call activity, embedded subprocess) with
    the cached id conversions: two thirds of an order's tasks live in subprocesses."""

    def to_dict(self, workflow):
        # WorkflowConverter.to_dict + BpmnSubWorkflowConverter.to_dict, keys in their order.
        return {**_workflow_dict(self.registry, workflow),
                "parent_task_id": _text(workflow.parent_task_id),
                "spec": workflow.spec.name}

    def from_dict(self, dct, task, top_workflow):
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = _tasks_from_dict(self.registry, dct["tasks"], subprocess)
        subprocess.task_tree = subprocess.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


def _tasks_from_dict(registry, tasks: dict, workflow) -> dict:
    """``mapping_from_dict(tasks, UUID, workflow=workflow)``, calling the task converter
    directly (no registry dispatch and no copy of each task's dict) and with cached ids."""
    task_from_dict = _task_from_dict(registry)
    return {_uuid(key): task_from_dict(value, workflow) if value.get("typename") == "Task"
            else registry.restore(value, workflow=workflow) for key, value in tasks.items()}


def _task_from_dict(registry):
    # registry.convert_from_dict["Task"] is partial(_obj_from_dict, <converter>.from_dict)
    return registry.convert_from_dict["Task"].args[0]


class CachedIdTaskConverter(TaskConverter):
    """SpiffWorkflow 3.2's TaskConverter, line for line, with the cached id conversions."""

    def to_dict(self, task):
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
        return {
            "id": _text(task.id),
            "parent": _text(task._parent) if parent is not None else None,
            "children": [_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = _restore(self.registry, dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = _copy_data(task.parent.data)
            data.update(_restore(self.registry, delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                if key in data:
                    del data[key]
        else:
            data = _restore(self.registry, dct["data"])
        task.data = data
        return task


def _registry():
    config = {**SPIFF_CONFIG, ServiceTask: ServiceTaskSpecConverter,
              BpmnWorkflow: SpecFreeWorkflowConverter, Task: CachedIdTaskConverter,
              BpmnSubWorkflow: CachedIdSubWorkflowConverter}
    registry = BpmnWorkflowSerializer.configure(config)
    assert isinstance(_task_from_dict(registry).__self__, CachedIdTaskConverter)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return registry


_serializer = BpmnWorkflowSerializer(_registry())


def dump(workflow: BpmnWorkflow) -> bytes:
    return zlib.compress(_serializer.serialize_json(workflow).encode(), 1)


def load(state: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(zlib.decompress(state))
    dct.pop(_serializer.VERSION_KEY, None)
    return _serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
