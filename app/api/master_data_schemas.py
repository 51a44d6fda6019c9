"""Marshmallow schemas of the master-data API.

Request schemas check only types and shapes (unknown fields are refused); the rules — required
fields, allowed values, ranges, unique codes — are the domain's (app/domain/master_data.py and
friends), so one 422 names every broken rule at once. Fields marked "required" in their
description are required on create. Decimals travel as strings.
"""
from marshmallow import Schema, fields, validate

from app.api.schemas import StrictSchema


def _text(description=None):
    return fields.String(allow_none=True, metadata={"description": description} if description
                         else {})


def _decimal(description=None):
    return fields.Decimal(as_string=True, allow_none=True,
                          metadata={"description": description} if description else {})


def _code(obj, attr):
    related = getattr(obj, attr)
    return related.code if related is not None else None


class PostalAddressSchema(StrictSchema):
    line1 = _text("required")
    line2 = _text()
    city = _text("required")
    state = _text()
    postcode = _text()
    country = _text("required; ISO 3166 two letters, e.g. CN")
    contact = _text()
    phone = _text()


class PageQuerySchema(StrictSchema):
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "text in the code or name"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class PageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DuplicateSchema(Schema):
    code = fields.String()
    name = fields.String()
    reason = fields.String(metadata={"description": "tax_id | email | name (the strongest)"})
    reasons = fields.List(fields.String())


# ---------------------------------------------------------------- customers

class CustomerUpdateSchema(StrictSchema):
    name = _text("required")
    type = _text("standard | vip | key_account")
    tax_id = _text()
    email = _text()
    currency = _text("ISO 4217, default CNY")
    credit_limit = _decimal(">= 0")
    credit_bypass = fields.Boolean()
    blocked = fields.Boolean()
    billing_address = fields.Nested(PostalAddressSchema, allow_none=True)
    shipping_address = fields.Nested(PostalAddressSchema, allow_none=True)
    payment_terms_days = fields.Integer(allow_none=True)
    shipping_policy = _text("complete (default) | partial: ship what is in stock, backorder the rest")
    price_list = _text("price list code")


class CustomerCreateSchema(CustomerUpdateSchema):
    code = _text("required; letters, digits, . _ -")


class CustomerSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    normalized_name = fields.String()
    type = fields.String()
    tax_id = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    currency = fields.String()
    credit_limit = fields.Decimal(as_string=True)
    credit_bypass = fields.Boolean()
    blocked = fields.Boolean()
    billing_address = fields.Nested(PostalAddressSchema, allow_none=True)
    shipping_address = fields.Nested(PostalAddressSchema, allow_none=True)
    payment_terms_days = fields.Integer()
    shipping_policy = fields.String()
    price_list = fields.Function(lambda c: _code(c, "price_list"), allow_none=True)
    possible_duplicate_of = fields.List(fields.String(), allow_none=True)
    possible_duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={
        "description": "on create only: existing customers this one may duplicate"})
    created_at = fields.DateTime()


class CustomerQuerySchema(PageQuerySchema):
    type = fields.String(validate=validate.OneOf(["standard", "vip", "key_account"]))
    blocked = fields.Boolean()


class CustomerListSchema(PageSchema):
    items = fields.List(fields.Nested(CustomerSchema))


# ---------------------------------------------------------------- suppliers

class SupplierUpdateSchema(StrictSchema):
    name = _text("required")
    email = _text()
    tax_id = _text()
    lead_time_days = fields.Integer(allow_none=True)
    min_order_qty = _decimal(">= 0")
    pack_size = _decimal("> 0")
    active = fields.Boolean()


class SupplierCreateSchema(SupplierUpdateSchema):
    code = _text("required")


class SupplierSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    tax_id = fields.String(allow_none=True)
    lead_time_days = fields.Integer()
    min_order_qty = fields.Decimal(as_string=True)
    pack_size = fields.Decimal(as_string=True)
    active = fields.Boolean()
    possible_duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={
        "description": "on create only: existing suppliers this one may duplicate"})
    created_at = fields.DateTime()


class ActiveQuerySchema(PageQuerySchema):
    active = fields.Boolean()


class SupplierListSchema(PageSchema):
    items = fields.List(fields.Nested(SupplierSchema))


# ---------------------------------------------------------------- products

class ProductUpdateSchema(StrictSchema):
    name = _text("required")
    unit = _text("default pcs")
    item_group = _text()
    sales_multiple = _decimal("> 0; orders must be a multiple of it")
    saleable = fields.Boolean()
    active = fields.Boolean()
    stock_tracked = fields.Boolean()
    tracking = _text("none | batch | serial")
    weight_kg = _decimal()
    lead_time_days = fields.Integer(allow_none=True)
    reorder_point = _decimal()
    reorder_qty = _decimal()
    tax_rate = _decimal("0 to 1, e.g. 0.13")
    default_supplier = _text("supplier code")


class ProductCreateSchema(ProductUpdateSchema):
    sku = _text("required")


class ProductSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    item_group = fields.String(allow_none=True)
    sales_multiple = fields.Decimal(as_string=True)
    saleable = fields.Boolean()
    active = fields.Boolean()
    stock_tracked = fields.Boolean()
    tracking = fields.String()
    weight_kg = fields.Decimal(as_string=True)
    lead_time_days = fields.Integer()
    reorder_point = fields.Decimal(as_string=True)
    reorder_qty = fields.Decimal(as_string=True)
    tax_rate = fields.Decimal(as_string=True)
    default_supplier = fields.Function(lambda p: _code(p, "default_supplier"), allow_none=True)
    created_at = fields.DateTime()


class ProductQuerySchema(PageQuerySchema):
    item_group = fields.String(validate=validate.Length(max=80))
    active = fields.Boolean()
    saleable = fields.Boolean()


class ProductListSchema(PageSchema):
    items = fields.List(fields.Nested(ProductSchema))


# ---------------------------------------------------------------- price lists

class PriceListUpdateSchema(StrictSchema):
    name = _text("required")
    active = fields.Boolean()


class PriceListCreateSchema(PriceListUpdateSchema):
    code = _text("required")
    currency = _text("ISO 4217, default CNY")


class ItemPriceInSchema(StrictSchema):
    sku = _text("required")
    unit_price = _decimal("required, > 0")
    min_qty = _decimal("quantity break, default 0")
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)


class ItemPriceSchema(Schema):
    id = fields.Integer()
    sku = fields.Function(lambda i: i.product.sku)
    unit_price = fields.Decimal(as_string=True)
    min_qty = fields.Decimal(as_string=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)


class PricingRuleInSchema(StrictSchema):
    name = _text("required")
    applies_to = _text("required: item | item_group | order")
    sku = _text("for applies_to=item")
    item_group = _text("for applies_to=item_group")
    min_qty = _decimal("quantity break (item, item_group)")
    min_amount = _decimal("amount break (order)")
    discount_percent = _decimal("required, 0 to 100")
    priority = fields.Integer(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    active = fields.Boolean()


class PricingRuleSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    applies_to = fields.String()
    sku = fields.Function(lambda r: r.product.sku if r.product is not None else None,
                          allow_none=True)
    item_group = fields.String(allow_none=True)
    min_qty = fields.Decimal(as_string=True)
    min_amount = fields.Decimal(as_string=True)
    discount_percent = fields.Decimal(as_string=True)
    priority = fields.Integer()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    active = fields.Boolean()


class PriceListSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    currency = fields.String()
    active = fields.Boolean()


class PriceListDetailSchema(PriceListSchema):
    items = fields.List(fields.Nested(ItemPriceSchema))
    rules = fields.List(fields.Nested(PricingRuleSchema))


class PriceListListSchema(PageSchema):
    items = fields.List(fields.Nested(PriceListSchema))


# ---------------------------------------------------------------- warehouses

class BinInSchema(StrictSchema):
    code = _text("required")


class BinSchema(Schema):
    id = fields.Integer()
    code = fields.String()


class WarehouseUpdateSchema(StrictSchema):
    name = _text("required")
    address = fields.Nested(PostalAddressSchema, allow_none=True)
    active = fields.Boolean()


class WarehouseCreateSchema(WarehouseUpdateSchema):
    code = _text("required")
    bins = fields.List(fields.Nested(BinInSchema), allow_none=True)


class WarehouseSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.Nested(PostalAddressSchema, allow_none=True)
    active = fields.Boolean()
    bins = fields.List(fields.Nested(BinSchema))


class WarehouseListSchema(PageSchema):
    items = fields.List(fields.Nested(WarehouseSchema))
