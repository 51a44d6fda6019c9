"""User-task forms: JSON Schema files, validated with the jsonschema library."""
import jsonschema

from app.engine.errors import InvalidInput


_validators: dict[int, tuple[dict, object]] = {}


def _validator(forms: dict, schema_name: str):
    """One validator per parsed schema object (deployments are immutable and cached)."""
    schema = forms[schema_name]
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, jsonschema.validators.validator_for(schema)(schema))
        _validators[id(schema)] = cached
    return cached[1]


def validate_submission(forms: dict, schema_name: str | None, data: dict) -> None:
    """Raise InvalidInput listing every field that does not satisfy the task's schema."""
    if not schema_name:
        return
    validator = _validator(forms, schema_name)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            # "required" is reported on the parent; name the missing field itself.
            missing = [name for name in error.validator_value if name not in (error.instance or {})]
            for name in missing:
                problems.append({"field": ".".join(filter(None, [field, name])),
                                 "message": "This field is required."})
            continue
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for name in extra:
                problems.append({"field": ".".join(filter(None, [field, name])),
                                 "message": "This field is not part of the form."})
            continue
        problems.append({"field": field or None, "message": error.message})
    if problems:
        raise InvalidInput("the submitted form is not valid", details=problems)


def form_of(forms: dict, name: str | None) -> dict | None:
    return forms.get(name) if name else None
