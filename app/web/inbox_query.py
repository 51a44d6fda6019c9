"""Read queries of the inbox page: its rows joined to their orders, counts, filter choices,
and the next task to offer after a completion."""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from app.engine import clock, deployments
# The engine's own visibility rule, so the page and GET /api/tasks never disagree on who sees what.
from app.engine.queries import _view_filter as view_filter
from app.models.engine import Deployment, HumanTask, ProcessDefinition
from app.models.identity import Group, User
from app.models.sales import Customer, SalesOrder

VIEWS = ("mine", "groups", "completed")
DUE_FILTERS = ("overdue", "today", "week")
SORTS = {
    "waiting": "Waiting longest",
    "newest": "Newest first",
    "due": "Due soonest",
    "amount": "Largest amount",
    "completed": "Recently completed",
}


@dataclass
class InboxRow:
    task: HumanTask
    order_number: str | None
    customer: str | None
    amount: Decimal | None
    currency: str | None


def _order_by(sort: str):
    return {
        "waiting": (HumanTask.created_at.asc(),),
        "newest": (HumanTask.created_at.desc(),),
        "due": (HumanTask.due_at.asc().nulls_last(), HumanTask.created_at.asc()),
        "amount": (SalesOrder.total.desc().nulls_last(), HumanTask.created_at.asc()),
        "completed": (HumanTask.completed_at.desc(),),
    }[sort]


def _due_condition(due: str):
    now = clock.now()
    horizon = {"overdue": now, "today": now.replace(hour=23, minute=59, second=59),
               "week": now + timedelta(days=7)}[due]
    return HumanTask.due_at <= horizon


def inbox(session, actor, *, view="groups", process_id=None, node_id=None, due=None, q=None,
          sort=None, page=1, per_page=25) -> dict:
    """One page of the tab ``view``; text ``q`` matches order number, customer or task name."""
    sort = sort if sort in SORTS else ("completed" if view == "completed" else "waiting")
    conditions = [view_filter(view, actor)]
    if process_id:
        conditions.append(HumanTask.process_id == process_id)
    if node_id:
        conditions.append(HumanTask.node_id == node_id)
    if due in DUE_FILTERS:
        conditions.append(_due_condition(due))
    if q:
        like = f"%{q.strip().lower()}%"
        conditions.append(or_(func.lower(HumanTask.business_key).like(like),
                              func.lower(Customer.name).like(like),
                              func.lower(HumanTask.node_name).like(like)))
    query = (select(HumanTask, SalesOrder.number, Customer.name, SalesOrder.total,
                    SalesOrder.currency)
             .outerjoin(SalesOrder, SalesOrder.number == HumanTask.business_key)
             .outerjoin(Customer, Customer.id == SalesOrder.customer_id)
             .where(*conditions))
    total = session.scalar(select(func.count()).select_from(
        query.with_only_columns(HumanTask.id).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(query.order_by(*_order_by(sort), HumanTask.id)
                           .offset((page - 1) * per_page).limit(per_page))
    return {"rows": [InboxRow(*row) for row in rows], "total": total, "page": page,
            "pages": pages, "per_page": per_page, "sort": sort, "counts": counts(session, actor)}


def counts(session, actor) -> dict:
    return {name: session.scalar(select(func.count()).select_from(HumanTask)
                                 .where(view_filter(name, actor)))
            for name in VIEWS}


def filter_choices(session) -> dict:
    """Processes and their user tasks in the newest deployment (parsed once, then cached)."""
    deployment_id = session.scalar(select(Deployment.id).order_by(Deployment.version.desc())
                                   .limit(1))
    if deployment_id is None:
        return {"processes": [], "tasks": []}
    definitions = session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.deployment_id == deployment_id)
        .order_by(ProcessDefinition.process_id)).all()
    parsed = deployments.parsed_for(session, deployment_id)
    tasks = {}
    for definition in definitions:
        # the process itself and its embedded subprocesses / called processes
        process_specs = [parsed.specs.get(definition.process_id),
                         *(parsed.subprocess_specs.get(definition.process_id) or {}).values()]
        task_specs = [ts for spec in process_specs if spec for ts in spec.task_specs.values()]
        for task_spec in task_specs:
            if getattr(task_spec, "manual", False) and task_spec.bpmn_id not in tasks:
                tasks[task_spec.bpmn_id] = task_spec.bpmn_name or task_spec.bpmn_id
    return {"processes": [(d.process_id, d.name or d.process_id) for d in definitions],
            "tasks": sorted(tasks.items(), key=lambda item: item[1].lower())}


def next_task_for(session, actor, instance_id: int | None = None) -> HumanTask | None:
    """After a completion: the same order's next task if the user may take it, else the oldest
    task assigned to them, else the oldest open task of their groups nobody has claimed."""
    candidates = []
    if instance_id is not None:
        candidates.append(select(HumanTask).where(
            view_filter("groups", actor), HumanTask.instance_id == instance_id,
            or_(HumanTask.assignee.is_(None), HumanTask.assignee == actor.username)))
    candidates.append(select(HumanTask).where(view_filter("mine", actor)))
    candidates.append(select(HumanTask).where(view_filter("groups", actor),
                                              HumanTask.assignee.is_(None)))
    for query in candidates:
        found = session.scalar(query.order_by(HumanTask.created_at, HumanTask.id).limit(1))
        if found is not None and actor.username not in (found.excluded_users or []):
            return found
    return None


def delegates_for(session, task: HumanTask, actor) -> list[User]:
    """Active users of the task's groups, other than the actor and anyone excluded from it."""
    excluded = set(task.excluded_users or []) | {actor.username}
    users = session.scalars(
        select(User).join(User.groups)
        .where(Group.name.in_(task.candidate_groups or [""]), User.active.is_(True))
        .order_by(User.username).distinct())
    return [user for user in users if user.username not in excluded]
