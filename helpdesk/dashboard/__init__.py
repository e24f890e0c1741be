from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/tong-hop")

from . import views  # noqa: E402,F401
