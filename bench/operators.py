"""Service operators of the benchmark diagram (bench/processes/bench_order.bpmn).

They compute small values and touch neither the database nor the context, so what the benchmark
measures is the runtime around them, not the operators.
"""
from app.engine.operators import operator


@operator("bench.price")
def price(ctx, qty, unit_price):
    """Order total: quantity times unit price, rounded to cents."""
    return round(qty * unit_price, 2)


@operator("bench.reserve")
def reserve(ctx, order_id, qty):
    """A fake stock reservation."""
    return {"reservation_id": f"R-{order_id}", "qty": qty}
