"""Schemas of the process owners' reports API (/api/reports/*)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.schemas import IncidentSchema, StrictSchema
from app.engine.report_incidents import ACTIONS

_id = validate.Length(1, 200)
_hours = validate.Range(min=0, min_inclusive=False, max=24 * 366)
_days = validate.Range(1, 366)


class PageArgs(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class OrderFilterArgs(Schema):
    customer = fields.String(validate=validate.Length(1, 200))
    min_amount = fields.Decimal(as_string=True, validate=validate.Range(min=0))
    max_amount = fields.Decimal(as_string=True, validate=validate.Range(min=0))


class StuckQuerySchema(PageArgs, OrderFilterArgs):
    process_id = fields.String(validate=_id)
    version = fields.Integer(validate=validate.Range(min=1))
    node_id = fields.String(validate=_id)
    min_age_hours = fields.Float(validate=_hours)
    silent_min_age_hours = fields.Float(load_default=24.0, validate=_hours)


class IncidentFilterSchema(StrictSchema):
    process_id = fields.String(validate=_id)
    version = fields.Integer(validate=validate.Range(min=1))
    node_id = fields.String(validate=_id)
    q = fields.String(validate=validate.Length(1, 200))
    customer = fields.String(validate=validate.Length(1, 200))


class IncidentQuerySchema(PageArgs, IncidentFilterSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved"]))


class IncidentActionSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    reason = fields.String(load_default=None, validate=validate.Length(1, 500))
    instance_ids = fields.List(fields.Integer(validate=validate.Range(min=1)),
                               validate=validate.Length(1, 500))
    filter = fields.Nested(IncidentFilterSchema)

    @validates_schema
    def one_selection(self, data, **kwargs):
        errors = {}
        if ("instance_ids" in data) == ("filter" in data):
            errors["instance_ids"] = ["give either instance_ids or filter"]
        if data.get("action") == "terminate" and not data.get("reason"):
            errors["reason"] = ["a reason is required to terminate"]
        if errors:
            raise ValidationError(errors)


class SlaQuerySchema(PageArgs):
    process_id = fields.String(validate=_id)
    node_id = fields.String(validate=_id)
    group = fields.String(validate=validate.Length(1, 80))
    assignee = fields.String(validate=validate.Length(1, 80))
    period_days = fields.Integer(load_default=30, validate=_days)


class ExceptionQuerySchema(StrictSchema):
    period_days = fields.Integer(load_default=30, validate=_days)
    per_group = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class HeatmapQuerySchema(StrictSchema):
    process_id = fields.String(required=True, validate=_id)
    period_days = fields.Integer(load_default=30, validate=_days)
    node_id = fields.String(validate=_id)


# -- responses --------------------------------------------------------------------------------
class OrderRefSchema(Schema):
    number = fields.String()
    customer_code = fields.String()
    customer_name = fields.String()
    amount = fields.Decimal(as_string=True)
    currency = fields.String()


class LastEventSchema(Schema):
    kind = fields.String()
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.DateTime()


class _InstanceRow(Schema):
    instance_id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer(allow_none=True)
    business_key = fields.String(allow_none=True)
    last_event = fields.Nested(LastEventSchema, allow_none=True)
    order = fields.Nested(OrderRefSchema, allow_none=True)


class StuckRowSchema(_InstanceRow):
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    wait_kind = fields.String()
    waiting_since = fields.DateTime()
    age_seconds = fields.Integer()
    threshold_seconds = fields.Integer()
    task_id = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())


class SilentRowSchema(_InstanceRow):
    status = fields.String()
    waiting_at = fields.List(fields.String())
    since = fields.DateTime()
    age_seconds = fields.Integer()


class SilentListSchema(Schema):
    items = fields.List(fields.Nested(SilentRowSchema))
    total = fields.Integer()


class StuckReportSchema(Schema):
    items = fields.List(fields.Nested(StuckRowSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    silent = fields.Nested(SilentListSchema)


class IncidentRowSchema(_InstanceRow, IncidentSchema):
    """An incident (the same fields as on the instance page) with its instance and order."""
    instance_status = fields.String()


class IncidentReportSchema(Schema):
    items = fields.List(fields.Nested(IncidentRowSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class ActionResultSchema(Schema):
    instance_id = fields.Integer()
    ok = fields.Boolean()
    status = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class ActionReportSchema(Schema):
    action = fields.String()
    requested = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    results = fields.List(fields.Nested(ActionResultSchema))


class OverdueTaskSchema(Schema):
    task_id = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    business_key = fields.String(allow_none=True)
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    created_at = fields.DateTime()
    due_at = fields.DateTime()
    overdue_seconds = fields.Integer()
    order = fields.Nested(OrderRefSchema, allow_none=True)


class OverdueByGroupSchema(Schema):
    group = fields.String()
    count = fields.Integer()
    oldest_due_at = fields.DateTime()


class OverdueByAssigneeSchema(Schema):
    assignee = fields.String(allow_none=True)
    count = fields.Integer()
    oldest_due_at = fields.DateTime()


class BreachRateSchema(Schema):
    process_id = fields.String()
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    tasks = fields.Integer()
    breached = fields.Integer()
    open_overdue = fields.Integer()
    rate = fields.Float()


class OverdueSchema(Schema):
    items = fields.List(fields.Nested(OverdueTaskSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    by_group = fields.List(fields.Nested(OverdueByGroupSchema))
    by_assignee = fields.List(fields.Nested(OverdueByAssigneeSchema))


class SlaReportSchema(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    overdue = fields.Nested(OverdueSchema)
    breach_rates = fields.List(fields.Nested(BreachRateSchema))


class ExceptionItemSchema(Schema):
    number = fields.String()
    customer_code = fields.String()
    customer_name = fields.String()
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    since = fields.DateTime()
    age_seconds = fields.Integer()
    node_id = fields.String(allow_none=True)
    instance_id = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)
    link = fields.String()


class ExceptionGroupSchema(Schema):
    category = fields.String()
    label = fields.String()
    count = fields.Integer()
    oldest_age_seconds = fields.Integer(allow_none=True)
    avg_age_seconds = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(ExceptionItemSchema))


class ExceptionBoardSchema(Schema):
    since = fields.DateTime()
    total = fields.Integer()
    groups = fields.List(fields.Nested(ExceptionGroupSchema))


class HeatNodeSchema(Schema):
    node_id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String()
    waiting = fields.Integer()
    incidents = fields.Integer()
    timed = fields.Boolean()
    visits = fields.Integer()
    avg_seconds = fields.Integer(allow_none=True)
    p90_seconds = fields.Integer(allow_none=True)


class NodeInstanceSchema(Schema):
    instance_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    node_id = fields.String()
    wait_kind = fields.String()
    assignee = fields.String(allow_none=True)
    since = fields.DateTime()
    order = fields.Nested(OrderRefSchema, allow_none=True)


class HeatmapSchema(Schema):
    process_id = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    waiting_total = fields.Integer()
    incidents_total = fields.Integer()
    nodes = fields.List(fields.Nested(HeatNodeSchema))
    node_id = fields.String(allow_none=True)
    instances = fields.List(fields.Nested(NodeInstanceSchema), allow_none=True)


class StoppedCommandSchema(Schema):
    """Work a unit asked for after its commit (start a process, send a message) that stopped."""
    id = fields.Integer()
    key = fields.String()
    kind = fields.String(metadata={"description": "start | message"})
    status = fields.String(metadata={"description": "failed | undelivered"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    payload = fields.Dict()
    source_instance_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    done_at = fields.DateTime(allow_none=True)


class StoppedCommandsSchema(Schema):
    items = fields.List(fields.Nested(StoppedCommandSchema))
