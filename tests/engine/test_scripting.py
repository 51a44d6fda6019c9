"""Diagram scripts run restricted: no imports, no dunders, no open(); helpers are a fixed list."""
from decimal import Decimal

import pytest

from app.engine.scripting import ForbiddenScript, compile_script, shared_environment


def run(script, **data):
    shared_environment.execute(script, data)
    return data


@pytest.mark.parametrize("script", [
    "import os",
    "from os import path",
    "x = ().__class__.__bases__",
    "__import__('os')",
    "x = eval('1')",
])
def test_refused_at_compile_time(script):
    with pytest.raises(ForbiddenScript):
        compile_script(script)


@pytest.mark.parametrize("script, error", [
    ("f = open('/etc/passwd')", NameError),
    ("x = getattr(len, '__self__')", NameError),
    ("x = exec", NameError),
    ("x = globals()", NameError),
    ("x = vars()", NameError),
])
def test_dangerous_names_do_not_exist_at_run_time(script, error):
    with pytest.raises(error):
        run(script)


def test_safe_helpers_and_data_work():
    data = run("total = sum(q * p for q, p in lines)\nvat = (Decimal(total) * Decimal('0.2'))\n"
               "names = sorted(set(tags))\ncount = len(names)\nitems = {'a': 1}\nitems['b'] = 2",
               lines=[(2, 10), (1, 5)], tags=["b", "a", "b"])
    assert data["total"] == 25 and data["vat"] == Decimal("5.0")
    assert data["names"] == ["a", "b"] and data["count"] == 2
    assert data["items"] == {"a": 1, "b": 2}
    assert "Decimal" not in data and "sum" not in data  # helpers never leak into task data


def test_task_data_cannot_replace_the_guards():
    data = {"_getattr_": "x", "value": {"k": 1}}
    with pytest.raises(Exception):
        shared_environment.evaluate("value.__class__", data)
    assert shared_environment.evaluate("value['k'] + 1", data) == 2


def test_deleted_names_leave_the_task_data():
    assert "tmp" not in run("del tmp\nkept = 1", tmp=3)
