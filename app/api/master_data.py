"""Master data over HTTP: customers, suppliers, products, price lists, warehouses.

Who may do what (kept deliberately simple):
- reading anything: any authenticated user (order entry, the warehouse and finance all need it);
- writing customers: the `sales` group (they onboard customers) or admins;
- writing warehouses and their bins: the `warehouse` group or admins;
- writing products, price lists (item prices, rules) and suppliers: admins only, because a
  wrong price or product setting silently changes every order priced afterwards.
Nothing is deleted except an item price; records are deactivated with PATCH
(customers: {"blocked": true}; the others: {"active": false}).
"""
from flask_smorest import Blueprint

from app.api.auth import require_group
from app.api.master_data_schemas import (
    ActiveQuerySchema,
    BinInSchema,
    CustomerCreateSchema,
    CustomerListSchema,
    CustomerQuerySchema,
    CustomerSchema,
    CustomerUpdateSchema,
    ItemPriceInSchema,
    ItemPriceSchema,
    PriceListCreateSchema,
    PriceListDetailSchema,
    PriceListListSchema,
    PriceListUpdateSchema,
    PricingRuleInSchema,
    PricingRuleSchema,
    ProductCreateSchema,
    ProductListSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
    SupplierCreateSchema,
    SupplierListSchema,
    SupplierSchema,
    SupplierUpdateSchema,
    WarehouseCreateSchema,
    WarehouseListSchema,
    WarehouseSchema,
    WarehouseUpdateSchema,
)
from app.domain import catalog, customers, master_data
from app.extensions import db

blp = Blueprint("master_data", __name__, url_prefix="/api",
                description="Master data: customers, suppliers, products, prices, warehouses")

SALES = ("sales",)          # admins pass every require_group
WAREHOUSE = ("warehouse",)
ADMIN = ("admin",)


def _with_duplicates(record, duplicates):
    record.possible_duplicates = duplicates  # shown once, in the create response
    return record


# ---------------------------------------------------------------- customers

@blp.route("/customers", methods=["GET"])
@blp.arguments(CustomerQuerySchema, location="query")
@blp.response(200, CustomerListSchema)
def list_customers(args):
    """Customers, filtered by text (code/name), type and blocked; paged."""
    return customers.list_customers(db.session, **args)


@blp.route("/customers", methods=["POST"])
@require_group(*SALES)
@blp.arguments(CustomerCreateSchema)
@blp.response(201, CustomerSchema)
def create_customer(args):
    """Create a customer; likely duplicates are listed in possible_duplicates."""
    customer, duplicates = customers.create_customer(db.session, args)
    db.session.commit()
    return _with_duplicates(customer, duplicates)


@blp.route("/customers/<string:code>", methods=["GET"])
@blp.response(200, CustomerSchema)
def get_customer(code):
    """One customer by code."""
    return customers.get_customer(db.session, code)


@blp.route("/customers/<string:code>", methods=["PATCH"])
@require_group(*SALES)
@blp.arguments(CustomerUpdateSchema)
@blp.response(200, CustomerSchema)
def update_customer(args, code):
    """Change some fields of a customer ({"blocked": true} to stop its orders)."""
    customer = customers.update_customer(db.session, code, args)
    db.session.commit()
    return customer


# ---------------------------------------------------------------- suppliers

@blp.route("/suppliers", methods=["GET"])
@blp.arguments(ActiveQuerySchema, location="query")
@blp.response(200, SupplierListSchema)
def list_suppliers(args):
    """Suppliers, filtered by text and active; paged."""
    return customers.list_suppliers(db.session, **args)


@blp.route("/suppliers", methods=["POST"])
@require_group(*ADMIN)
@blp.arguments(SupplierCreateSchema)
@blp.response(201, SupplierSchema)
def create_supplier(args):
    """Create a supplier; likely duplicates are listed in possible_duplicates."""
    supplier, duplicates = customers.create_supplier(db.session, args)
    db.session.commit()
    return _with_duplicates(supplier, duplicates)


@blp.route("/suppliers/<string:code>", methods=["GET"])
@blp.response(200, SupplierSchema)
def get_supplier(code):
    """One supplier by code."""
    return customers.get_supplier(db.session, code)


@blp.route("/suppliers/<string:code>", methods=["PATCH"])
@require_group(*ADMIN)
@blp.arguments(SupplierUpdateSchema)
@blp.response(200, SupplierSchema)
def update_supplier(args, code):
    """Change some fields of a supplier ({"active": false} to retire it)."""
    supplier = customers.update_supplier(db.session, code, args)
    db.session.commit()
    return supplier


# ---------------------------------------------------------------- products

@blp.route("/products", methods=["GET"])
@blp.arguments(ProductQuerySchema, location="query")
@blp.response(200, ProductListSchema)
def list_products(args):
    """Products, filtered by text (sku/name), item group, active and saleable; paged."""
    return catalog.list_products(db.session, **args)


@blp.route("/products", methods=["POST"])
@require_group(*ADMIN)
@blp.arguments(ProductCreateSchema)
@blp.response(201, ProductSchema)
def create_product(args):
    """Create a product."""
    product = catalog.create_product(db.session, args)
    db.session.commit()
    return product


@blp.route("/products/<string:sku>", methods=["GET"])
@blp.response(200, ProductSchema)
def get_product(sku):
    """One product by sku."""
    return catalog.get_product(db.session, sku)


@blp.route("/products/<string:sku>", methods=["PATCH"])
@require_group(*ADMIN)
@blp.arguments(ProductUpdateSchema)
@blp.response(200, ProductSchema)
def update_product(args, sku):
    """Change some fields of a product ({"active": false} to retire it)."""
    product = catalog.update_product(db.session, sku, args)
    db.session.commit()
    return product


# ---------------------------------------------------------------- price lists

@blp.route("/price-lists", methods=["GET"])
@blp.arguments(ActiveQuerySchema, location="query")
@blp.response(200, PriceListListSchema)
def list_price_lists(args):
    """Price lists, filtered by text and active; paged."""
    return catalog.list_price_lists(db.session, **args)


@blp.route("/price-lists", methods=["POST"])
@require_group(*ADMIN)
@blp.arguments(PriceListCreateSchema)
@blp.response(201, PriceListDetailSchema)
def create_price_list(args):
    """Create a price list (its currency is fixed from then on)."""
    price_list = catalog.create_price_list(db.session, args)
    db.session.commit()
    return price_list


@blp.route("/price-lists/<string:code>", methods=["GET"])
@blp.response(200, PriceListDetailSchema)
def get_price_list(code):
    """One price list with its item prices and pricing rules."""
    return catalog.get_price_list(db.session, code)


@blp.route("/price-lists/<string:code>", methods=["PATCH"])
@require_group(*ADMIN)
@blp.arguments(PriceListUpdateSchema)
@blp.response(200, PriceListDetailSchema)
def update_price_list(args, code):
    """Rename a price list or (de)activate it."""
    price_list = catalog.update_price_list(db.session, code, args)
    db.session.commit()
    return price_list


@blp.route("/price-lists/<string:code>/items", methods=["POST"])
@require_group(*ADMIN)
@blp.arguments(ItemPriceInSchema)
@blp.response(201, ItemPriceSchema)
def add_item_price(args, code):
    """Add a product's price (quantity break, validity); overlaps are refused."""
    item = catalog.add_item_price(db.session, code, args)
    db.session.commit()
    return item


@blp.route("/price-lists/<string:code>/items/<int:item_id>", methods=["DELETE"])
@require_group(*ADMIN)
@blp.response(204)
def remove_item_price(code, item_id):
    """Remove one item price from the list."""
    catalog.remove_item_price(db.session, code, item_id)
    db.session.commit()


@blp.route("/price-lists/<string:code>/rules", methods=["POST"])
@require_group(*ADMIN)
@blp.arguments(PricingRuleInSchema)
@blp.response(201, PricingRuleSchema)
def add_pricing_rule(args, code):
    """Add a discount rule (item, item group or whole order) to the list."""
    rule = catalog.add_pricing_rule(db.session, code, args)
    db.session.commit()
    return rule


# ---------------------------------------------------------------- warehouses

@blp.route("/warehouses", methods=["GET"])
@blp.arguments(ActiveQuerySchema, location="query")
@blp.response(200, WarehouseListSchema)
def list_warehouses(args):
    """Warehouses with their bins, filtered by text and active; paged."""
    return master_data.list_warehouses(db.session, **args)


@blp.route("/warehouses", methods=["POST"])
@require_group(*WAREHOUSE)
@blp.arguments(WarehouseCreateSchema)
@blp.response(201, WarehouseSchema)
def create_warehouse(args):
    """Create a warehouse with its bins."""
    warehouse = master_data.create_warehouse(db.session, args)
    db.session.commit()
    return warehouse


@blp.route("/warehouses/<string:code>", methods=["GET"])
@blp.response(200, WarehouseSchema)
def get_warehouse(code):
    """One warehouse with its bins."""
    return master_data.get_warehouse(db.session, code)


@blp.route("/warehouses/<string:code>", methods=["PATCH"])
@require_group(*WAREHOUSE)
@blp.arguments(WarehouseUpdateSchema)
@blp.response(200, WarehouseSchema)
def update_warehouse(args, code):
    """Change a warehouse's name, address or active flag."""
    warehouse = master_data.update_warehouse(db.session, code, args)
    db.session.commit()
    return warehouse


@blp.route("/warehouses/<string:code>/bins", methods=["POST"])
@require_group(*WAREHOUSE)
@blp.arguments(BinInSchema)
@blp.response(201, WarehouseSchema)
def add_bin(args, code):
    """Add a bin to a warehouse; answers the warehouse with all its bins."""
    master_data.add_bin(db.session, code, args)
    db.session.commit()
    return master_data.get_warehouse(db.session, code)
