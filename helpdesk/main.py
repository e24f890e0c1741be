"""The home page: where each role starts its day."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from .access import role_required

bp = Blueprint("main", __name__)


@bp.route("/")
@role_required()
def home():
    from flask import current_app

    # Operators start on quick entry, supervisors on the month's overview, once they exist.
    starts = {"operator": ("tickets.quick",), "unit_staff": ("unitdesk.index",)}
    for endpoint in starts.get(current_user.role, ()):
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("main/home.html")
