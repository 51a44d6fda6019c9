"""(being written)"""
from flask_smorest import Blueprint

blp = Blueprint("mrp", __name__, description="mrp")
