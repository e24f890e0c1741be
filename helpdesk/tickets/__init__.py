from flask import Blueprint

bp = Blueprint("tickets", __name__, url_prefix="/yeu-cau")

from . import answers, views  # noqa: E402,F401
