from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")

from . import answers, desk, views  # noqa: E402,F401
