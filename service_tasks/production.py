"""Operators of production.bpmn: material issue, one shop-floor confirmation per routing
operation, quality inspection (rework / scrap), finished goods into stock, telling the demand."""
from app.domain import production
from app.engine.operators import UnitContext, operator
from service_tasks.supply import tell_pegged_demand


@operator("production.describe")
def describe(ctx: UnitContext, work_order_id):
    wo = production.get_work_order(ctx.session, int(work_order_id))
    return {"number": wo.number, "sku": wo.product.sku, "name": wo.product.name,
            "quantity": str(wo.quantity), "due_date": wo.due_date.isoformat(),
            "materials": [{"sku": m.product.sku, "required_qty": str(m.required_qty)}
                          for m in wo.materials]}


@operator("production.issue_materials")
def issue_materials(ctx: UnitContext, work_order_id):
    """Issue the components still missing: {complete, issued, short}."""
    return production.issue_materials(ctx.session, int(work_order_id), user=ctx.actor)


@operator("production.next_operation")
def next_operation(ctx: UnitContext, work_order_id):
    """The next pending routing operation ({done: false, operation}) or {done: true}."""
    return production.next_operation(ctx.session, int(work_order_id))


@operator("production.complete_operation")
def complete_operation(ctx: UnitContext, work_order_id, operation_id, user=None, note=None):
    return production.complete_operation(ctx.session, int(work_order_id), int(operation_id),
                                         user=user or ctx.actor, note=note)


@operator("production.record_inspection")
def record_inspection(ctx: UnitContext, work_order_id, result, outcome=None, note=None,
                      user=None):
    """pass → accept; fail → rework or scrap: {round, result, outcome}."""
    return production.record_inspection(ctx.session, int(work_order_id), result=result,
                                        outcome=outcome or None, note=note,
                                        user=user or ctx.actor)


@operator("production.start_rework")
def start_rework(ctx: UnitContext, work_order_id):
    return production.start_rework(ctx.session, int(work_order_id))


@operator("production.complete")
def complete(ctx: UnitContext, work_order_id):
    """Finished goods into stock; then the pegged sales orders / parent work orders are told."""
    result = production.complete(ctx.session, int(work_order_id), user=ctx.actor)
    wo = production.get_work_order(ctx.session, int(work_order_id))
    result["told"] = tell_pegged_demand(ctx, wo.planned_order_id, wo.number,
                                        {"work_order": wo.number, "sku": result["sku"]})
    return result


@operator("production.scrap")
def scrap(ctx: UnitContext, work_order_id, reason=None, user=None):
    return production.scrap(ctx.session, int(work_order_id), user=user or ctx.actor,
                            reason=reason)
