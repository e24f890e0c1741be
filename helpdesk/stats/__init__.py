from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/so-lieu")

from . import views  # noqa: E402,F401
