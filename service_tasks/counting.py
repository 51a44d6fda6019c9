"""Cycle count operators: the blind count sheet of a bin, recording a (re)count, the review of
what is still off, and the approver's decision (app.domain.cycle_counts)."""
from app.domain import cycle_counts
from app.domain.errors import Invalid
from app.engine.operators import BusinessError, UnitContext, operator


@operator("counting.bin_sheet")
def bin_sheet(ctx: UnitContext, count_id, bin, recount=False):
    """The bin's lines to (re)count, without quantities: {number, warehouse, bin, lines}."""
    return cycle_counts.bin_sheet(ctx.session, int(count_id), str(bin), recount=bool(recount))


@operator("counting.record", errors=("count_invalid",))
def record(ctx: UnitContext, count_id, bin, counts, user=None, tolerance=None, found=None,
           recount=False):
    """Record a bin's (re)count and post what is within the tolerance; a count that does not
    match the sheet goes back to the counter (count_invalid)."""
    try:
        return cycle_counts.record_count(
            ctx.session, int(count_id), str(bin), counts, user=user or ctx.actor,
            tolerance=tolerance, found=found or [], recount=bool(recount))
    except Invalid as err:
        raise BusinessError("count_invalid", err.message, {"details": err.details or []}) from err


@operator("counting.review")
def review(ctx: UnitContext, count_id):
    """{needs_approval, counters, lines}: the lines still off after their recount."""
    return cycle_counts.review(ctx.session, int(count_id))


@operator("counting.decide")
def decide(ctx: UnitContext, count_id, decision, user=None, comment=None):
    """Post (approve) or drop (reject) the differences awaiting approval; completes the count."""
    return cycle_counts.decide(ctx.session, int(count_id), decision, user=user or ctx.actor,
                               comment=comment)
