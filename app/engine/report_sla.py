"""SLA of human tasks: what is past due now (by group and assignee), and the breach rate per
task type over a period. The due time is the task's ``dueIn`` or its escalation timer."""
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select

from app.engine import clock
from app.models.engine import HumanTask, HumanTaskCandidate


def overdue_tasks(session, *, process_id=None, node_id=None, group=None, assignee=None,
                  limit=100, offset=0, now=None) -> dict:
    """Open tasks past their due time, listed and counted by group and by assignee
    (ix_human_task_open_due; groups through the candidate table's primary key)."""
    now = now or clock.now()
    conditions = [HumanTask.state == "open", HumanTask.due_at < now]
    if process_id:
        conditions.append(HumanTask.process_id == process_id)
    if node_id:
        conditions.append(HumanTask.node_id == node_id)
    if assignee:
        conditions.append(HumanTask.assignee == assignee)
    if group:
        conditions.append(exists().where(HumanTaskCandidate.task_id == HumanTask.id,
                                         HumanTaskCandidate.group_name == group))
    total = session.scalar(select(func.count()).select_from(HumanTask).where(*conditions))
    by_group = session.execute(
        select(HumanTaskCandidate.group_name, func.count(), func.min(HumanTask.due_at))
        .join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id).where(*conditions)
        .group_by(HumanTaskCandidate.group_name).order_by(func.count().desc(),
                                                          HumanTaskCandidate.group_name))
    by_assignee = session.execute(
        select(HumanTask.assignee, func.count(), func.min(HumanTask.due_at)).where(*conditions)
        .group_by(HumanTask.assignee).order_by(func.count().desc()))
    tasks = list(session.scalars(select(HumanTask).where(*conditions)
                                 .order_by(HumanTask.due_at, HumanTask.id)
                                 .offset(offset).limit(limit)))
    items = [{"task_id": t.id, "instance_id": t.instance_id, "process_id": t.process_id,
              "business_key": t.business_key, "node_id": t.node_id, "node_name": t.node_name,
              "assignee": t.assignee, "candidate_groups": t.candidate_groups,
              "created_at": t.created_at, "due_at": t.due_at,
              "overdue_seconds": int((now - t.due_at).total_seconds())} for t in tasks]
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "by_group": [{"group": g, "count": n, "oldest_due_at": d} for g, n, d in by_group],
            "by_assignee": [{"assignee": a, "count": n, "oldest_due_at": d}
                            for a, n, d in by_assignee]}


def breach_rates(session, *, since: datetime, until: datetime | None = None,
                 process_id=None, now=None) -> list[dict]:
    """Per task type (node): tasks with a due time created in [since, until), how many were
    (or are) late — completed after the due time, still open past it, or cancelled by an
    escalation at it — and the rate. ix_human_task_state_created (one range per state)."""
    now = now or clock.now()
    until = until or now
    late = or_(and_(HumanTask.state == "completed", HumanTask.completed_at > HumanTask.due_at),
               and_(HumanTask.state == "open", HumanTask.due_at < now),
               and_(HumanTask.state == "cancelled", HumanTask.completed_at >= HumanTask.due_at))
    query = select(HumanTask.process_id, HumanTask.node_id, func.max(HumanTask.node_name),
                   func.count(), func.sum(case((late, 1), else_=0)),
                   func.sum(case((and_(HumanTask.state == "open", HumanTask.due_at < now), 1),
                                 else_=0))).where(
        HumanTask.state.in_(("open", "completed", "cancelled")),
        HumanTask.created_at >= since, HumanTask.created_at < until,
        HumanTask.due_at.is_not(None)).group_by(HumanTask.process_id, HumanTask.node_id)
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    rows = [{"process_id": pid, "node_id": nid, "node_name": name, "tasks": n,
             "breached": int(b or 0), "open_overdue": int(o or 0),
             "rate": round(int(b or 0) / n, 4) if n else 0.0}
            for pid, nid, name, n, b, o in session.execute(query)]
    return sorted(rows, key=lambda r: (-r["rate"], r["process_id"], r["node_id"]))
