"""Session login for the pages: who is signed in, the login and logout views, a guard."""
from functools import wraps
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for

from app import identity
from app.extensions import db
from app.models.identity import User
from app.web.blueprint import bp


@bp.before_app_request
def load_user():
    """g.user / g.actor for a signed-in user; a deactivated or deleted user is signed out."""
    if request.path.startswith(("/api/", "/static/")):
        return  # the API authenticates with bearer tokens and sets g.actor itself
    g.user = g.actor = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        session.clear()
        return
    g.user, g.actor = user, identity.actor_for(user)


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect to another host is refused."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("web.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.user is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    user = identity.check_password(db.session, username, request.form.get("password", ""))
    if user is None:
        return render_template("login.html", next=request.form.get("next", ""),
                               username=username,
                               error="Unknown user or wrong password."), 200
    session.clear()  # a fresh session on sign-in: nothing carried over from before
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME (8 h)
    session["user_id"] = user.id
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))


@bp.route("/")
def index():
    return redirect(url_for("web.inbox"))
