"""The registry of service-task operators that diagrams may call.

``service_tasks/`` registers plain functions with ``@operator("inventory.reserve", errors=(...))``.
An operator gets a :class:`UnitContext` first (the unit of work's DB session and the instance) and
then the diagram's parameters by name; it returns something JSON-serialisable.
"""
import inspect
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable


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
