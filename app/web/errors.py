"""Error pages: a bad id or a stale link gets a readable page with the right status, never a 500
with a traceback, and never the API's JSON."""
import logging

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.domain import errors as domain_errors
from app.engine import errors as engine_errors
from app.extensions import db
from app.web.blueprint import bp

log = logging.getLogger(__name__)

TITLES = {
    400: "The request could not be used",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Already changed",
    413: "Too large",
    500: "Something went wrong",
}

STATUS_BY_ERROR = (
    (engine_errors.NotFound, 404), (domain_errors.NotFound, 404),
    (engine_errors.Forbidden, 403),
    (engine_errors.InvalidState, 409), (domain_errors.Conflict, 409),
    (engine_errors.InvalidInput, 400), (domain_errors.Invalid, 400),
)


def render_error(status: int, message: str | None = None):
    return render_template("error.html", status=status,
                           title=TITLES.get(status, "Error"), message=message), status


# Registered on the pages' blueprint (once, at import): the API keeps its JSON error handlers.
@bp.errorhandler(CSRFError)
def csrf_failed(err):
    return render_error(400, "The form had expired or was not sent from this site. "
                             "Go back, reload the page and try again.")


@bp.errorhandler(HTTPException)
def http_error(err):
    return render_error(err.code or 500, err.description)


@bp.errorhandler(engine_errors.EngineError)
@bp.errorhandler(domain_errors.DomainError)
def known_error(err):
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(err, cls)), 400)
    return render_error(status, err.message)


@bp.errorhandler(Exception)
def unexpected(err):
    log.exception("unhandled error on a page")
    db.session.rollback()
    return render_error(500, "The error was logged. Try again, or go back to your inbox.")
