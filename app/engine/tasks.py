"""Inbox operations on human tasks that do not move the engine: claim, unclaim, delegate."""
from sqlalchemy import select

from app.engine.errors import Forbidden, InvalidState, NotFound
from app.engine.runtime import Actor, check_may_work_on
from app.models.engine import HumanTask, InstanceEvent
from app.engine import clock


def _task(session, task_id) -> HumanTask:
    human = session.get(HumanTask, str(task_id), populate_existing=True, with_for_update=True)
    if human is None:
        raise NotFound(f"task {task_id} not found")
    return human


def _log(session, human, kind, actor, details=None):
    session.add(InstanceEvent(instance_id=human.instance_id, at=clock.now(), kind=kind,
                              node_id=human.node_id, node_name=human.node_name,
                              node_type="UserTask", actor=actor.username,
                              details={"task_id": human.id, **(details or {})}))


def claim(session, task_id, actor: Actor) -> HumanTask:
    human = _task(session, task_id)
    check_may_work_on(human, actor, action="claim")
    if human.assignee and human.assignee != actor.username:
        raise InvalidState(f"task {human.id} is claimed by {human.assignee}",
                           details={"assignee": human.assignee})
    human.assignee = actor.username
    _log(session, human, "task_claimed", actor)
    session.commit()
    return human


def unclaim(session, task_id, actor: Actor) -> HumanTask:
    human = _task(session, task_id)
    check_may_work_on(human, actor, action="unclaim")
    if human.assignee != actor.username and not actor.is_admin:
        raise Forbidden("only the assignee (or an admin) can hand a task back")
    human.assignee = None
    _log(session, human, "task_unclaimed", actor)
    session.commit()
    return human


def delegate(session, task_id, actor: Actor, to: Actor) -> HumanTask:
    """Hand a task to another user of one of its groups (who is not excluded from it)."""
    human = _task(session, task_id)
    check_may_work_on(human, actor, action="delegate")
    if human.assignee and human.assignee != actor.username and not actor.is_admin:
        raise InvalidState(f"task {human.id} is claimed by {human.assignee}",
                           details={"assignee": human.assignee})
    try:
        check_may_work_on(human, Actor(to.username, to.groups, False), action="work on")
    except Forbidden as err:
        raise Forbidden(f"cannot delegate to {to.username}: {err.message}") from None
    human.assignee = to.username
    _log(session, human, "task_delegated", actor, {"to": to.username})
    session.commit()
    return human


def open_task_ids(session, instance_id) -> list[str]:
    return list(session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state == "open")))
