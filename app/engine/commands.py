"""Carry out the commands units of work queued (start a process, send a message) after they
committed. Leased like jobs, so several workers share the table; both kinds are idempotent at
the target (an active business key starts once, a message id is applied once), so a command
that ran but was not marked done does no harm when it runs again.
"""
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from app.engine import clock
from app.engine.errors import EngineError, InvalidState, NotFound
from app.engine.locks import with_row_locks
from app.engine.runtime import SYSTEM, Actor, Runtime
from app.models.engine import EngineCommand

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The receiver may not wait yet (it is being started by another command of the same batch).
UNDELIVERED_AFTER = 3


def acquire(session, limit: int, lease_seconds: int) -> list[EngineCommand]:
    now = clock.now()
    query = select(EngineCommand.id).where(
        EngineCommand.status == "pending", EngineCommand.due_at <= now,
        or_(EngineCommand.lease_expires_at.is_(None), EngineCommand.lease_expires_at < now),
    ).order_by(EngineCommand.id).limit(limit)
    ids = list(session.scalars(with_row_locks(query, session)))
    if not ids:
        session.rollback()
        return []
    session.execute(update(EngineCommand).where(EngineCommand.id.in_(ids)).values(
        lease_expires_at=now + timedelta(seconds=lease_seconds)))
    session.commit()
    return list(session.scalars(select(EngineCommand).where(EngineCommand.id.in_(ids))
                                .order_by(EngineCommand.id)))


def _carry_out(runtime: Runtime, command: EngineCommand) -> int:
    data = command.payload
    if command.kind == "start":
        actor = Actor(data.get("actor") or SYSTEM.username, SYSTEM.groups, True)
        instance, _ = runtime.start(data["process_id"], business_key=data["business_key"],
                                    data=data.get("data") or {}, actor=actor)
        return instance.id
    instance, _ = runtime.deliver_message(data["name"], business_key=data.get("business_key"),
                                          payload=data.get("payload") or {},
                                          message_id=data["message_id"])
    return instance.id


def _settle(session, command_id: int, **values) -> None:
    session.execute(update(EngineCommand).where(EngineCommand.id == command_id).values(
        lease_expires_at=None, **values))
    session.commit()


def _fail(session, command_id, attempts, err) -> int:
    """Back off and try again; after MAX_ATTEMPTS the command is "failed" and waits for a
    process owner (reports: commands). Returns 1 when it gave up."""
    session.rollback()
    message = err.message if isinstance(err, EngineError) else f"{type(err).__name__}: {err}"
    log.warning("command %s failed: %s", command_id, message)
    failed = attempts >= MAX_ATTEMPTS
    _settle(session, command_id, attempts=attempts, last_error=message[:2000],
            status="failed" if failed else "pending",
            due_at=clock.now() + timedelta(seconds=30 * 2 ** attempts))
    return int(failed)


def stopped(session, *, limit: int = 100) -> list[dict]:
    """Commands that gave up (failed) or found nobody waiting (undelivered), newest first."""
    rows = session.scalars(select(EngineCommand).where(
        EngineCommand.status.in_(("failed", "undelivered")))
        .order_by(EngineCommand.id.desc()).limit(limit))
    return [{"id": c.id, "key": c.key, "kind": c.kind, "status": c.status,
             "attempts": c.attempts, "last_error": c.last_error, "payload": c.payload,
             "source_instance_id": c.source_instance_id, "created_at": c.created_at,
             "done_at": c.done_at} for c in rows]


def retry(session, command_id: int) -> bool:
    """A stopped command goes back in the queue, due now (after the cause was fixed)."""
    result = session.execute(update(EngineCommand).where(
        EngineCommand.id == command_id,
        EngineCommand.status.in_(("failed", "undelivered"))).values(
        status="pending", attempts=0, due_at=clock.now(), lease_expires_at=None,
        done_at=None))
    session.commit()
    return result.rowcount == 1


def run_pending(runtime: Runtime, *, limit: int = 50, lease_seconds: int = 60) -> int:
    """Carry out due commands; returns how many settled (done or given up)."""
    session = runtime.session
    settled = 0
    for command in acquire(session, limit, lease_seconds):
        command_id, attempts, kind = command.id, command.attempts + 1, command.kind
        try:
            instance_id = _carry_out(runtime, command)
        except (NotFound, InvalidState) as err:
            # Undelivered means nobody waits for it. A start that cannot happen (no such
            # process), or a receiver that is suspended or stopped by an incident, is a
            # failure: retried with backoff, then shown to a process owner, never dropped.
            if kind != "message" or isinstance(err, InvalidState):
                settled += _fail(session, command_id, attempts, err)
                continue
            session.rollback()
            if attempts >= UNDELIVERED_AFTER:
                log.info("command %s undelivered: %s", command_id, err.message)
                _settle(session, command_id, status="undelivered", attempts=attempts,
                        last_error=err.message, done_at=clock.now())
                settled += 1
            else:
                _settle(session, command_id, attempts=attempts, last_error=err.message,
                        due_at=clock.now() + timedelta(seconds=30 * attempts))
            continue
        except Exception as err:  # noqa: BLE001 - recorded on the row, retried with backoff
            settled += _fail(session, command_id, attempts, err)
            continue
        _settle(session, command_id, status="done", attempts=attempts, done_at=clock.now(),
                result_instance_id=instance_id)
        settled += 1
    return settled
