"""Workflow state <-> bytes, without the spec.

SpiffWorkflow embeds the whole spec (and every called process's spec) in each serialized
instance; we store a deployment's spec once and keep only the state: measured 3x smaller before
compression. The state is zlib-compressed JSON.
"""
import json
import zlib
from decimal import Decimal

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from app.engine.service_task import ServiceTask, ServiceTaskSpecConverter


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _registry():
    config = {**SPIFF_CONFIG, ServiceTask: ServiceTaskSpecConverter,
              BpmnWorkflow: SpecFreeWorkflowConverter}
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return registry


_serializer = BpmnWorkflowSerializer(_registry())


def dump(workflow: BpmnWorkflow) -> bytes:
    return zlib.compress(_serializer.serialize_json(workflow).encode(), 1)


def load(state: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(zlib.decompress(state))
    dct.pop(_serializer.VERSION_KEY, None)
    return _serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
