"""The one blueprint of the HTML pages; the page modules add their routes to it."""
from flask import Blueprint

bp = Blueprint("web", __name__)
