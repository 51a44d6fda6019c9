"""The demo company: a Shanghai office-supplies distributor booking in CNY.

`seed(session)` creates price lists, products, warehouses, suppliers, customers and opening
stock through the same domain functions the API uses (so the demo data obeys every rule), and
is idempotent: a record whose code exists is left alone, and opening stock is booked with fixed
document ids that the inventory ledger treats as replays.

Built to demo the order flow's paths: prices above 5,000 CNY (general-manager approval), a VIP
on its own price list, a key account, a customer near its credit limit, one that bypasses the
credit check, a blocked one, products short of stock, and batch- and serial-tracked goods.
"""
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.domain import catalog, customers, master_data
from app.models.inventory import Product, Supplier, Warehouse
from app.models.sales import Customer, PriceList, PricingRule

SEED_USER = "demo-seed"
VIP_FACTOR = Decimal("0.95")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(division: str, org_body: str) -> str:
    """An 18-character unified social credit code with valid check characters.

    "91" (registered by market regulation, enterprise) + 6-digit division + 9-character
    organisation code (GB 11714 check) + check character (GB 32100).
    """
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in org_body]
    org_check = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    org = org_body + {10: "X", 11: "0"}.get(org_check, str(org_check))
    body = "91" + division + org
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_CHARS[(31 - total % 31) % 31]


def _address(line1, city, postcode, state=None, contact=None, phone=None):
    address = {"line1": line1, "city": city, "postcode": postcode, "country": "CN",
               "state": state, "contact": contact, "phone": phone}
    return {k: v for k, v in address.items() if v}


PRICE_LISTS = [
    {"code": "STANDARD", "name": "Standard list price 标准价目表", "currency": "CNY"},
    {"code": "VIP", "name": "VIP price list (about 5% below standard) VIP价目表",
     "currency": "CNY"},
]

SUPPLIERS = [
    {"code": "SUP-HUAXIN", "name": "Shenzhen Huaxin Electronics Co., Ltd. 深圳华信电子有限公司",
     "email": "sales@huaxin-electronics.example.com", "tax_id": uscc("440304", "MA5DCR3K"),
     "lead_time_days": 10, "min_order_qty": "5", "pack_size": "1"},
    {"code": "SUP-LIANFENG",
     "name": "Zhejiang Anji Lianfeng Furniture Co., Ltd. 浙江安吉联丰家具有限公司",
     "email": "orders@lianfeng-furniture.example.com", "tax_id": uscc("330523", "MA28C7Y4"),
     "lead_time_days": 21, "min_order_qty": "2", "pack_size": "1"},
    {"code": "SUP-BAIYUN",
     "name": "Guangzhou Baiyun Office Supplies Co., Ltd. 广州白云办公用品有限公司",
     "email": "service@baiyun-office.example.com", "tax_id": uscc("440111", "MA59K2UX"),
     "lead_time_days": 5, "min_order_qty": "10", "pack_size": "10"},
]

# sku, name, item group, unit, standard price (CNY, before 13% VAT), weight kg, lead days,
# reorder point, reorder qty, supplier, extra settings
PRODUCTS = [
    ("FUR-DESK-1400", "Height-adjustable desk 1400x700 升降办公桌", "office_furniture", "pcs",
     "2380", "38", 14, 5, 10, "SUP-LIANFENG", {}),
    ("FUR-CHAIR-ERG", "Ergonomic mesh office chair 人体工学网椅", "office_furniture", "pcs",
     "1290", "17.5", 14, 10, 30, "SUP-LIANFENG", {}),
    ("FUR-CAB-3D", "Steel filing cabinet, 3 drawers 三抽钢制文件柜", "office_furniture", "pcs",
     "860", "28", 14, 4, 10, "SUP-LIANFENG", {}),
    ("FUR-TABLE-MTG", "Meeting table 2400x1200 会议桌", "office_furniture", "pcs",
     "5680", "85", 21, 2, 4, "SUP-LIANFENG", {}),
    ("FUR-SHELF-5T", "Steel shelving unit, 5 tiers 五层钢制货架", "office_furniture", "pcs",
     "420", "22", 10, 5, 20, "SUP-LIANFENG", {}),
    ("ELE-LAP-14", "Business laptop 14\" i7/16GB/512GB 商务笔记本电脑", "electronics", "pcs",
     "7999", "1.4", 10, 5, 10, "SUP-HUAXIN", {"tracking": "serial"}),
    ("ELE-MON-27", "27\" 4K monitor 27英寸4K显示器", "electronics", "pcs",
     "2299", "6.5", 10, 8, 20, "SUP-HUAXIN", {}),
    ("ELE-PRN-A3", "A3 colour laser printer A3彩色激光打印机", "electronics", "pcs",
     "12800", "68", 21, 1, 2, "SUP-HUAXIN", {}),
    ("ELE-PROJ-4K", "4K conference projector 4K会议投影仪", "electronics", "pcs",
     "6499", "4.2", 14, 2, 4, "SUP-HUAXIN", {}),
    ("ELE-DOCK-USBC", "USB-C docking station USB-C扩展坞", "electronics", "pcs",
     "699", "0.4", 7, 10, 30, "SUP-HUAXIN", {}),
    ("ELE-HEADSET", "Wireless office headset 无线办公耳机", "electronics", "pcs",
     "459", "0.25", 7, 15, 40, "SUP-HUAXIN", {}),
    ("CON-TONER-K", "Black toner cartridge for A3 printer 黑色硒鼓", "consumables", "pcs",
     "560", "1.1", 7, 20, 50, "SUP-BAIYUN", {"tracking": "batch"}),
    ("CON-PAPER-A4", "A4 copy paper 70g, sold by the box of 5 reams A4复印纸", "consumables",
     "ream", "26.80", "2.3", 3, 300, 1000, "SUP-BAIYUN", {"sales_multiple": "5"}),
    ("CON-PEN-GEL", "Black gel pens, box of 12 黑色中性笔", "consumables", "box",
     "24", "0.2", 3, 50, 200, "SUP-BAIYUN", {}),
    ("CON-NOTE-A5", "A5 notebooks, pack of 10 A5笔记本", "consumables", "pack",
     "68", "2.5", 5, 30, 100, "SUP-BAIYUN", {}),
    ("CON-LABEL-100", "Shipping labels 100x150, roll of 500 物流标签", "consumables", "roll",
     "45", "0.9", 5, 20, 60, "SUP-BAIYUN", {}),
    ("SPR-CASTER-50", "Chair caster set, 5 pcs 椅子脚轮套装", "spare_parts", "set",
     "89", "0.6", 7, 10, 30, "SUP-LIANFENG", {}),
    ("SPR-GASLIFT", "Chair gas lift cylinder 椅子气压棒", "spare_parts", "pcs",
     "128", "1.2", 7, 10, 30, "SUP-LIANFENG", {}),
    ("SPR-FUSER-A3", "Fuser unit for A3 printer 定影组件", "spare_parts", "pcs",
     "1850", "3.8", 21, 1, 2, "SUP-HUAXIN", {}),
    ("SPR-LAPBAT-14", "Replacement battery for 14\" laptop 笔记本电池", "spare_parts", "pcs",
     "690", "0.3", 10, 10, 20, "SUP-HUAXIN", {}),
]
# a quantity break on the standard list: the pallet price of paper
PRICE_BREAKS = [("CON-PAPER-A4", "100", "24.80")]
RULE = {"name": "Consumables volume discount 10% from 50 units", "applies_to": "item_group",
        "item_group": "consumables", "min_qty": "50", "discount_percent": "10", "priority": 10}

WAREHOUSES = [
    {"code": "SH-MAIN", "name": "Shanghai main warehouse 上海主仓",
     "address": _address("Building 3, No. 1288 Huaxia Road, Pudong New Area", "Shanghai",
                         "201210", contact="Mr. Zhou Jun", phone="+86 21 5080 1288"),
     "bins": [{"code": c} for c in ("A-01", "A-02", "A-03", "A-04", "A-05",
                                    "B-01", "B-02", "B-03")]},
    {"code": "BJ-NORTH", "name": "Beijing north warehouse 北京北仓",
     "address": _address("No. 66 Yuhua Road, Shunyi District", "Beijing", "101300",
                         contact="Ms. Liu Fang", phone="+86 10 8049 6600"),
     "bins": [{"code": c} for c in ("01", "02", "03")]},
]


def _customer(code, name, division, org, email, city, postcode, line1, **extra):
    address = _address(line1, city, postcode, contact=extra.pop("contact", None),
                       phone=extra.pop("phone", None))
    return {"code": code, "name": name, "tax_id": uscc(division, org), "email": email,
            "currency": "CNY", "billing_address": address,
            "shipping_address": extra.pop("shipping_address", address),
            "price_list": "STANDARD", **extra}


CUSTOMERS = [
    _customer("C-1001", "Shanghai Hengtai Trading Co., Ltd. 上海恒泰贸易有限公司", "310115",
              "MA1FL3Q8", "purchasing@hengtai.example.com", "Shanghai", "200120",
              "Room 1502, No. 500 Zhangyang Road, Pudong New Area", contact="Ms. Wang Li",
              phone="+86 21 5835 2201", credit_limit="200000", payment_terms_days=30),
    _customer("C-1002", "Hangzhou Xinyuan Technology Co., Ltd. 杭州鑫源科技有限公司", "330108",
              "MA2H7K9D", "procurement@xinyuan-tech.example.com", "Hangzhou", "310051",
              "No. 399 Wangshang Road, Binjiang District", contact="Mr. Chen Hao",
              phone="+86 571 8766 3390", type="vip", price_list="VIP",
              credit_limit="500000", payment_terms_days=45),
    _customer("C-1003", "Beijing Zhongke Huayu Information Technology Co., Ltd. "
              "北京中科华宇信息技术有限公司", "110108", "MA01B4T6",
              "it-purchasing@huayu-info.example.com", "Beijing", "100080",
              "Floor 8, No. 27 Zhongguancun Street, Haidian District", contact="Ms. Zhao Min",
              phone="+86 10 6255 8127", type="key_account", credit_limit="2000000",
              payment_terms_days=60,
              shipping_policy="partial",
              shipping_address=_address("Data centre gate 2, No. 9 Yongfeng Road, Haidian "
                                        "District", "Beijing", "100094",
                                        contact="Mr. Sun Lei", phone="+86 10 5896 0902")),
    # Near its credit limit: a small limit that the open invoices created elsewhere in the demo
    # nearly use up, so the next order goes to credit hold.
    _customer("C-1004", "Suzhou Mingda Precision Machinery Co., Ltd. 苏州明达精密机械有限公司",
              "320505", "MA1MX2R0", "finance@mingda-precision.example.com", "Suzhou",
              "215011", "No. 88 Zhujiang Road, Huqiu District", contact="Mr. Xu Gang",
              phone="+86 512 6825 0188", credit_limit="8000", payment_terms_days=30),
    # A sister company in the same group: intercompany sales skip the credit check.
    _customer("C-1005", "Shenzhen Qianhai Jiahe Supply Chain Co., Ltd. 深圳前海嘉禾供应链有限公司",
              "440300", "MA5G0N1W", "ops@jiahe-scm.example.com", "Shenzhen", "518066",
              "Room 201, Building A, No. 1 Qianwan 1st Road, Qianhai", contact="Ms. Huang Ying",
              phone="+86 755 8660 2010", credit_bypass=True, credit_limit="0",
              payment_terms_days=15),
    # Blocked by finance after repeated returned payments: orders are refused.
    _customer("C-1006", "Chengdu Tianfu Office Equipment Co., Ltd. 成都天府办公设备有限公司",
              "510107", "MA6C8PX3", "admin@tianfu-office.example.com", "Chengdu", "610041",
              "No. 18 Renmin South Road Section 4, Wuhou District", contact="Mr. Deng Wei",
              phone="+86 28 8553 0418", blocked=True, credit_limit="50000",
              payment_terms_days=30),
]


# Manufacturing: ergonomic chairs are finished in-house — the caster set and gas lift are fitted
# and the chair is load-tested — so a chair shortage becomes a work order (and purchase orders
# for short parts) rather than a purchase.
WORK_CENTRES = [("WC-ASSY", "Chair assembly line 椅子装配线"), ("WC-TEST", "Test bench 检测台")]
BOMS = [("FUR-CHAIR-ERG", [("SPR-CASTER-50", "1"), ("SPR-GASLIFT", "1")])]
ROUTINGS = [("FUR-CHAIR-ERG", [
    {"work_centre": "WC-ASSY", "description": "Fit gas lift and caster set",
     "setup_minutes": "15", "run_minutes": "6"},
    {"work_centre": "WC-TEST", "description": "Load and height test",
     "setup_minutes": "5", "run_minutes": "3"}])]
# Suppliers' prices for what is bought: 60% of the standard list price (purchase orders are
# priced from these, and their approval tier follows the amount).
PURCHASE_PRICE_FACTOR = Decimal("0.60")


def _opening_stock(today: date) -> list[dict]:
    """Opening stock; FUR-TABLE-MTG, ELE-PRN-A3, ELE-LAP-14, SPR-FUSER-A3 and SPR-LAPBAT-14 are
    deliberately short so an ordinary order of them takes the shortage path."""
    rows = [
        ("FUR-DESK-1400", "SH-MAIN", "A-01", 12), ("FUR-CHAIR-ERG", "SH-MAIN", "A-01", 30),
        ("FUR-CAB-3D", "SH-MAIN", "A-01", 8), ("FUR-TABLE-MTG", "SH-MAIN", "A-01", 2),
        ("FUR-SHELF-5T", "SH-MAIN", "A-01", 20), ("ELE-MON-27", "SH-MAIN", "A-02", 25),
        ("ELE-PRN-A3", "SH-MAIN", "A-02", 1), ("ELE-PROJ-4K", "SH-MAIN", "A-02", 3),
        ("ELE-DOCK-USBC", "SH-MAIN", "A-02", 40), ("ELE-HEADSET", "SH-MAIN", "A-02", 60),
        ("CON-PAPER-A4", "SH-MAIN", "A-03", 600), ("CON-PEN-GEL", "SH-MAIN", "A-03", 200),
        ("CON-NOTE-A5", "SH-MAIN", "A-03", 150), ("CON-LABEL-100", "SH-MAIN", "A-03", 80),
        ("SPR-CASTER-50", "SH-MAIN", "A-04", 45), ("SPR-GASLIFT", "SH-MAIN", "A-04", 30),
        ("SPR-LAPBAT-14", "SH-MAIN", "A-04", 6), ("CON-PAPER-A4", "SH-MAIN", "B-01", 400),
        ("FUR-CHAIR-ERG", "SH-MAIN", "B-02", 20), ("ELE-MON-27", "BJ-NORTH", "01", 10),
        ("FUR-CHAIR-ERG", "BJ-NORTH", "01", 15), ("CON-PAPER-A4", "BJ-NORTH", "02", 300),
        ("ELE-DOCK-USBC", "BJ-NORTH", "03", 15),
    ]
    stock = [dict(sku=s, warehouse=w, bin=b, quantity=Decimal(q)) for s, w, b, q in rows]
    # Two toner batches, the older expiring first (FEFO picking takes it first).
    stock += [dict(sku="CON-TONER-K", warehouse="SH-MAIN", bin="A-03", quantity=Decimal(12),
                   batch="TK-A-0312", expiry=today + timedelta(days=120)),
              dict(sku="CON-TONER-K", warehouse="SH-MAIN", bin="A-03", quantity=Decimal(40),
                   batch="TK-A-0418", expiry=today + timedelta(days=480))]
    stock.append(dict(sku="ELE-LAP-14", warehouse="SH-MAIN", bin="A-02", quantity=Decimal(8),
                      serials=[f"CN-LT14-{n:05d}" for n in range(10001, 10009)]))
    return stock


def _exists(session, column, value) -> bool:
    return session.scalar(select(column).where(column == value).limit(1)) is not None


def _vip_price(price: str) -> str:
    """About 5% below standard, in whole yuan from 100 up (as a sales team would quote it)."""
    vip = Decimal(price) * VIP_FACTOR
    step = Decimal("1") if vip >= 100 else Decimal("0.01")
    return str(vip.quantize(step, rounding=ROUND_HALF_UP))


def seed(session, *, today: date | None = None) -> dict:
    """Create whatever of the demo company is missing; returns how many of each were created."""
    from app.domain.inventory import receive

    today = today or date.today()
    created = dict.fromkeys(("price_lists", "suppliers", "products", "item_prices",
                             "pricing_rules", "warehouses", "customers", "stock_receipts"), 0)
    for data in PRICE_LISTS:
        if not _exists(session, PriceList.code, data["code"]):
            catalog.create_price_list(session, data)
            created["price_lists"] += 1
    for data in SUPPLIERS:
        if not _exists(session, Supplier.code, data["code"]):
            customers.create_supplier(session, data)
            created["suppliers"] += 1
    for sku, name, group, unit, price, weight, lead, rop, roq, supplier, extra in PRODUCTS:
        if _exists(session, Product.sku, sku):
            continue
        catalog.create_product(session, {
            "sku": sku, "name": name, "item_group": group, "unit": unit, "weight_kg": weight,
            "lead_time_days": lead, "reorder_point": str(rop), "reorder_qty": str(roq),
            "default_supplier": supplier, "tax_rate": "0.13", **extra})
        catalog.add_item_price(session, "STANDARD", {"sku": sku, "unit_price": price})
        catalog.add_item_price(session, "VIP", {"sku": sku, "unit_price": _vip_price(price)})
        created["products"] += 1
        created["item_prices"] += 2
        for break_sku, min_qty, break_price in PRICE_BREAKS:
            if break_sku == sku:
                catalog.add_item_price(session, "STANDARD", {
                    "sku": sku, "min_qty": min_qty, "unit_price": break_price})
                catalog.add_item_price(session, "VIP", {
                    "sku": sku, "min_qty": min_qty, "unit_price": _vip_price(break_price)})
                created["item_prices"] += 2
    if not _exists(session, PricingRule.name, RULE["name"]):
        catalog.add_pricing_rule(session, None, RULE)  # both price lists: VIPs get it too
        created["pricing_rules"] += 1
    for data in WAREHOUSES:
        if not _exists(session, Warehouse.code, data["code"]):
            master_data.create_warehouse(session, data)
            created["warehouses"] += 1
    for data in CUSTOMERS:
        if not _exists(session, Customer.code, data["code"]):
            customers.create_customer(session, data)
            created["customers"] += 1
    created.update(_seed_manufacturing(session))
    for line in _opening_stock(today):
        key = "-".join(filter(None, (line["sku"], line["warehouse"], line["bin"],
                                     line.get("batch"))))
        movement = receive(session, doc_type="opening_stock", doc_id=f"DEMO-OPEN-{key}",
                           user=SEED_USER, **line)
        created["stock_receipts"] += 0 if movement.replayed else 1
    session.flush()
    return created


def _seed_manufacturing(session) -> dict:
    """Work centres, the chair's BOM and routing, and supplier prices (each once)."""
    from app.domain import boms, planning_data
    from app.models.manufacturing import Bom, Routing, WorkCentre
    from app.models.procurement import SupplierPrice

    created = dict.fromkeys(("work_centres", "boms", "routings", "supplier_prices"), 0)
    for code, name in WORK_CENTRES:
        if not _exists(session, WorkCentre.code, code):
            planning_data.create_work_centre(session, code, name)
            created["work_centres"] += 1
    product_id = {p.sku: p.id for p in session.scalars(select(Product))}
    for sku, lines in BOMS:
        if not _exists(session, Bom.product_id, product_id[sku]):
            boms.create_bom(session, product=sku, note="demo: assembled in-house", lines=[
                {"component": c, "qty_per": Decimal(q)} for c, q in lines])
            created["boms"] += 1
    for sku, operations in ROUTINGS:
        if not _exists(session, Routing.product_id, product_id[sku]):
            planning_data.set_routing(session, sku, operations)
            created["routings"] += 1
    standard = {sku: Decimal(price) for sku, _, _, _, price, *_ in PRODUCTS}
    for product in session.scalars(select(Product).where(Product.default_supplier_id.is_not(None))):
        if product.sku not in standard or session.scalar(select(SupplierPrice.id).where(
                SupplierPrice.supplier_id == product.default_supplier_id,
                SupplierPrice.product_id == product.id)):
            continue
        session.add(SupplierPrice(
            supplier_id=product.default_supplier_id, product_id=product.id, min_qty=Decimal(0),
            unit_price=(standard[product.sku] * PURCHASE_PRICE_FACTOR).quantize(Decimal("0.01"))))
        created["supplier_prices"] += 1
    session.flush()
    return created
