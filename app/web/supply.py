"""The supply page: purchase orders and work orders in progress, each with the task it waits
at, for purchasing, production, planners and process owners."""
from flask import render_template
from sqlalchemy import select

from app.domain import supply_views
from app.extensions import db
from app.models.engine import HumanTask
from app.web.auth import login_required
from app.web.blueprint import bp


def _open_tasks(keys) -> dict[str, list[HumanTask]]:
    tasks: dict[str, list[HumanTask]] = {}
    if keys:
        for task in db.session.scalars(select(HumanTask).where(
                HumanTask.business_key.in_(keys), HumanTask.state == "open")
                .order_by(HumanTask.created_at)):
            tasks.setdefault(task.business_key, []).append(task)
    return tasks


@bp.route("/supply")
@login_required
def supply():
    purchase_orders = supply_views.open_purchase_orders(db.session)
    work_orders = supply_views.open_work_orders(db.session)
    tasks = _open_tasks([d["number"] for d in purchase_orders + work_orders])
    return render_template("supply.html", purchase_orders=purchase_orders,
                           work_orders=work_orders, tasks=tasks)
