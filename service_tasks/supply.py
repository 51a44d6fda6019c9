"""Operators that plan supply for a waiting sales order and tell the demand a supply serves."""
from app.domain import supply
from app.engine.operators import UnitContext, operator

# Supply planned automatically has no human requester: nobody is excluded from approving it.
PLANNER = "system"


def start_documents(ctx: UnitContext, documents: list[dict]) -> list[str]:
    """Start the procurement / production process of each new document after the commit."""
    for doc in documents:
        ctx.start_process(doc["process_id"], business_key=doc["business_key"],
                          data=doc["start_data"])
    return [doc["number"] for doc in documents]


def tell_pegged_demand(ctx: UnitContext, planned_order_id, fact_key: str, payload: dict) -> dict:
    """Sales orders pegged to the supply get goods_received, parent work orders
    materials_received; the message ids come from the fact, so a replay sends nothing twice."""
    targets = supply.demand_served_by(ctx.session, planned_order_id)
    for number in targets["sales_orders"]:
        ctx.send_message("goods_received", business_key=number, payload=payload,
                         message_id=f"goods_received:{fact_key}:{number}")
    for number in targets["work_orders"]:
        ctx.send_message("materials_received", business_key=number, payload=payload,
                         message_id=f"materials_received:{fact_key}:{number}")
    return targets


@operator("supply.plan_for_order")
def plan_for_order(ctx: UnitContext, order_id):
    """Create or reuse the supply the order's short lines wait for (purchase requests, work
    orders and their short components), pegged to the lines, and start their processes.

    Returns {order_id, order_number, lines: [{line_no, sku, short_qty, planned_qty}],
    documents: [{type, number, process_id}]} — documents lists only what was created now.
    """
    result = supply.plan_for_order(ctx.session, int(order_id), user=PLANNER)
    start_documents(ctx, result["documents"])
    return {"order_id": result["order_id"], "order_number": result["order_number"],
            "lines": result["lines"],
            "documents": [{"type": d["type"], "number": d["number"],
                           "process_id": d["process_id"]} for d in result["documents"]]}
