"""The returns pages: the list (for sales, warehouse, finance, process owners) and one return
with its lines, stock movements, credit notes, survey, open tasks and history."""
from flask import render_template, request
from sqlalchemy import select

from app.domain import return_views, returns
from app.engine import queries
from app.extensions import db
from app.models.returns import ReturnRequest
from app.web import order_context
from app.web.auth import login_required
from app.web.blueprint import bp
from app.web.errors import render_error


@bp.route("/returns")
@login_required
def returns_list():
    q = (request.args.get("q") or "").strip()[:100] or None
    return render_template("returns.html", returns=return_views.recent_returns(db.session, q=q),
                           q=q or "")


@bp.route("/returns/<number>")
@login_required
def return_page(number):
    ret = db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == number[:32]))
    if ret is None:
        return render_error(404, f"There is no return {number}.")
    instance = queries.document_instance(db.session, ret.process_instance_id, ret.number,
                                         returns.PROCESS_ID)
    events = order_context.history(db.session, instance.id) if instance else []
    return render_template(
        "return.html", ret=return_views.describe(db.session, ret),
        stage=return_views.stage_of(ret), instance=instance,
        open_tasks=order_context.open_tasks(db.session, instance.id) if instance else [],
        timeline=order_context.timeline(events))
