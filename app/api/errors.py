"""Every error as JSON {"error", "message", "details"} with a 4xx status; never a traceback."""
import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from app.domain import errors as domain_errors
from app.engine import errors as engine_errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR = {
    engine_errors.NotFound: 404,
    engine_errors.Forbidden: 403,
    engine_errors.InvalidState: 409,
    engine_errors.InvalidInput: 422,
    engine_errors.DeploymentRejected: 422,
    domain_errors.NotFound: 404,
    domain_errors.Invalid: 422,
    domain_errors.Conflict: 409,
}


def error_response(status: int, error: str, message: str, details=None):
    response = jsonify({"error": error, "message": message, "details": details})
    response.status_code = status
    return response


def handle_engine_error(err):
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(err, cls)), 400)
    return error_response(status, err.code, err.message, err.details)


def handle_http_exception(err: HTTPException):
    data = getattr(err, "data", None) or {}
    details = data.get("messages") or data.get("errors")
    if isinstance(details, dict) and set(details) <= {"json", "query", "form", "files", "view_args"}:
        # webargs nests messages by location; one location is the common case.
        details = next(iter(details.values())) if len(details) == 1 else details
    name = (err.name or "error").lower().replace(" ", "_")
    message = data.get("message") or err.description or err.name
    if err.code == 422 and details:
        message = "the request has invalid fields"
    return error_response(err.code or 500, name, message, details)


def handle_unexpected(err: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal_error", "an internal error occurred; it was logged")


def register(app, api):
    app.register_error_handler(engine_errors.EngineError, handle_engine_error)
    app.register_error_handler(domain_errors.DomainError, handle_engine_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
