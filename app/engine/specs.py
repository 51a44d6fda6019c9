"""Deployments: parse a set of diagrams once, check it, version it by content hash, cache the specs.

A deployment is immutable. Its files (BPMN, DMN and the forms its user tasks reference) are stored
in the database, so a running instance can always rebuild the exact spec it started with, even
after ``processes/`` changed or on another host. Parsed specs are cached per content hash.
"""
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventBasedGatewayParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser, SpiffTaskParser
from SpiffWorkflow.spiff.specs.defaults import ScriptTask, UserTask

from app.engine import operators
from app.engine.errors import DeploymentRejected
from app.engine.scripting import ForbiddenScript, compile_expression, compile_script
from app.engine.service_task import ServiceTask

FORM_SCHEMA_PROP = "formJsonSchemaFilename"
FORM_UI_PROP = "formUiSchemaFilename"


class EventGatewayParser(EventBasedGatewayParser):
    """An event-based gateway is where an instance waits (for delivery, for payment), so it
    carries properties like a task: the reports read its ``stuckAfter``."""

    def parse_extensions(self, node=None):
        return SpiffTaskParser._parse_extensions(self.node if node is None else node)


class OrderflowParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, ServiceTask),
        full_tag("eventBasedGateway"): (EventGatewayParser,
                                        SpiffBpmnParser.PARSER_CLASSES[
                                            full_tag("eventBasedGateway")][1]),
    }


@dataclass
class ParsedDeployment:
    content_hash: str
    specs: dict            # process id -> BpmnProcessSpec
    subprocess_specs: dict  # process id -> {called id: spec}
    forms: dict            # file name -> parsed JSON
    process_files: dict    # process id -> bpmn file name
    process_names: dict    # process id -> name
    files: dict = field(default_factory=dict)  # name -> (kind, text)


def kind_of(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    return {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}.get(suffix)


def content_hash(files: dict[str, tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        kind, text = files[name]
        digest.update(f"{kind}\0{name}\0".encode())
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _problem(file, element, message):
    return {"file": file, "element": element, "message": message}


def _parse(files: dict[str, tuple[str, str]]) -> tuple[OrderflowParser, list[dict]]:
    parser = OrderflowParser(validator=VALIDATOR)
    problems = []
    for name in sorted(files):
        kind, text = files[name]
        if kind not in ("bpmn", "dmn"):
            continue
        try:
            xml = etree.fromstring(text.encode())
            if kind == "bpmn":
                parser.add_bpmn_xml(xml, filename=name)
            else:
                parser.add_dmn_xml(xml, filename=name)
        except etree.XMLSyntaxError as err:
            problems.append(_problem(name, None, f"not well-formed XML: {err}"))
        except ValidationException as err:
            problems.append(_problem(err.file_name or name, err.id or None, _first_line(err)))
        except Exception as err:  # the parser raises assorted types for malformed files
            problems.append(_problem(name, None, f"{type(err).__name__}: {err}"))
    return parser, problems


def _first_line(err) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _task_specs(spec):
    return [ts for ts in spec.task_specs.values() if getattr(ts, "bpmn_id", None)]


def _check_task(ts, file, forms, problems, form_lookup):
    element = f"{ts.bpmn_id} ({ts.bpmn_name})" if ts.bpmn_name else ts.bpmn_id

    def check(source, what, compiler):
        if not source:
            return
        try:
            compiler(source)
        except (ForbiddenScript, SyntaxError) as err:
            problems.append(_problem(file, element, f"{what} not allowed: {err}"))

    check(getattr(ts, "prescript", None), "pre-script", compile_script)
    check(getattr(ts, "postscript", None), "post-script", compile_script)
    if isinstance(ts, ScriptTask):
        check(ts.script, "script", compile_script)
    if isinstance(ts, ServiceTask):
        try:
            op = operators.get_operator(ts.operation_name)
        except operators.UnknownOperator as err:
            problems.append(_problem(file, element, str(err)))
        else:
            unknown = set(ts.operation_params) - set(op.parameters)
            if unknown and not any(p.startswith("**") for p in op.parameters):
                problems.append(_problem(file, element,
                    f"operator {op.name!r} takes no parameter(s) {sorted(unknown)}"))
        for name, param in ts.operation_params.items():
            check(param["value"], f"parameter {name!r}", compile_expression)
    for condition, _target in getattr(ts, "cond_task_specs", []) or []:
        if condition is not None:  # None is the default flow
            check(condition.args[0], "gateway condition", compile_expression)
    event = getattr(ts, "event_definition", None)
    if isinstance(event, TimerEventDefinition):
        check(event.expression, "timer expression", compile_expression)
    if isinstance(ts, UserTask):
        props = ts.extensions.get("properties", {})
        for prop in (FORM_SCHEMA_PROP, FORM_UI_PROP):
            form_name = props.get(prop)
            if form_name and form_name not in forms:
                found = form_lookup(form_name)
                if found is None:
                    problems.append(_problem(file, element, f"form {form_name!r} not found"))
                else:
                    forms[form_name] = found
        for prop in ("excludeUsers",):
            check(props.get(prop), f"property {prop}", compile_expression)


def _load_forms(files, problems) -> dict:
    forms = {}
    for name, (kind, text) in files.items():
        if kind != "form":
            continue
        try:
            forms[name] = json.loads(text)
        except json.JSONDecodeError as err:
            problems.append(_problem(name, None, f"form is not valid JSON: {err}"))
    return forms


def _check_forms(forms, problems):
    for name, schema in forms.items():
        if name.endswith(".schema.json") or "uischema" not in name:
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as err:
                problems.append(_problem(name, None, f"form is not a valid JSON Schema: {err.message}"))


def build(files: dict[str, tuple[str, str]], form_lookup=lambda name: None) -> ParsedDeployment:
    """Parse and check a file set; raise DeploymentRejected naming every problem.

    ``form_lookup`` finds a referenced form that is not among ``files`` (the app's ``forms/``);
    the forms found are added to ``files`` so the deployment carries everything it needs.
    """
    parser, problems = _parse(files)
    forms = _load_forms(files, problems)
    specs, subs, process_files, names = {}, {}, {}, {}
    checked: set[str] = set()
    if not problems:
        files_by_process = set(parser.get_process_ids())  # called processes are checked as such
        for pid in sorted(parser.get_process_ids()):
            process_parser = parser.get_process_parser(pid)
            file = process_parser.filename
            try:
                specs[pid] = parser.get_spec(pid)
                subs[pid] = parser.get_subprocess_specs(pid)
            except ValidationException as err:
                problems.append(_problem(err.file_name or file, err.id or pid, _first_line(err)))
                continue
            except Exception as err:
                problems.append(_problem(file, pid, f"{type(err).__name__}: {err}"))
                continue
            process_files[pid] = file
            names[pid] = process_parser.get_name()
            # Embedded subprocesses are separate specs: their tasks need the same checks.
            embedded = [sub for sub in subs[pid].values() if sub.name not in files_by_process]
            for spec in [specs[pid], *embedded]:
                if spec.name in checked:
                    continue
                checked.add(spec.name)
                for ts in _task_specs(spec):
                    _check_task(ts, getattr(spec, "file", None) or file, forms, problems,
                                form_lookup)
        if not specs and not problems:
            problems.append(_problem(None, None, "no executable process in the files given"))
    _check_forms(forms, problems)
    if problems:
        raise DeploymentRejected(f"{len(problems)} problem(s) in the diagrams", details=problems)
    for name, schema in forms.items():
        if name not in files:
            files[name] = ("form", json.dumps(schema, indent=2, sort_keys=True))
    return ParsedDeployment(content_hash(files), specs, subs, forms, process_files, names, files)


_cache: dict[str, ParsedDeployment] = {}
_cache_lock = threading.Lock()


def cached(content_hash_: str, load_files) -> ParsedDeployment:
    """The parsed deployment for a hash; ``load_files()`` supplies its files on a cache miss."""
    parsed = _cache.get(content_hash_)
    if parsed is None:
        with _cache_lock:
            parsed = _cache.get(content_hash_)
            if parsed is None:
                parsed = build(load_files())
                _cache[content_hash_] = parsed
    return parsed


def remember(parsed: ParsedDeployment) -> None:
    with _cache_lock:
        _cache[parsed.content_hash] = parsed


def read_dir(directory: str | Path) -> dict[str, tuple[str, str]]:
    files = {}
    for path in sorted(Path(directory).iterdir()):
        kind = kind_of(path.name)
        if path.is_file() and kind:
            files[path.name] = (kind, path.read_text(encoding="utf-8"))
    return files
