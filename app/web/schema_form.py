"""A task's JSON Schema (+ UI schema hints) as HTML form fields, and a submitted HTML form back
into typed JSON data with a message per field.

Field names are the JSON paths the validator reports: ``comment``, ``parcels.0.weight_kg``; so a
message from jsonschema lands next to the input it is about.

Supported: string (text, textarea, date, email, pattern, min/maxLength), number and integer
(min/max), boolean (a checkbox, or Yes/No radios when required: an unticked box cannot say
"not answered"), enum as select or radio (``enumNames`` or ``oneOf`` const/title for labels),
arrays of enums as checkboxes, arrays of strings (one per line), nested objects, and arrays of
objects as a table of rows. UI hints: ui:order, ui:widget (textarea, radio, select, checkbox,
hidden), ui:help, ui:placeholder, ui:rowsFrom (a data path whose list prefills a table, or {path, map}).
"""
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import jsonschema

MISSING = object()
ROW_INDEX = "__index__"  # placeholder in the add-row template, replaced by JS


@dataclass
class Field:
    key: str
    name: str                 # JSON path with "." separators
    label: str
    kind: str                 # text textarea date email number integer checkbox yesno select
    #                           radio multi lines group table hidden
    required: bool = False
    help: str | None = None
    placeholder: str | None = None
    attrs: dict = field(default_factory=dict)
    options: list = field(default_factory=list)    # [(value as text, label)]
    children: list = field(default_factory=list)   # group: fields; table: column templates
    value: object = None      # text shown (str), a set of texts (multi) or rows (table)
    error: str | None = None
    rows: list = field(default_factory=list)       # table: [[Field, ...], ...]
    template: list = field(default_factory=list)   # table: a row with ROW_INDEX


# ---- schema -> fields --------------------------------------------------------------------------

def _title(key: str, schema: dict) -> str:
    return schema.get("title") or key.replace("_", " ").capitalize()


def _ordered(properties: dict, ui: dict) -> list[str]:
    order = ui.get("ui:order") or []
    rest = [k for k in properties if k not in order]
    keys = []
    for item in order:
        if item == "*":
            keys += rest
        elif item in properties and item not in keys:
            keys.append(item)
    return keys + [k for k in rest if k not in keys]


def enum_options(schema: dict) -> list[tuple[str, str, object]]:
    """[(text, label, value)] from enum (+ enumNames) or oneOf [{const, title}]."""
    if "enum" in schema:
        names = schema.get("enumNames") or []
        return [(to_text(v), names[i] if i < len(names) else str(v), v)
                for i, v in enumerate(schema["enum"])]
    return [(to_text(o["const"]), o.get("title") or str(o["const"]), o["const"])
            for o in schema.get("oneOf", []) if isinstance(o, dict) and "const" in o]


def _kind(schema: dict, ui: dict, required: bool) -> str:
    widget = ui.get("ui:widget")
    kind = schema.get("type")
    if widget == "hidden":
        return "hidden"
    if enum_options(schema):
        return "radio" if widget == "radio" else "select"
    if kind == "boolean":
        if widget == "checkbox":
            return "checkbox"
        return "yesno" if required or widget in ("radio", "select") else "checkbox"
    if kind in ("number", "integer"):
        return kind
    if kind == "object":
        return "group"
    if kind == "array":
        items = schema.get("items") or {}
        if items.get("type") == "object":
            return "table"
        return "multi" if enum_options(items) else "lines"
    if widget == "textarea":
        return "textarea"
    return {"date": "date", "email": "email"}.get(schema.get("format"), "text")


def _attrs(schema: dict) -> dict:
    attrs = {}
    for json_name, html in (("minimum", "min"), ("maximum", "max"), ("minLength", "minlength"),
                            ("maxLength", "maxlength"), ("pattern", "pattern")):
        if json_name in schema:
            attrs[html] = schema[json_name]
    if schema.get("type") == "integer":
        attrs["step"] = 1
    elif schema.get("type") == "number":
        attrs["step"] = schema.get("multipleOf", "any")
    return attrs


def build_fields(schema: dict, ui: dict | None, prefix: str = "",
                 required: list | None = None) -> list[Field]:
    ui = ui or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or []) if required is None else set(required)
    fields = []
    for key in _ordered(properties, ui):
        sub, sub_ui = properties[key] or {}, ui.get(key) or {}
        name = f"{prefix}{key}"
        kind = _kind(sub, sub_ui, key in required)
        f = Field(key=key, name=name, label=_title(key, sub), kind=kind,
                  required=key in required, help=sub_ui.get("ui:help") or sub.get("description"),
                  placeholder=sub_ui.get("ui:placeholder"), attrs=_attrs(sub))
        if kind == "lines" and not f.placeholder:
            f.placeholder = "comma-separated"
        if kind in ("select", "radio"):
            f.options = [(text, label) for text, label, _ in enum_options(sub)]
        elif kind == "multi":
            f.options = [(text, label) for text, label, _ in enum_options(sub["items"])]
        elif kind == "group":
            f.children = build_fields(sub, sub_ui, prefix=f"{name}.")
        elif kind == "table":
            f.children = build_fields(sub["items"], sub_ui.get("items"), prefix="")
            f.attrs = {k: sub[k] for k in ("minItems", "maxItems") if k in sub}
            f.help = f.help or sub["items"].get("description")
        fields.append(f)
    return fields


# ---- values and errors into the fields ---------------------------------------------------------

def to_text(value) -> str:
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(to_text(v) for v in value)
    return str(value)


def _path_value(data, path: str):
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def fill(fields: list[Field], values: dict, errors: dict, schema: dict, ui: dict | None = None,
         data: dict | None = None) -> list[Field]:
    """Put values (typed defaults, or the texts just submitted) and messages into the fields."""
    ui = ui or {}
    properties = schema.get("properties") or {}
    for f in fields:
        sub, sub_ui = properties.get(f.key) or {}, ui.get(f.key) or {}
        raw = values.get(f.key, sub.get("default", MISSING)) if isinstance(values, dict) \
            else MISSING
        f.error = errors.get(f.name)
        if f.kind == "group":
            fill(f.children, raw if isinstance(raw, dict) else {}, errors, sub, sub_ui, data)
        elif f.kind == "table":
            _fill_table(f, raw, errors, sub, sub_ui, data)
        elif f.kind == "multi":
            f.value = {to_text(v) for v in raw} if isinstance(raw, list) else set()
        else:
            f.value = to_text(raw)
    return fields


def _fill_table(f: Field, raw, errors, schema, ui, data):
    items, items_ui = schema.get("items") or {}, (ui or {}).get("items") or {}
    if not isinstance(raw, list):
        raw = _rows_from(ui.get("ui:rowsFrom"), data or {}, items)
    count = max(len(raw), schema.get("minItems", 0), 1)
    f.rows = []
    for i in range(count):
        row_fields = build_fields(items, items_ui, prefix=f"{f.name}.{i}.")
        values = raw[i] if i < len(raw) and isinstance(raw[i], dict) else {}
        f.rows.append(fill(row_fields, values, errors, items, items_ui, data))
    f.template = fill(build_fields(items, items_ui, prefix=f"{f.name}.{ROW_INDEX}."), {}, {},
                      items, items_ui)


# ---- submitted form -> typed data --------------------------------------------------------------

def _rows_from(hint, data: dict, items: dict) -> list[dict]:
    """Rows prefilled from task data. ``hint`` is a data path ("pick.lines"), or
    {"path": ..., "map": {column: key in the data row}} when the names differ."""
    if not hint:
        return []
    path, mapping = (hint.get("path"), hint.get("map") or {}) if isinstance(hint, dict) \
        else (hint, {})
    columns = list(items.get("properties") or {})
    source = _path_value(data, path) if isinstance(path, str) else None
    return [{c: row[mapping.get(c, c)] for c in columns if mapping.get(c, c) in row}
            for row in (source if isinstance(source, list) else []) if isinstance(row, dict)]


class _Bad(Exception):
    pass


def _number(text: str, integer: bool):
    try:
        number = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise _Bad("Enter a whole number." if integer else "Enter a number.") from None
    if not number.is_finite():
        raise _Bad("Enter a number.")
    if number == number.to_integral_value():
        return int(number)
    if integer:
        raise _Bad("Enter a whole number.")
    return float(number)


def _scalar(schema: dict, kind: str, text: str | None):
    """The typed value of one input, MISSING when left empty."""
    if kind == "hidden":
        kind = {"boolean": "yesno", "number": "number", "integer": "integer"}.get(
            schema.get("type"), "text")
    if kind == "checkbox":
        return text in ("on", "true", "1", "yes")
    if text is None or text.strip() == "":
        return MISSING
    options = enum_options(schema)
    if options:
        for option_text, _label, value in options:
            if option_text == text:
                return value
        raise _Bad("Choose one of the options.")
    if kind == "yesno":
        if text not in ("true", "false"):
            raise _Bad("Choose yes or no.")
        return text == "true"
    if kind in ("number", "integer"):
        return _number(text, kind == "integer")
    if kind == "date":
        try:
            date.fromisoformat(text.strip())
        except ValueError:
            raise _Bad("Enter a date as YYYY-MM-DD.") from None
        return text.strip()
    if kind == "lines":
        return [part.strip() for part in re.split(r"[\n,]", text) if part.strip()]
    return text if kind == "textarea" else text.strip()


def parse(fields: list[Field], schema: dict, form, prefix: str = "") -> tuple[dict, dict, dict]:
    """(data, texts to show again, conversion errors by field path) from a request form."""
    data, texts, errors = {}, {}, {}
    properties = schema.get("properties") or {}
    for f in fields:
        sub = properties.get(f.key) or {}
        name = f"{prefix}{f.key}"
        if f.kind == "group":
            value, texts[f.key], sub_errors = parse(f.children, sub, form, prefix=f"{name}.")
            errors.update(sub_errors)
            if value:
                data[f.key] = value
            continue
        if f.kind == "table":
            rows, texts[f.key], sub_errors = _parse_table(f, sub, form, name)
            errors.update(sub_errors)
            data[f.key] = rows
            continue
        if f.kind == "multi":
            chosen = form.getlist(name)
            texts[f.key] = chosen
            lookup = {text: value for text, _l, value in enum_options(sub.get("items") or {})}
            if any(c not in lookup for c in chosen):
                errors[name] = "Choose among the options."
            data[f.key] = [lookup[c] for c in chosen if c in lookup]
            continue
        text = form.get(name)
        texts[f.key] = text if text is not None else ""
        try:
            value = _scalar(sub, f.kind, text)
        except _Bad as bad:
            errors[name] = str(bad)
            continue
        if value is not MISSING:
            data[f.key] = value
    return data, texts, errors


def _parse_table(f: Field, schema: dict, form, name: str):
    """Rows named ``name.<i>.<column>``, in index order; a row left blank is dropped and the
    rest renumbered, so paths in messages match the rows shown again."""
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.")
    indices = sorted({int(m.group(1)) for key in form.keys() if (m := pattern.match(key))})
    items = schema.get("items") or {}
    rows, texts, errors = [], [], {}
    for index in indices:
        row_prefix = f"{name}.{index}."
        keys = [k for k in form.keys() if k.startswith(row_prefix)]
        if all(not form.get(k, "").strip() for k in keys):
            continue
        position = len(rows)
        row, row_texts, row_errors = parse(f.children, items, form, prefix=row_prefix)
        for path, message in row_errors.items():
            errors[f"{name}.{position}.{path[len(row_prefix):]}"] = message
        rows.append(row)
        texts.append(row_texts)
    return rows, texts, errors


# ---- validation with messages people read ------------------------------------------------------

def _message(error) -> str:
    value, schema = error.validator_value, error.schema
    custom = schema.get("errorMessage") if isinstance(schema, dict) else None
    if isinstance(custom, str):
        return custom
    messages = {
        "minimum": f"Enter {value} or more.", "maximum": f"Enter {value} or less.",
        "exclusiveMinimum": f"Enter more than {value}.",
        "exclusiveMaximum": f"Enter less than {value}.",
        "minLength": "This field is required." if value == 1
        else f"Enter at least {value} characters.",
        "maxLength": f"Enter at most {value} characters.",
        "pattern": "The value does not have the expected format.",
        "enum": "Choose one of the options.", "const": "Choose one of the options.",
        "minItems": f"Add at least {value} row{'s' if value != 1 else ''}.",
        "maxItems": f"Add at most {value} row{'s' if value != 1 else ''}.",
        "uniqueItems": "Each entry may appear only once.",
        "multipleOf": f"Enter a multiple of {value}.",
        "format": f"Enter a valid {value}.",
    }
    if error.validator == "type":
        return {"integer": "Enter a whole number.", "number": "Enter a number.",
                "boolean": "Choose yes or no."}.get(value, f"Enter a {value}.")
    return messages.get(error.validator, error.message)


def validate(schema: dict, data: dict) -> dict:
    """{field path: message} for every problem of ``data`` against ``schema``."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            for key in error.validator_value:
                if key not in (error.instance or {}):
                    problems.setdefault(".".join(filter(None, [path, key])),
                                        "This field is required.")
        elif error.validator == "additionalProperties":
            for key in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                problems.setdefault(".".join(filter(None, [path, key])),
                                    "This field is not part of the form.")
        else:
            problems.setdefault(path, _message(error))
    return problems


def field_names(fields: list[Field]) -> set[str]:
    names = set()
    for f in fields:
        names.add(f.name)
        names |= field_names(f.children if f.kind == "group" else [])
        for row in f.rows:
            names |= field_names(row)
    return names


def engine_errors(details) -> dict:
    """The engine's InvalidInput details ([{field, message}]) as {path: message}."""
    problems = {}
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict):
            path = str(item.get("field") or "")
            path = re.sub(r"\[(\d+)\]", r".\1", path)  # confirmations[0].x -> confirmations.0.x
            problems.setdefault(path, item.get("message") or "Not valid.")
    return problems
