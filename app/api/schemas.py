"""Marshmallow schemas of the runtime API (requests and responses)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class StrictSchema(Schema):
    """Unknown fields are refused (marshmallow's default), named in the 422."""


class InstanceStartSchema(StrictSchema):
    process_id = fields.String(required=True, validate=validate.Length(1, 200))
    business_key = fields.String(load_default=None, validate=validate.Length(1, 200))
    data = fields.Dict(keys=fields.String(), load_default=dict)


class WaitSchema(Schema):
    kind = fields.String()
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    task_id = fields.String()
    message = fields.String()
    due_at = fields.String(allow_none=True)
    boundary = fields.Boolean()


class InstanceSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    deployment_version = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    revision = fields.Integer()
    waiting_at = fields.List(fields.Nested(WaitSchema))
    next_due_at = fields.DateTime(allow_none=True)
    started_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    business_key = fields.String(allow_none=True)
    node_id = fields.String()
    name = fields.String(attribute="node_name", allow_none=True)
    lane = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    state = fields.String()
    form = fields.String(attribute="form_schema", allow_none=True)
    instructions = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form_schema_json = fields.Dict(data_key="form_schema", allow_none=True)
    form_ui_schema_json = fields.Dict(data_key="form_ui_schema", allow_none=True)
    data = fields.Dict()


class IncidentSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    message = fields.String()
    traceback = fields.String(allow_none=True)
    failures = fields.Integer()
    retries_left = fields.Integer()
    first_failure_at = fields.DateTime()
    last_failure_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class EventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    node_type = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    tasks = fields.List(fields.Nested(TaskSchema))
    incident = fields.Nested(IncidentSchema, allow_none=True)
    history = fields.List(fields.Nested(EventSchema))
    data = fields.Dict()


class InstanceQuerySchema(StrictSchema):
    process_id = fields.String()
    business_key = fields.String()
    status = fields.String(validate=validate.OneOf(
        ["running", "waiting", "completed", "error", "suspended", "terminated"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class InstanceListSchema(Schema):
    items = fields.List(fields.Nested(InstanceSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ReasonSchema(StrictSchema):
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class MessageSchema(StrictSchema):
    business_key = fields.String(load_default=None)
    process_instance_id = fields.Integer(load_default=None)
    correlation = fields.Dict(keys=fields.String(), load_default=None)
    payload = fields.Raw(load_default=None)
    message_id = fields.String(load_default=None, validate=validate.Length(1, 200))

    @validates_schema
    def needs_a_target(self, data, **kwargs):
        if not (data.get("business_key") or data.get("process_instance_id")
                or data.get("correlation")):
            raise ValidationError(
                "give business_key, process_instance_id or correlation", "business_key")


class MessageResultSchema(Schema):
    duplicate = fields.Boolean()
    instance = fields.Nested(InstanceSchema)


class TaskQuerySchema(StrictSchema):
    view = fields.String(load_default="groups",
                         validate=validate.OneOf(["mine", "groups", "completed"]))
    process_id = fields.String()
    node_id = fields.String()
    due = fields.String(validate=validate.OneOf(["overdue", "today", "week"]))
    q = fields.String(validate=validate.Length(max=200))
    sort = fields.String(load_default="created_at",
                         validate=validate.OneOf(["created_at", "-created_at", "due_at", "-due_at"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class CompleteSchema(StrictSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class DelegateSchema(StrictSchema):
    to = fields.String(required=True, validate=validate.Length(1, 80))


class ProcessSchema(Schema):
    process_id = fields.String()
    name = fields.String(allow_none=True)
    file_name = fields.String()


class DeploymentSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    content_hash = fields.String()
    source = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    processes = fields.List(fields.Nested(ProcessSchema))
    files = fields.Method("file_names")
    created = fields.Boolean()

    def file_names(self, obj):
        return [f.name for f in obj.files]
