"""Service tasks whose declared business errors become BPMN errors.

SpiffWorkflow lets any exception from a service task escape ``do_engine_steps()``. Ours catch the
operator's :class:`BusinessError`; when an error boundary event (or event subprocess) waits for that
code, the error is thrown to it; otherwise it escapes and the unit of work opens an incident.
"""
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.operators import BusinessError


class ServiceTask(SpiffServiceTask):
    def _execute(self, my_task):
        try:
            return super()._execute(my_task)
        except BusinessError as err:
            event = BpmnEvent(
                ErrorEventDefinition(err.code, code=err.code),
                payload={"code": err.code, "message": err.message, **err.payload},
                target=my_task.workflow,
            )
            top = my_task.workflow.top_workflow
            if not top.get_tasks(state=TaskState.WAITING, catches_event=event):
                raise
            top.catch(event)
            return False


class ServiceTaskSpecConverter(ServiceTaskConverter):
    pass
