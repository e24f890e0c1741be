"""The units' desk: what unit staff (cán bộ đơn vị) see of the requests forwarded to them."""

from flask import Blueprint

bp = Blueprint("unitdesk", __name__, url_prefix="/yeu-cau-chuyen-den")

from . import views  # noqa: E402,F401
