"""Placeholder: filled in by the issue 6 work."""
from flask_smorest import Blueprint

blp = Blueprint("counting", __name__, url_prefix="/api")
