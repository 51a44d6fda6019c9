"""The restricted script engine: what diagram scripts and expressions may do.

Scripts, conditions, timer expressions and DMN entries are compiled by RestrictedPython (no
names or attributes starting with "_", guarded attribute/item access) and run with an explicit
list of builtins and helpers below; ``import`` is refused at deploy and fails at run time since
``__import__`` is not there. Compiled code is cached by source text.
"""
import ast
import json
import math
import operator as _op
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.engine import clock, operators


class ForbiddenScript(ValueError):
    pass


_INPLACE = {"+=": _op.iadd, "-=": _op.isub, "*=": _op.imul, "/=": _op.itruediv,
            "//=": _op.ifloordiv, "%=": _op.imod, "**=": _op.ipow}

# The whole list of what a script can name besides task data.
ALLOWED_BUILTINS = {
    **safe_builtins,
    "dict": dict, "list": list, "set": set, "frozenset": frozenset, "min": min, "max": max,
    "sum": sum, "any": any, "all": all, "enumerate": enumerate, "map": map, "filter": filter,
    "reversed": reversed,
}
for _unsafe in ("setattr", "delattr", "compile", "id", "hash", "__build_class__"):
    ALLOWED_BUILTINS.pop(_unsafe, None)

HELPERS = {
    "Decimal": Decimal, "date": date, "datetime": datetime, "timedelta": timedelta,
    "timezone": timezone, "now": clock.now, "ceil": math.ceil, "floor": math.floor,
}

_GUARDS = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
}


def _reject_imports(source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return  # RestrictedPython reports it with a line number
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ForbiddenScript(f"line {node.lineno}: import is not allowed in diagram scripts")


@lru_cache(maxsize=4096)
def compile_script(source: str):
    _reject_imports(source)
    result = compile_restricted_exec(source, "<script>")
    if result.errors:
        raise ForbiddenScript("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    _reject_imports(source)
    result = compile_restricted_eval(source.strip(), "<expression>")
    if result.errors:
        raise ForbiddenScript("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def _syntax_error(source: str) -> SyntaxError | None:
    # The DMN engine validates every cell on every evaluation; parse each text once.
    try:
        ast.parse(source)
    except SyntaxError as err:
        return err
    return None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs scripts over task data; only data (no callables, no modules) goes back into it."""

    def __init__(self):
        self.protected = {"__builtins__": ALLOWED_BUILTINS, **_GUARDS}
        super().__init__({**self.protected, **HELPERS})

    def _scope(self, context, external_context):
        # Builtins and guards last: task data can never replace them.
        return {**HELPERS, **(external_context or {}), **context, **self.protected}

    def evaluate(self, expression, context, external_context=None):
        return eval(compile_expression(expression), self._scope(context, external_context))

    def execute(self, script, context, external_context=None):
        shadowed = set(HELPERS).intersection(context)
        if shadowed:
            raise ValueError(f"task data shadows script helpers: {sorted(shadowed)}")
        scope = self._scope(context, external_context)
        exec(compile_script(script), scope)
        for key in list(context):
            if key not in scope:
                del context[key]
        for key, value in scope.items():
            if key in self.globals or key.startswith("_") or callable(value) or \
                    (external_context and key in external_context):
                continue
            context[key] = value
        return True


class ScriptEngine(PythonScriptEngine):
    """One per unit of work: carries the unit's context to service operators."""

    def __init__(self, environment: RestrictedEnvironment, unit: operators.UnitContext | None):
        super().__init__(environment)
        self.unit = unit

    def validate(self, expression):
        error = _syntax_error(expression)
        if error is not None:  # SyntaxError first: the DMN engine relies on it to add "=="
            raise error
        compile_script(expression)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        result = operators.invoke(operation_name, self.unit, params)
        return json.dumps(result, default=operators.to_json_default)


shared_environment = RestrictedEnvironment()
