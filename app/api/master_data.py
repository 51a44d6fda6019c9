"""(being written)"""
from flask_smorest import Blueprint

blp = Blueprint("master_data", __name__, description="master_data")
