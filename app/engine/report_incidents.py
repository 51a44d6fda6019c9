"""Incidents for process owners, and the operator actions on one instance or a selection.

Carried by ix_incident_status_instance (incident(status, instance_id)).
"""
from sqlalchemy import func, select

from app.engine.errors import EngineError, InvalidInput
from app.engine.reports import MAX_ROWS, decorate, instance_filters
from app.models.engine import ERROR, Incident, ProcessInstance

ACTIONS = ("retry", "suspend", "resume", "terminate")


def _incident_query(process_id=None, node_id=None, q=None, status="open", version=None,
                    business_keys=None, instance_ids=None):
    query = select(Incident, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == Incident.instance_id).where(
        Incident.status == status, *instance_filters(process_id, version, business_keys))
    if node_id:
        query = query.where(Incident.node_id == node_id)
    if q:
        query = query.where(func.lower(Incident.message).like(f"%{q.lower()}%"))
    if instance_ids is not None:
        query = query.where(Incident.instance_id.in_(instance_ids))
    return query


def incidents(session, *, limit=100, offset=0, **filters) -> dict:
    """Open (or resolved) incidents with their instance; ix_incident_status_instance."""
    query = _incident_query(**filters)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = []
    for incident, instance in session.execute(
            query.order_by(Incident.last_failure_at.desc(), Incident.id.desc())
            .offset(offset).limit(limit)):
        rows.append({
            "id": incident.id, "instance_id": instance.id, "process_id": instance.process_id,
            "deployment_id": instance.deployment_id, "business_key": instance.business_key,
            "instance_status": instance.status, "status": incident.status,
            "node_id": incident.node_id, "node_name": incident.node_name,
            "message": incident.message, "traceback": incident.traceback,
            "failures": incident.failures, "retries_left": incident.retries_left,
            "first_failure_at": incident.first_failure_at,
            "last_failure_at": incident.last_failure_at,
            "resolved_at": incident.resolved_at, "resolved_by": incident.resolved_by})
    decorate(session, rows)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


def incident_selection(session, *, cap=MAX_ROWS, **filters) -> list[int]:
    """Instance ids of the incidents a filter selects (for a batch action), at most ``cap``."""
    query = _incident_query(**filters).with_only_columns(Incident.instance_id)
    return list(dict.fromkeys(session.scalars(query.order_by(Incident.id).limit(cap))))


def run_action(runtime, action: str, instance_ids, actor, reason: str | None = None) -> dict:
    """Retry, suspend, resume or terminate each instance as its own unit of work; the runtime
    writes each to the instance's history with the acting user. One failure does not stop
    the rest: every instance gets a result line."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}", details={"actions": list(ACTIONS)})
    results = []
    for instance_id in dict.fromkeys(instance_ids):
        try:
            if action == "retry":
                instance = runtime.retry(instance_id, actor)
            else:
                instance = getattr(runtime, action)(instance_id, actor, reason)
        except EngineError as err:
            results.append({"instance_id": instance_id, "ok": False, "status": None,
                            "error": err.code, "message": err.message})
            continue
        still_failing = action == "retry" and instance.status == ERROR
        results.append({"instance_id": instance_id, "ok": not still_failing,
                        "status": instance.status,
                        "error": "still_failing" if still_failing else None,
                        "message": "the retry failed again" if still_failing else None})
    done = sum(1 for r in results if r["ok"])
    return {"action": action, "requested": len(results), "succeeded": done,
            "failed": len(results) - done, "results": results}
