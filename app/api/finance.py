"""(being written)"""
from flask_smorest import Blueprint

blp = Blueprint("finance", __name__, description="finance")
