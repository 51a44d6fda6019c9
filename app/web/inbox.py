"""The inbox page and the claim / unclaim / delegate buttons."""
import logging

from flask import flash, g, redirect, render_template, request, url_for

from app import identity
from app.domain import errors as domain_errors
from app.engine import errors as engine_errors
from app.engine import tasks
from app.extensions import db
from app.web import inbox_query
from app.web.auth import safe_next, login_required
from app.web.blueprint import bp

log = logging.getLogger(__name__)
PER_PAGE = 25


def _int(value, default=1) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _notifications():
    """Unread in-app notices; the page works (without them) if the module is not there yet."""
    try:
        from app.domain.notifications import unread_for
    except ImportError:
        return []
    return unread_for(db.session, g.user.username, g.actor.groups)[:10]


@bp.route("/inbox")
@login_required
def inbox():
    args = request.args
    view = args.get("view") if args.get("view") in inbox_query.VIEWS else "groups"
    filters = {"process_id": args.get("process") or None, "node_id": args.get("task") or None,
               "due": args.get("due") if args.get("due") in inbox_query.DUE_FILTERS else None,
               "q": (args.get("q") or "").strip()[:100] or None}
    result = inbox_query.inbox(db.session, g.actor, view=view, sort=args.get("sort"),
                               page=_int(args.get("page")), per_page=PER_PAGE, **filters)
    return render_template("inbox.html", view=view, result=result, filters=filters,
                           choices=inbox_query.filter_choices(db.session), link=_link,
                           sorts=inbox_query.SORTS, notifications=_notifications())


def _link(**changes) -> str:
    """This inbox URL with some query arguments changed (None drops one)."""
    args = {k: v for k, v in request.args.items() if v}
    args.update(changes)
    return url_for("web.inbox", **{k: v for k, v in args.items() if v is not None})


def _back(task_id):
    return redirect(safe_next(request.form.get("next")) if request.form.get("next")
                    else url_for("web.task", task_id=task_id))


def _act(task_id, action, done_message):
    """Run an inbox action; a refusal (claimed meanwhile, gone) is a message, not an error page."""
    try:
        action()
    except (engine_errors.EngineError, domain_errors.DomainError) as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        flash(done_message, "success")
    return _back(task_id)


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@login_required
def claim(task_id):
    return _act(task_id, lambda: tasks.claim(db.session, task_id, g.actor),
                "The task is yours now.")


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id):
    return _act(task_id, lambda: tasks.unclaim(db.session, task_id, g.actor),
                "The task is back in the group's queue.")


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@login_required
def delegate(task_id):
    username = request.form.get("to", "").strip()

    def action():
        to = identity.actor_by_username(db.session, username) if username else None
        if to is None:
            raise engine_errors.NotFound("Choose a user to hand the task to.")
        tasks.delegate(db.session, task_id, g.actor, to)
    return _act(task_id, action, f"The task is now with {username}.")


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def notification_read(notification_id):
    from app.domain.notifications import mark_read

    try:
        mark_read(db.session, notification_id, g.user.username, g.actor.groups)
        db.session.commit()
    except domain_errors.NotFound:
        db.session.rollback()
    return redirect(safe_next(request.form.get("next")))
