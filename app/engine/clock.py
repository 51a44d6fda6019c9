"""The one source of "now". Tests and `flask simulate` move it; nothing else reads the wall clock.

SpiffWorkflow's timer module calls ``datetime.now(timezone.utc)`` itself, with no hook, so we
replace that module's ``datetime`` name with a subclass whose ``now()`` reads this clock.
"""
import threading
from datetime import datetime, timedelta, timezone

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc) + _offset


def travel(delta: timedelta) -> datetime:
    """Move time forward (or back) by delta; frozen time stays frozen at the new point."""
    global _offset, _frozen
    with _lock:
        if _frozen is not None:
            _frozen += delta
        else:
            _offset += delta
    return now()


def freeze(at: datetime | None = None) -> datetime:
    global _frozen
    with _lock:
        _frozen = (at or now()).astimezone(timezone.utc)
    return _frozen


def reset() -> None:
    global _offset, _frozen
    with _lock:
        _offset, _frozen = timedelta(0), None


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockDatetime
