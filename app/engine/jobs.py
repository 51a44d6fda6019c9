"""Due jobs (timers, automatic retries): acquire with a lease, run each as a unit of work.

On PostgreSQL acquisition is ``FOR UPDATE SKIP LOCKED``, so any number of workers share the
table without waiting on each other; each acquisition bumps the job's fence, and only the holder
of the current fence may release it. A timer still never fires twice, even if a lease expires
while its worker is slow: firing is a unit of work guarded by the instance revision.
"""
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from app.engine import clock, commands
from app.engine.errors import EngineError
from app.engine.locks import with_row_locks
from app.engine.runtime import MOVABLE, SYSTEM, Runtime
from app.models.engine import ERROR, Job, ProcessInstance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    job_id: int
    instance_id: int
    kind: str
    fence: int


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def acquire(session, owner: str, limit: int, lease_seconds: int) -> list[Lease]:
    now = clock.now()
    runnable = or_(and_(Job.kind == "timer", ProcessInstance.status.in_(MOVABLE)),
                   and_(Job.kind == "retry", ProcessInstance.status == ERROR))
    query = (select(Job.id).join(ProcessInstance, ProcessInstance.id == Job.instance_id)
             .where(Job.due_at <= now, runnable,
                    or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now))
             .order_by(Job.due_at).limit(limit))
    ids = list(session.scalars(with_row_locks(query, session, of=Job)))
    if not ids:
        session.rollback()
        return []
    session.execute(update(Job).where(Job.id.in_(ids)).values(
        lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
        fence=Job.fence + 1))
    leases = [Lease(*row) for row in session.execute(
        select(Job.id, Job.instance_id, Job.kind, Job.fence).where(Job.id.in_(ids)))]
    session.commit()
    return leases


def release(session, lease: Lease, error: str | None, retry_in_seconds: int) -> None:
    """Give a job back after a run that did not settle it (only if we still hold it)."""
    session.execute(update(Job).where(Job.id == lease.job_id, Job.fence == lease.fence).values(
        lease_owner=None, lease_expires_at=None, attempts=Job.attempts + 1, last_error=error,
        due_at=clock.now() + timedelta(seconds=retry_in_seconds)))
    session.commit()


def run_one(runtime: Runtime, lease: Lease) -> None:
    if lease.kind == "timer":
        runtime.fire_timers(lease.instance_id, SYSTEM)
    else:
        runtime.retry(lease.instance_id, SYSTEM, automatic=True)


def run_due(runtime: Runtime, *, owner: str | None = None, limit: int = 50,
            lease_seconds: int = 60) -> int:
    """One scheduler tick: acquire due jobs and run them. Returns how many ran."""
    session = runtime.session
    owner = owner or worker_name()
    ran = 0
    for lease in acquire(session, owner, limit, lease_seconds):
        try:
            run_one(runtime, lease)
            ran += 1
        except EngineError as err:  # e.g. suspended meanwhile: the job waits for later
            session.rollback()
            release(session, lease, err.message, lease_seconds)
        except Exception as err:
            log.exception("job %s on instance %s failed", lease.job_id, lease.instance_id)
            session.rollback()
            release(session, lease, f"{type(err).__name__}: {err}", lease_seconds)
    return ran + commands.run_pending(runtime, limit=limit, lease_seconds=lease_seconds)


def run_until_idle(runtime: Runtime, *, max_rounds: int = 100, **kwargs) -> int:
    """Run ticks until nothing is due (the `simulate` command and tests use it)."""
    total = 0
    for _ in range(max_rounds):
        ran = run_due(runtime, **kwargs)
        total += ran
        if ran == 0:
            break
    return total
