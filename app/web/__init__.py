"""HTML pages: login, the task inbox, the task form, the order page.

Session auth by hand (``session["user_id"]``); CSRF from Flask-WTF on every form of these pages.
The JSON API under /api/ uses bearer tokens, so CSRF is not checked there.
"""
from datetime import timedelta

from flask import g, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

csrf = CSRFProtect()

SESSION_HOURS = 8


def init_web(app):
    _session_settings(app)
    # Checked by our own hook below, so the bearer-token API is left out by path: every API
    # blueprint, present and future, lives under /api/.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # The token lives as long as the session (8 h), not Flask-WTF's default hour: a form left
    # open over lunch still submits.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.before_request
    def _check_csrf():
        # Flask-WTF caches the token on g for one request. Requests made inside an outer app
        # context (the test client in the test suite) share g, so drop a token left over.
        g.pop(app.config["WTF_CSRF_FIELD_NAME"], None)
        if app.config.get("WTF_CSRF_ENABLED", True) and not request.path.startswith("/api/"):
            csrf.protect(apply_exemptions=True)

    from app.web import (  # noqa: F401  (each module adds its routes to bp)
        auth, dashboard, errors, filters, inbox, orders, reports, returns, supply, survey,
        task_page)
    from app.web.blueprint import bp

    filters.register(app)
    app.register_blueprint(bp)
    _html_for_unknown_pages(app)


def _session_settings(app):
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if app.config.get("PERMANENT_SESSION_LIFETIME") == timedelta(days=31):  # Flask's default
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)


def _html_for_unknown_pages(app):
    """An unknown URL outside /api/ gets the HTML 404 page; the API keeps its JSON errors."""
    from app.web.errors import render_error

    api_handler = app.error_handler_spec[None][None].get(HTTPException)

    def handle(err: HTTPException):
        if api_handler is not None and (request.url_rule is not None
                                        or request.path.startswith("/api/")):
            return api_handler(err)
        return render_error(err.code or 500, err.description)

    app.register_error_handler(HTTPException, handle)
