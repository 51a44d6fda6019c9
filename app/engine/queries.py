"""Read-side queries over the runtime's tables (no unit of work, no engine steps)."""
from datetime import timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, func, or_, select, union

from app.engine import clock, deployments, serializer
from app.engine.errors import NotFound
from app.models.engine import (
    HumanTask,
    HumanTaskCandidate,
    Incident,
    InstanceEvent,
    ProcessInstance,
)


def document_instance(session, instance_id: int | None, business_key: str,
                      process_id: str | None = None) -> ProcessInstance | None:
    """The instance of a business document (order, return): the one it links to, else the newest
    with its business key (a process another process started links itself later or never)."""
    if instance_id is not None:
        return session.get(ProcessInstance, instance_id)
    query = select(ProcessInstance).where(ProcessInstance.business_key == business_key)
    if process_id is not None:
        query = query.where(ProcessInstance.process_id == process_id)
    return session.scalar(query.order_by(ProcessInstance.id.desc()).limit(1))


def instance(session, instance_id: int) -> ProcessInstance:
    found = session.get(ProcessInstance, instance_id)
    if found is None:
        raise NotFound(f"process instance {instance_id} not found")
    return found


def list_instances(session, *, process_id=None, business_key=None, status=None, page=1,
                   per_page=50):
    query = select(ProcessInstance)
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if status:
        query = query.where(ProcessInstance.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(ProcessInstance.id.desc())
                            .offset((page - 1) * per_page).limit(per_page))
    return {"items": list(items), "total": total, "page": page, "per_page": per_page}


def workflow_data(session, inst: ProcessInstance) -> dict:
    """The workflow's data once completed; before that, the data of the latest finished step."""
    parsed = deployments.parsed_for(session, inst.deployment_id)
    workflow = serializer.load(inst.state, parsed.specs[inst.process_id],
                               parsed.subprocess_specs[inst.process_id])
    if workflow.is_completed():
        return dict(workflow.data)
    task = workflow.last_task
    if task is None:
        done = workflow.get_tasks(state=TaskState.COMPLETED)
        task = done[-1] if done else workflow.task_tree
    return dict(task.data)


def task_data(session, human: HumanTask) -> dict:
    from uuid import UUID

    inst = instance(session, human.instance_id)
    parsed = deployments.parsed_for(session, inst.deployment_id)
    workflow = serializer.load(inst.state, parsed.specs[inst.process_id],
                               parsed.subprocess_specs[inst.process_id])
    task = workflow.get_task_from_id(UUID(human.id))
    return dict(task.data) if task is not None else {}


def describe(session, inst: ProcessInstance) -> dict:
    tasks = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == inst.id).order_by(HumanTask.created_at))
    incident = session.scalar(select(Incident).where(Incident.instance_id == inst.id)
                              .order_by(Incident.id.desc()).limit(1))
    history = session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == inst.id).order_by(InstanceEvent.id))
    return {"tasks": list(tasks), "incident": incident, "history": list(history),
            "data": workflow_data(session, inst)}


def _visible_to(actor):
    """Open tasks a user may see: assigned to them or offered to one of their groups."""
    if actor.is_admin:
        return HumanTask.state == "open"
    # A union of two index lookups (ix_candidate_group_open, ix_human_task_assignee) rather than
    # "assignee = ? OR EXISTS (...)": an OR makes the database test every open task.
    visible_ids = union(
        select(HumanTaskCandidate.task_id).where(
            HumanTaskCandidate.group_name.in_(sorted(actor.groups) or [""]),
            HumanTaskCandidate.open.is_(True)),
        select(HumanTask.id).where(HumanTask.assignee == actor.username,
                                   HumanTask.state == "open"))
    # Both branches hold open tasks only (a candidate row is closed with its task), so the
    # database can drive from the ids: no "state = 'open'" that would tempt it to scan them all.
    return HumanTask.id.in_(visible_ids)


def _view_filter(view: str, actor):
    if view == "mine":
        return and_(HumanTask.state == "open", HumanTask.assignee == actor.username)
    if view == "completed":
        return HumanTask.completed_by == actor.username
    return _visible_to(actor)


def list_tasks(session, actor, *, view="groups", process_id=None, node_id=None, due=None, q=None,
               sort="created_at", page=1, per_page=50):
    conditions = [_view_filter(view, actor)]
    if process_id:
        conditions.append(HumanTask.process_id == process_id)
    if node_id:
        conditions.append(HumanTask.node_id == node_id)
    if due:
        now = clock.now()
        horizon = {"overdue": now, "today": now.replace(hour=23, minute=59, second=59),
                   "week": now + timedelta(days=7)}[due]
        conditions.append(HumanTask.due_at <= horizon)
    if q:
        like = f"%{q.lower()}%"
        conditions.append(or_(func.lower(HumanTask.business_key).like(like),
                              func.lower(HumanTask.node_name).like(like)))
    query = select(HumanTask).where(*conditions)
    column = {"created_at": HumanTask.created_at, "due_at": HumanTask.due_at,
              "completed_at": HumanTask.completed_at}[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    if view == "completed":
        order = HumanTask.completed_at.desc()
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(order, HumanTask.id)
                            .offset((page - 1) * per_page).limit(per_page))
    counts = {name: session.scalar(select(func.count()).select_from(HumanTask)
                                   .where(_view_filter(name, actor)))
              for name in ("mine", "groups", "completed")}
    return {"items": list(items), "total": total, "page": page, "per_page": per_page,
            "counts": counts}


def visible_task(session, task_id: str, actor) -> HumanTask:
    """A task the actor may look at: theirs, their groups', or one they completed."""
    human = session.get(HumanTask, str(task_id))
    if human is None:
        raise NotFound(f"task {task_id} not found")
    mine = actor.is_admin or human.assignee == actor.username or \
        human.completed_by == actor.username or set(human.candidate_groups) & set(actor.groups)
    if not mine:
        raise NotFound(f"task {task_id} not found")
    return human
