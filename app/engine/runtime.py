"""The units of work: start, complete a task, deliver a message, fire timers, retry, and the
operator actions (suspend, resume, terminate). Each is one database transaction.

A unit loads the instance (with its revision), rebuilds the workflow from the cached spec,
applies its change, runs the engine until it waits, and saves everything at once. A revision
conflict rolls it all back (ERP rows written by service tasks too) and runs the unit again.
When the engine raises, the unit is rolled back and run once more *without* stepping: the change
itself (the completed form, the message, the fired timer) is kept, the instance goes to ``error``
with an incident at the failing node, and a retry continues from there.
"""
import traceback
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine import clock, deployments, forms, rows, serializer, store
from app.engine.errors import (
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    StaleRevision,
    UnitFailed,
)
from app.engine.operators import UnitContext
from app.engine.rows import InstanceRow, TaskRow
from app.engine.scripting import ScriptEngine, shared_environment
from app.models.engine import (
    ACTIVE_STATUSES,
    ERROR,
    RUNNING,
    SUSPENDED,
    TERMINATED,
    WAITING,
    Incident,
)

MOVABLE = (RUNNING, WAITING)  # states in which the engine may advance an instance


@dataclass
class Actor:
    username: str | None
    groups: frozenset = field(default_factory=frozenset)
    is_admin: bool = False


SYSTEM = Actor("system", frozenset(), True)


@dataclass
class Settings:
    max_attempts: int = 5
    auto_retries: int = 3
    retry_backoff_seconds: int = 30


def _advance(workflow, recorder) -> list:
    """Run the engine until the instance waits; timers found due while stepping run too.

    Returns the READY tasks it settled with (user tasks only), which the projection reuses.
    """
    try:
        for _ in range(1000):
            workflow.do_engine_steps(will_complete_task=recorder.will_complete,
                                     did_complete_task=recorder.did_complete)
            ready = workflow.get_tasks(state=TaskState.READY)
            if all(t.task_spec.manual for t in ready):
                return ready
        raise RuntimeError("the engine did not settle after 1000 rounds (a loop in the diagram?)")
    except Exception as err:  # anything unmodelled becomes an incident
        task = getattr(err, "task", None) or recorder.current_task
        spec = getattr(task, "task_spec", None)
        raise UnitFailed(err, getattr(spec, "bpmn_id", None), getattr(spec, "bpmn_name", None),
                         traceback.format_exc()) from err


def _is_conflict(err: Exception) -> bool:
    if isinstance(err, (StaleRevision, StaleDataError)):
        return True
    code = getattr(getattr(err, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01")  # serialization failure, deadlock


class Runtime:
    def __init__(self, session, settings: Settings | None = None):
        self.session = session
        self.settings = settings or Settings()

    # -- plumbing ------------------------------------------------------------------------------
    def _workflow(self, instance: InstanceRow, actor: Actor):
        parsed = deployments.parsed_for(self.session, instance.deployment_id)
        workflow = serializer.load(instance.state, parsed.specs[instance.process_id],
                                   parsed.subprocess_specs[instance.process_id])
        workflow.script_engine = self._script_engine(instance, actor)
        return workflow

    def _script_engine(self, instance: InstanceRow, actor: Actor) -> ScriptEngine:
        return ScriptEngine(shared_environment, UnitContext(
            self.session, instance.id, instance.business_key, instance.process_id,
            actor.username))

    def _run(self, instance_id: int, change, actor: Actor, *, allowed=MOVABLE, kind="change",
             resolves_incident=False, loaded: InstanceRow | None = None):
        """Run ``change(instance, workflow, recorder)`` as one unit; see the module docstring.

        ``loaded``: the instance as the caller already read it in this transaction; a rerun
        reads it again.
        """
        for _attempt in range(self.settings.max_attempts):
            try:
                # Autoflush stays on: operators' pending ERP changes must reach the database
                # before a later operator re-reads (or locks and re-populates) the same rows.
                result = self._once(instance_id, change, actor, allowed, step=True,
                                    loaded=loaded, resolves_incident=resolves_incident)
                self.session.commit()
                return result
            except UnitFailed as failure:
                self.session.rollback()
                loaded = None
                try:
                    result = self._once(instance_id, change, actor, allowed, step=False,
                                        failure=failure, automatic=kind == "auto_retry")
                    self.session.commit()
                    return result
                except Exception as err:
                    self.session.rollback()
                    if not _is_conflict(err):
                        raise
            except (StaleDataError, StaleRevision, OperationalError) as err:
                self.session.rollback()
                loaded = None
                if not _is_conflict(err):
                    raise
            except BaseException:
                self.session.rollback()
                raise
        raise InvalidState("the instance is being changed by someone else; try again")

    def _load(self, instance_id, allowed) -> InstanceRow:
        instance = rows.load_instance(self.session, instance_id)
        if instance is None:
            raise NotFound(f"process instance {instance_id} not found")
        _check_status(instance, allowed)
        return instance

    def _once(self, instance_id, change, actor, allowed, *, step, loaded=None, failure=None,
              automatic=False, resolves_incident=False):
        if loaded is not None:
            _check_status(loaded, allowed)
            instance = loaded
        else:
            instance = self._load(instance_id, allowed)
        workflow = self._workflow(instance, actor)
        recorder = store.StepRecorder(actor.username)
        result = change(instance, workflow, recorder)
        ready = None
        if step:
            ready = _advance(workflow, recorder)
            if resolves_incident and store.resolve_incident(self.session, instance.id,
                                                            actor.username):
                instance.status = RUNNING  # save() settles it from the waits
                recorder.add("incident_resolved", actor=actor.username)
        else:
            recorder.add("incident", node_id=failure.node_id, node_name=failure.node_name,
                         actor=actor.username, details={"message": str(failure.original)[:500]})
        store.save(self.session, instance, workflow, recorder, failed=not step, ready=ready)
        if not step:
            self._open_incident(instance, failure, automatic)
        return instance if result is None else result

    def _open_incident(self, instance, failure, automatic):
        store.open_incident(self.session, instance.id, failure,
                            auto_retries=self.settings.auto_retries,
                            backoff_seconds=self.settings.retry_backoff_seconds,
                            automatic=automatic)

    # -- units ---------------------------------------------------------------------------------
    def start(self, process_id: str, *, business_key: str | None = None, data: dict | None = None,
              actor: Actor = SYSTEM) -> tuple[InstanceRow, bool]:
        """Start the latest version; an active instance with the same business key is returned.

        The row is inserted first (store.start_row) and the unique index on active business keys
        refuses a second one: no look-up before, and no engine run on a replay. Of two concurrent
        starts of one key, the second waits on the first one's row, then finds it. Operators see
        the instance id from the start on.
        """
        data = _check_data(data or {})
        try:
            try:
                instance = self._start_once(process_id, business_key, data, actor)
            except UnitFailed as failure:
                self.session.rollback()
                instance = self._start_once(process_id, business_key, data, actor,
                                            failure=failure)
            self.session.commit()
            return instance, True
        except IntegrityError:
            self.session.rollback()
            existing = self._active_by_key(process_id, business_key) \
                if business_key is not None else None
            if existing is None:
                raise
            return existing, False
        except BaseException:
            self.session.rollback()
            raise

    def _start_once(self, process_id, business_key, data, actor, failure=None):
        instance = store.start_row(self.session, process_id, business_key, actor.username,
                                   clock.now(), getattr(failure, "deployment_id", None))
        if instance is None:
            raise NotFound(f"no deployed process with id {process_id!r}")
        parsed = deployments.parsed_for(self.session, instance.deployment_id)
        workflow = BpmnWorkflow(parsed.specs[process_id], parsed.subprocess_specs[process_id])
        workflow.script_engine = self._script_engine(instance, actor)
        workflow.get_next_task(state=TaskState.READY).set_data(**data)
        recorder = store.StepRecorder(actor.username)
        recorder.add("started", actor=actor.username, details={"fields": sorted(data)})
        ready = None
        if failure is None:
            try:
                ready = _advance(workflow, recorder)
            except UnitFailed as failed:
                # The rerun that records the incident stays on this version, even if a newer
                # one was deployed meanwhile.
                failed.deployment_id = instance.deployment_id
                raise
        else:
            recorder.add("incident", node_id=failure.node_id, node_name=failure.node_name,
                         details={"message": str(failure.original)[:500]})
        store.save(self.session, instance, workflow, recorder, failed=failure is not None,
                   ready=ready)
        if failure is not None:
            self._open_incident(instance, failure, automatic=False)
        return instance

    def _active_by_key(self, process_id, business_key) -> InstanceRow | None:
        return rows.active_by_key(self.session, process_id, business_key)

    def complete_task(self, task_id: str, data: dict | None, actor: Actor) -> InstanceRow:
        data = _check_data(data or {})
        human, instance = self._human_task(task_id)
        check_may_work_on(human, actor, action="complete")
        parsed = deployments.parsed_for(self.session, instance.deployment_id)
        forms.validate_submission(parsed.forms, human.form_schema, data)

        def change(instance, workflow, recorder):
            task = _ready_user_task(workflow, task_id)
            # Diagrams may use who did it (approved_by = completed_by); the form cannot forge it.
            task.set_data(**{**data, "completed_by": actor.username})
            task.run()
            recorder.completed_by_user[task_id] = actor.username
            recorder.add("task_completed", node_id=human.node_id, node_name=human.node_name,
                         node_type="UserTask", actor=actor.username,
                         details={"task_id": task_id, "fields": sorted(data)})

        return self._run(instance.id, change, actor, loaded=instance)

    def deliver_message(self, name: str, *, payload=None, business_key=None, instance_id=None,
                        correlation=None, message_id=None, actor: Actor = SYSTEM):
        """Returns (instance, duplicate).

        A message id already delivered is found when its row is inserted (the primary key
        refuses it) or, when no instance takes the message any more, before giving up.
        """
        try:
            target = self._message_target(name, business_key, instance_id, correlation)
            if target.status not in MOVABLE:
                raise InvalidState(f"process instance {target.id} is {target.status} and cannot "
                                   f"take message {name!r}", details={"status": target.status})
        except (NotFound, InvalidState):
            seen = rows.instance_of_message(self.session, message_id) if message_id else None
            if seen is None:
                raise
            return seen, True

        def change(instance, workflow, recorder):
            if message_id:
                store.record_message(self.session, message_id, name, instance.id)
            try:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
            except WorkflowException as err:
                raise InvalidState(str(err)) from None
            recorder.add("message", actor=actor.username,
                         details={"message": name, "message_id": message_id})

        try:
            return self._run(target.id, change, actor, loaded=target), False
        except IntegrityError:
            self.session.rollback()  # the same message_id raced us and won: it was applied once
            seen = rows.instance_of_message(self.session, message_id) if message_id else None
            if seen is None:
                raise
            return seen, True

    def _message_target(self, name, business_key, instance_id, correlation) -> InstanceRow:
        candidates = rows.message_candidates(self.session, name, business_key, instance_id)
        if correlation:
            candidates = [c for c in candidates if self._correlates(c, name, correlation)]
        if not candidates:
            raise NotFound(f"no process instance waits for message {name!r}",
                           details={"business_key": business_key, "instance_id": instance_id,
                                    "correlation": correlation})
        if len(candidates) > 1:
            raise InvalidState(f"{len(candidates)} instances wait for message {name!r}; "
                               "give a business_key, correlation values or process_instance_id",
                               details={"instances": [c.id for c in candidates[:20]]})
        return candidates[0]

    def _correlates(self, instance, name, correlation: dict) -> bool:
        """Correlation values match the data of the task waiting for the message."""
        workflow = self._workflow(instance, SYSTEM)
        for task in workflow.event_manager.tasks.values():
            event = task.task_spec.event_definition
            if getattr(event, "name", None) == name and all(
                    task.data.get(k) == v for k, v in correlation.items()):
                return True
        return False

    def fire_timers(self, instance_id: int, actor: Actor = SYSTEM) -> InstanceRow:
        def change(instance, workflow, recorder):
            workflow.refresh_timers()
        return self._run(instance_id, change, actor, kind="timer")

    def retry(self, instance_id: int, actor: Actor, *, automatic=False) -> InstanceRow:
        def change(instance, workflow, recorder):
            recorder.add("retry", actor=actor.username, details={"automatic": automatic})
        return self._run(instance_id, change, actor, allowed=(ERROR,), resolves_incident=True,
                         kind="auto_retry" if automatic else "retry")

    # -- operator actions (no engine step) -----------------------------------------------------
    def _set_status(self, instance_id, actor, allowed, kind, reason, apply):
        for _attempt in range(self.settings.max_attempts):
            try:
                instance = self._load(instance_id, allowed)
                apply(instance)
                recorder = store.StepRecorder(actor.username)
                recorder.add(kind, actor=actor.username, details={"reason": reason} if reason else None)
                store.save_status(self.session, instance, recorder)
                self.session.commit()
                return instance
            except (StaleDataError, StaleRevision, OperationalError) as err:
                self.session.rollback()
                if not _is_conflict(err):
                    raise
            except BaseException:
                self.session.rollback()
                raise
        raise InvalidState("the instance is being changed by someone else; try again")

    def suspend(self, instance_id, actor, reason=None):
        def apply(instance):
            instance.status = SUSPENDED
        return self._set_status(instance_id, actor, (RUNNING, WAITING, ERROR), "suspended",
                                reason, apply)

    def resume(self, instance_id, actor, reason=None):
        def apply(instance):
            has_incident = self.session.scalar(select(Incident.id).where(
                Incident.instance_id == instance.id, Incident.status == "open"))
            instance.status = ERROR if has_incident else (WAITING if instance.waiting_at else RUNNING)
        return self._set_status(instance_id, actor, (SUSPENDED,), "resumed", reason, apply)

    def terminate(self, instance_id, actor, reason=None):
        def apply(instance):
            now = clock.now()
            instance.status, instance.ended_at = TERMINATED, now
            instance.end_reason = reason
            instance.waiting_at, instance.next_due_at = [], None
            store.close_projections(self.session, instance.id, now)
            store.resolve_incident(self.session, instance.id, actor.username)
        return self._set_status(instance_id, actor, ACTIVE_STATUSES, "terminated", reason, apply)

    # -- helpers -------------------------------------------------------------------------------
    def _human_task(self, task_id) -> tuple[TaskRow, InstanceRow]:
        found = rows.load_task(self.session, task_id)
        if found is None:
            raise NotFound(f"task {task_id} not found")
        return found


def _check_status(instance: InstanceRow, allowed) -> None:
    if instance.status not in allowed:
        raise InvalidState(f"process instance {instance.id} is {instance.status}",
                           details={"status": instance.status})


def _ready_user_task(workflow, task_id):
    from uuid import UUID

    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or not task.has_state(TaskState.READY) or not task.task_spec.manual:
        raise InvalidState(f"task {task_id} is no longer open")
    return task


def _check_data(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object")
    bad = sorted(k for k in data if not isinstance(k, str) or not k.isidentifier()
                 or k.startswith("_"))
    if bad:
        raise InvalidInput("data keys must be identifiers not starting with '_'",
                           details={"keys": bad})
    return data


def check_may_work_on(human, actor: Actor, *, action: str) -> None:
    """Only the task's groups may work on it; a claim by someone else and exclusions bind.

    ``human``: a HumanTask, or the TaskRow a completion reads.
    """
    if human.state != "open":
        who = f" by {human.completed_by}" if human.completed_by else ""
        raise InvalidState(f"task {human.id} is already {human.state}{who}",
                           details={"state": human.state, "completed_by": human.completed_by})
    if actor.username in (human.excluded_users or []):
        raise Forbidden(f"{actor.username} may not {action} this task (segregation of duties)")
    if not actor.is_admin and not set(human.candidate_groups) & set(actor.groups):
        raise Forbidden(f"task {human.id} belongs to {human.candidate_groups or 'no group'}")
    if action == "complete" and human.assignee and human.assignee != actor.username:
        raise InvalidState(f"task {human.id} is claimed by {human.assignee}",
                           details={"assignee": human.assignee})
