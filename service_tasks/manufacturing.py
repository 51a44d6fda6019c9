"""Operators for manufacturing planning: the MRP run."""
from app.domain import mrp
from app.engine.operators import UnitContext, operator


@operator("mrp.run")
def run(ctx: UnitContext, horizon_days: int = mrp.DEFAULT_HORIZON):
    """Run MRP over daily buckets; planned orders of the previous run are updated in place."""
    result = mrp.run_mrp(ctx.session, horizon_days=int(horizon_days), started_by=ctx.actor)
    counts = result.counts
    return {"run_id": result.id, "planned_orders": counts["planned_orders"],
            "created": counts["created"], "updated": counts["updated"],
            "unchanged": counts["unchanged"], "deleted": counts["deleted"],
            "work_orders": counts["work_orders"], "purchase_requests": counts["purchase_requests"],
            "exceptions": counts["exceptions"]}
