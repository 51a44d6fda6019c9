"""The registry of service-task operators that diagrams may call.

``service_tasks/`` registers plain functions with ``@operator("inventory.reserve", errors=(...))``.
An operator gets a :class:`UnitContext` first (the unit of work's DB session and the instance) and
then the diagram's parameters by name; it returns something JSON-serialisable.
"""
import inspect
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.engine import clock
from app.models.engine import EngineCommand


class BusinessError(Exception):
    """A modelled failure: becomes a BPMN error with this code that a boundary event may catch."""

    def __init__(self, code: str, message: str = "", payload: dict | None = None):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.payload = payload or {}


class UnknownOperator(LookupError):
    pass


@dataclass(frozen=True)
class Operator:
    name: str
    fn: Callable[..., Any]
    errors: tuple[str, ...]
    parameters: tuple[str, ...]
    description: str = ""


@dataclass
class UnitContext:
    """What an operator may touch: the unit's session (never commit it) and who it runs for."""

    session: Any
    instance_id: int | None
    business_key: str | None
    process_id: str
    actor: str | None = None
    extras: dict = field(default_factory=dict)

    def start_process(self, process_id: str, *, business_key: str, data: dict | None = None):
        """Start ``process_id`` after this unit commits (once per process and business key)."""
        return self._ask(f"start:{process_id}:{business_key}", "start",
                         {"process_id": process_id, "business_key": str(business_key),
                          "data": data or {}, "actor": self.actor})

    def send_message(self, name: str, *, message_id: str, business_key: str | None = None,
                     payload: dict | None = None):
        """Deliver message ``name`` after this unit commits (once per ``message_id``)."""
        return self._ask(f"message:{message_id}", "message",
                         {"name": name, "message_id": message_id,
                          "business_key": None if business_key is None else str(business_key),
                          "payload": payload or {}})

    def _ask(self, key: str, kind: str, payload: dict) -> bool:
        """Queue a command in the unit's transaction; False when it was asked for already.
        ON CONFLICT DO NOTHING: two units asking at once neither fail nor ask twice."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" \
            else sqlite_insert
        now = clock.now()
        result = self.session.execute(insert(EngineCommand).values(
            key=key, kind=kind, payload=json.loads(json.dumps(payload, default=str)),
            source_instance_id=self.instance_id, status="pending", due_at=now, created_at=now,
            attempts=0).on_conflict_do_nothing(index_elements=["key"]))
        return result.rowcount == 1


_registry: dict[str, Operator] = {}


def operator(name: str, *, errors: tuple[str, ...] = ()):
    def register(fn):
        params = tuple(inspect.signature(fn).parameters)[1:]  # first one is the context
        _registry[name] = Operator(name, fn, tuple(errors), params, (fn.__doc__ or "").strip())
        return fn
    return register


def get_operator(name: str) -> Operator:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownOperator(f"no service operator named {name!r}") from None


def operator_names() -> list[str]:
    return sorted(_registry)


def invoke(name: str, context: UnitContext, params: dict[str, Any]) -> Any:
    op = get_operator(name)
    try:
        return op.fn(context, **params)
    except BusinessError as err:
        if err.code not in op.errors:
            # Undeclared business errors are bugs, not modelled paths: they open an incident.
            raise RuntimeError(
                f"operator {name!r} raised undeclared business error {err.code!r}: {err.message}"
            ) from err
        raise


def to_json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"operator result of type {type(value).__name__} is not JSON-serialisable")
