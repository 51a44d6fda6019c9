from flask_smorest import Blueprint
from sqlalchemy import text

from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness")


@blp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok", "database": db.engine.dialect.name}
