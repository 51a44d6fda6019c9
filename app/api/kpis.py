"""(being written)"""
from flask_smorest import Blueprint

blp = Blueprint("kpis", __name__, description="kpis")
