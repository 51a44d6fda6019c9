"""Bearer-token authentication for /api/*, and the group checks the views use."""
from functools import wraps

from flask import g, request
from werkzeug.local import LocalProxy

from app import identity
from app.api.errors import error_response
from app.extensions import db
from app.models.identity import User

PUBLIC_API_PATHS = ()


def authenticate():
    if not request.path.startswith("/api/") or request.path in PUBLIC_API_PATHS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response = error_response(401, "unauthorized", "a bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="orderflow"'
        return response
    found = identity.actor_for_token(db.session, token.strip())
    if found is None:
        response = error_response(401, "unauthorized", "the token is invalid or revoked")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    user_id, g.actor = found
    g.user = LocalProxy(lambda: db.session.get(User, user_id))  # loaded only if a view asks
    return None


def require_group(*groups):
    """Only members of one of ``groups`` (or admins) may call the view."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = g.actor
            if not actor.is_admin and not set(groups) & set(actor.groups):
                return error_response(403, "forbidden",
                                      f"requires membership of one of: {', '.join(groups)}")
            return view(*args, **kwargs)
        return wrapper
    return decorate
