"""Marshmallow schemas of the KPI, data-quality and saved-filter API. Decimals travel as strings."""
from marshmallow import Schema, fields, validate

from app.api.schemas import StrictSchema
from app.domain import data_quality, saved_filters


def _number():
    return fields.Decimal(as_string=True, allow_none=True)


# ---------------------------------------------------------------- KPIs

class KpiQuerySchema(StrictSchema):
    start = fields.Date(data_key="from", metadata={"description": "first day (default: the "
                                                                  "Monday 11 weeks before 'to')"})
    end = fields.Date(data_key="to",
                      metadata={"description": "last day, inclusive (default today)"})
    fulfilment_days = fields.Integer(validate=validate.Range(1, 365), metadata={
        "description": "orders without a requested date are due this many days after entry"})


class KpiPeriodSchema(Schema):
    start = fields.Date(attribute="from", data_key="from")
    end = fields.Date(attribute="to", data_key="to")
    days = fields.Integer()


class KpiRatePointSchema(Schema):
    week = fields.Date()
    value = _number()
    on_time = fields.Integer()
    due = fields.Integer()


class KpiFulfilmentSchema(KpiRatePointSchema):
    unit = fields.String()
    series = fields.List(fields.Nested(KpiRatePointSchema))


class KpiSpreadPointSchema(Schema):
    week = fields.Date()
    count = fields.Integer()
    p50 = _number()
    p90 = _number()


class KpiSpreadSchema(KpiSpreadPointSchema):
    unit = fields.String()
    series = fields.List(fields.Nested(KpiSpreadPointSchema))


class KpiStepSchema(KpiSpreadPointSchema):
    node_id = fields.String()
    node_name = fields.String(allow_none=True)
    series = fields.List(fields.Nested(KpiSpreadPointSchema))


class KpiCycleTimeSchema(KpiSpreadSchema):
    steps = fields.List(fields.Nested(KpiStepSchema))


class KpiHoldPointSchema(Schema):
    week = fields.Date()
    value = fields.Integer(allow_none=True)
    entered = fields.Integer()


class KpiCreditHoldSchema(KpiHoldPointSchema):
    unit = fields.String()
    series = fields.List(fields.Nested(KpiHoldPointSchema))


class KpiTurnoverPointSchema(Schema):
    week = fields.Date()
    days = _number()
    issued_value = _number()
    average_stock_value = _number()


class KpiTurnoverGroupSchema(KpiTurnoverPointSchema):
    group = fields.String()
    series = fields.List(fields.Nested(KpiTurnoverPointSchema))


class KpiTurnoverSchema(Schema):
    unit = fields.String()
    valuation = fields.String()
    groups = fields.List(fields.Nested(KpiTurnoverGroupSchema))


class KpiDsoPointSchema(Schema):
    week = fields.Date()
    value = _number()
    receivables = _number()
    credit_sales = _number()


class KpiDsoSchema(KpiDsoPointSchema):
    unit = fields.String()
    series = fields.List(fields.Nested(KpiDsoPointSchema))


class KpiSatisfactionMonthSchema(Schema):
    month = fields.String(metadata={"description": "YYYY-MM of the answers"})
    average = _number()
    count = fields.Integer()


class KpiSatisfactionSchema(Schema):
    value = _number()
    count = fields.Integer(load_default=0)
    months = fields.List(fields.Nested(KpiSatisfactionMonthSchema))
    note = fields.String()


class KpiSchema(Schema):
    period = fields.Nested(KpiPeriodSchema)
    weeks = fields.List(fields.Date())
    settings = fields.Dict()
    fulfilment_rate = fields.Nested(KpiFulfilmentSchema)
    order_cycle_time = fields.Nested(KpiCycleTimeSchema)
    approval_lead_time = fields.Nested(KpiSpreadSchema)
    credit_hold = fields.Nested(KpiCreditHoldSchema)
    inventory_turnover = fields.Nested(KpiTurnoverSchema)
    dso = fields.Nested(KpiDsoSchema)
    customer_satisfaction = fields.Nested(KpiSatisfactionSchema)


# ---------------------------------------------------------------- data quality

class DataQualityQuerySchema(StrictSchema):
    check = fields.String(validate=validate.OneOf(list(data_quality.CHECKS)))
    limit = fields.Integer(load_default=data_quality.DEFAULT_LIMIT,
                           validate=validate.Range(0, 1000))


class QualityFixSchema(Schema):
    method = fields.String()
    href = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")


class QualityItemSchema(Schema):
    code = fields.String()
    name = fields.String()
    problem = fields.String()
    related = fields.List(fields.String())
    fix = fields.Nested(QualityFixSchema)


class QualityCheckSchema(Schema):
    key = fields.String()
    label = fields.String()
    count = fields.Integer()
    items = fields.List(fields.Nested(QualityItemSchema))


class SkippedCheckSchema(Schema):
    key = fields.String()
    label = fields.String()
    reason = fields.String()


class DataQualitySchema(Schema):
    total = fields.Integer()
    checks = fields.List(fields.Nested(QualityCheckSchema))
    skipped = fields.List(fields.Nested(SkippedCheckSchema))


# ---------------------------------------------------------------- saved filters

_NAME = validate.Length(1, 100)
_REPORT = validate.OneOf(saved_filters.REPORTS)


class SavedFilterQuerySchema(StrictSchema):
    report = fields.String(validate=_REPORT)


class SavedFilterCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=_NAME)
    report = fields.String(required=True, validate=_REPORT)
    query = fields.Dict(keys=fields.String(), load_default=dict,
                        metadata={"description": "the report's query parameters"})
    shared = fields.Boolean(load_default=False)


class SavedFilterUpdateSchema(StrictSchema):
    name = fields.String(validate=_NAME)
    report = fields.String(validate=_REPORT)
    query = fields.Dict(keys=fields.String())
    shared = fields.Boolean()


class SavedFilterSchema(Schema):
    id = fields.Integer()
    owner = fields.String()
    name = fields.String()
    report = fields.String()
    query = fields.Dict()
    query_string = fields.Function(saved_filters.query_string)
    shared = fields.Boolean()
    created_at = fields.DateTime()


class SavedFilterListSchema(Schema):
    items = fields.List(fields.Nested(SavedFilterSchema))
