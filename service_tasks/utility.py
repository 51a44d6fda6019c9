"""General-purpose operators that any diagram may use."""
from app.engine.operators import UnitContext, operator


@operator("util.log")
def log_message(ctx: UnitContext, message: str, level: str = "info"):
    """Write a line to the instance history (useful while modelling)."""
    from app.engine.store import StepRecorder  # noqa: F401  (history is written by the runtime)

    return {"logged": str(message)[:500], "level": level, "business_key": ctx.business_key}
