"""(being written)"""
from flask_smorest import Blueprint

blp = Blueprint("stock", __name__, description="stock")
