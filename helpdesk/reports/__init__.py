from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/bao-cao")

from . import views  # noqa: E402,F401
