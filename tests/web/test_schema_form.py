"""JSON Schema -> fields -> submitted strings -> typed data, with messages people can read."""
from werkzeug.datastructures import MultiDict

from app.web import schema_form as sf

PICK_PACK = {
    "type": "object",
    "required": ["confirmations", "parcels"],
    "properties": {
        "confirmations": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["line_id", "quantity"],
            "properties": {"line_id": {"type": "integer", "title": "Line"},
                           "quantity": {"type": "number", "minimum": 0},
                           "serials": {"type": "array", "items": {"type": "string"}}}}},
        "parcels": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["weight_kg"],
            "properties": {"weight_kg": {"type": "number", "exclusiveMinimum": 0}}}},
    },
}

KINDS = {
    "type": "object",
    "required": ["decision", "amount"],
    "properties": {
        "note": {"type": "string", "maxLength": 5},
        "amount": {"type": "number", "minimum": 0, "maximum": 100},
        "count": {"type": "integer"},
        "urgent": {"type": "boolean"},
        "decision": {"type": "string", "enum": ["approve", "reject"],
                     "enumNames": ["Approve it", "Reject it"]},
        "tier": {"type": "integer", "oneOf": [{"const": 1, "title": "One"},
                                               {"const": 2, "title": "Two"}]},
        "ship_on": {"type": "string", "format": "date"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "errorMessage": "Three capitals."},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
UI = {"ui:order": ["decision", "*", "note"], "decision": {"ui:widget": "radio"},
      "note": {"ui:widget": "textarea"}}


def by_name(fields):
    return {f.name: f for f in fields}


def test_fields_follow_the_schema_and_the_ui_hints():
    fields = sf.build_fields(KINDS, UI)
    assert [f.key for f in fields][0] == "decision" and fields[-1].key == "note"
    kinds = {f.key: f.kind for f in fields}
    assert kinds == {"decision": "radio", "amount": "number", "count": "integer",
                     "urgent": "checkbox", "tier": "select", "ship_on": "date", "code": "text",
                     "tags": "multi", "address": "group", "note": "textarea"}
    named = by_name(fields)
    assert named["decision"].options == [("approve", "Approve it"), ("reject", "Reject it")]
    assert named["tier"].options == [("1", "One"), ("2", "Two")]
    assert named["amount"].attrs == {"min": 0, "max": 100, "step": "any"}
    assert named["decision"].required and not named["note"].required
    assert named["address"].children[0].name == "address.city"


def test_submitted_strings_become_typed_values():
    fields = sf.build_fields(KINDS, UI)
    form = MultiDict([("decision", "reject"), ("amount", "12.50"), ("count", "3"),
                      ("urgent", "true"), ("tier", "2"), ("ship_on", "2026-03-02"),
                      ("code", "ABC"), ("tags", "a"), ("tags", "b"), ("address.city", "Lyon"),
                      ("note", "")])
    data, _texts, errors = sf.parse(fields, KINDS, form)
    assert errors == {}
    assert data == {"decision": "reject", "amount": 12.5, "count": 3, "urgent": True, "tier": 2,
                    "ship_on": "2026-03-02", "code": "ABC", "tags": ["a", "b"],
                    "address": {"city": "Lyon"}}
    assert sf.validate(KINDS, data) == {}


def test_bad_values_get_a_message_each():
    fields = sf.build_fields(KINDS, UI)
    form = MultiDict([("amount", "lots"), ("count", "1.5"), ("tier", "7"),
                      ("ship_on", "02/03/2026"), ("code", "abc"), ("note", "toolong")])
    data, texts, conversion = sf.parse(fields, KINDS, form)
    assert conversion == {"amount": "Enter a number.", "count": "Enter a whole number.",
                          "tier": "Choose one of the options.",
                          "ship_on": "Enter a date as YYYY-MM-DD."}
    assert texts["amount"] == "lots"  # shown again as typed
    problems = sf.validate(KINDS, data)
    assert problems["decision"] == "This field is required."
    assert problems["code"] == "Three capitals."
    assert problems["note"] == "Enter at most 5 characters."
    assert sf.validate(KINDS, {"decision": "approve", "amount": 101}) == {
        "amount": "Enter 100 or less."}


def test_an_unticked_checkbox_is_false_and_a_required_boolean_is_yes_no():
    schema = {"type": "object", "required": ["ok"],
              "properties": {"ok": {"type": "boolean"}, "flag": {"type": "boolean"}}}
    fields = sf.build_fields(schema, {})
    assert [f.kind for f in fields] == ["yesno", "checkbox"]
    data, _t, errors = sf.parse(fields, schema, MultiDict())
    assert data == {"flag": False} and errors == {}
    assert sf.validate(schema, data) == {"ok": "This field is required."}
    assert sf.parse(fields, schema, MultiDict({"ok": "false"}))[0] == {"ok": False,
                                                                       "flag": False}


def test_tables_of_rows_parse_skip_blank_rows_and_renumber():
    fields = sf.build_fields(PICK_PACK, {})
    form = MultiDict([
        ("confirmations.0.line_id", "11"), ("confirmations.0.quantity", "2"),
        ("confirmations.0.serials", "SN1, SN2"),
        ("confirmations.3.line_id", ""), ("confirmations.3.quantity", ""),  # blank: dropped
        ("confirmations.5.line_id", "12"), ("confirmations.5.quantity", "x"),
        ("parcels.0.weight_kg", "1.25"), ("parcels.2.weight_kg", "0"),
    ])
    data, texts, conversion = sf.parse(fields, PICK_PACK, form)
    assert data["confirmations"] == [{"line_id": 11, "quantity": 2, "serials": ["SN1", "SN2"]},
                                     {"line_id": 12}]
    assert conversion == {"confirmations.1.quantity": "Enter a number."}
    assert texts["confirmations"][1]["quantity"] == "x"
    problems = sf.validate(PICK_PACK, data)
    assert problems["confirmations.1.quantity"] == "This field is required."
    assert problems["parcels.1.weight_kg"] == "Enter more than 0."

    filled = sf.fill(fields, texts, {**problems, **conversion}, PICK_PACK)
    table = by_name(filled)["confirmations"]
    assert [[c.name for c in row] for row in table.rows][1] == [
        "confirmations.1.line_id", "confirmations.1.quantity", "confirmations.1.serials"]
    assert table.rows[1][1].error == "Enter a number." and table.rows[1][1].value == "x"
    assert table.template[0].name == "confirmations.__index__.line_id"


def test_rows_are_prefilled_from_task_data_named_by_the_ui_schema():
    ui = {"confirmations": {"ui:rowsFrom": "pick_list.lines"}}
    data = {"pick_list": {"lines": [{"line_id": 7, "quantity": "3", "sku": "W", "bin": "A"},
                                    {"line_id": 8, "quantity": "1", "sku": "V", "bin": "B"}]}}
    filled = sf.fill(sf.build_fields(PICK_PACK, ui), {}, {}, PICK_PACK, ui, data)
    rows = by_name(filled)["confirmations"].rows
    assert [(r[0].value, r[1].value) for r in rows] == [("7", "3"), ("8", "1")]
    assert len(by_name(filled)["parcels"].rows) == 1  # minItems: one blank row to fill

    renamed = {"confirmations": {"ui:rowsFrom": {"path": "pick.lines",
                                                  "map": {"line_id": "id", "quantity": "qty"}}}}
    data = {"pick": {"lines": [{"id": 5, "qty": 2}]}}
    filled = sf.fill(sf.build_fields(PICK_PACK, renamed), {}, {}, PICK_PACK, renamed, data)
    assert [(c.name, c.value) for c in by_name(filled)["confirmations"].rows[0]] == [
        ("confirmations.0.line_id", "5"), ("confirmations.0.quantity", "2"),
        ("confirmations.0.serials", "")]


def test_engine_messages_map_to_field_paths():
    assert sf.engine_errors([{"field": "confirmations[1].quantity", "message": "picked 1"},
                             {"field": None, "message": "whole form"}]) == {
        "confirmations.1.quantity": "picked 1", "": "whole form"}
