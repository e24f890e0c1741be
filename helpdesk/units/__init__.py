from flask import Blueprint

bp = Blueprint("units", __name__, url_prefix="/don-vi")

from . import views  # noqa: E402,F401
