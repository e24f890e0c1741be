"""Views of the dashboard blueprint: the month view, its exports and its charts."""

from __future__ import annotations

import hashlib

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from .. import exports
from ..access import role_required
from ..timeutil import month_of, next_month, parse_month, previous_month, today_local
from . import bp
from . import format as fmt
from .queries import (
    LATE_CATEGORY,
    Count,
    MonthDashboard,
    TrendSeries,
    build_month,
    build_trend,
    latest_month,
    trend_window,
)
from .tables import TABLES, build_table

CHARTS = {"doi-tuong": "audience", "nhom": "categories", "cap-don-vi": "levels"}
# The SVG is shown through <img>: its own inline styles need this policy, nothing more.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def default_month() -> str:
    """The newest month with tickets or statistics (not after this one): an imported history
    opens on its own last month. With no data at all, the last complete month."""
    current = month_of(today_local())
    return latest_month(current) or previous_month(current)


def _build(month: str):
    late = current_app.config.get("DASHBOARD_LATE_CATEGORY", LATE_CATEGORY)
    return build_month(_valid_month(month), today_local(), late)


def _valid_month(month: str) -> str:
    try:
        parse_month(month)
    except ValueError:
        abort(404)
    return month


def list_url(params: dict | None) -> str | None:
    """The ticket list filtered by ``params``; None if there is no such filter or list."""
    if params is None or "tickets.index" not in current_app.view_functions:
        return None
    return url_for("tickets.index", **params)


def stats_link(month: str, code: str, value: int | None) -> Markup:
    """A procedure figure linked to its unit's row on the month's statistics page."""
    text = fmt.num(value, "—")
    if value is None or "stats.month" not in current_app.view_functions:
        return fmt.link(None, text)
    return fmt.link(url_for("stats.month", month=month) + f"#u-{code}", text)


def count_link(count: Count, text: str | None = None) -> Markup:
    """A count as a link to the ticket list showing exactly those tickets.

    A Python function rather than a Jinja macro: the page has ~800 of them.
    """
    return fmt.link(list_url(count.params), fmt.number(count.value) if text is None else text)


@bp.route("/")
@bp.route("/<month>")
@role_required("supervisor")
def month(month: str | None = None):
    if month is None:
        asked = (request.args.get("month") or "").strip()
        if asked:
            return redirect(url_for("dashboard.month", month=_valid_month(asked)))
        month = default_month()
    dashboard = _build(month)
    current = month_of(today_local())
    return render_template(
        "dashboard/month.html",
        d=dashboard,
        f=fmt,
        n=count_link,
        stat=stats_link,
        chart_url=chart_url,
        tables=TABLES,
        charts=CHARTS,
        next_month=next_month(month) if month < current else None,
        current_month=current,
    )


@bp.route("/<month>/xuat/<table>.<kind>")
@role_required("supervisor")
def export(month: str, table: str, kind: str):
    if table not in TABLES or kind not in ("csv", "xlsx"):
        abort(404)
    dashboard = _build(month)
    if table == "quan-huyen" and not dashboard.by_district:
        abort(404)  # a month without districts has no district table
    data = build_table(dashboard, table)
    name = f"tong-hop-{month}-{table}.{kind}"
    if kind == "csv":
        body, mimetype = exports.csv_bytes(data.headers, data.rows), "text/csv"
    else:
        body = exports.xlsx_bytes(data.headers, data.rows, title=data.title)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.route("/<month>/bieu-do/<chart>.svg")
@role_required("supervisor")
def chart(month: str, chart: str):
    """A trend chart. ``d`` (signed by the month view) carries its figures: no query at all."""
    from .charts import line_chart

    if chart not in CHARTS:
        abort(404)
    _valid_month(month)
    series = _signed_series(request.args.get("d"), month, chart)
    immutable = series is not None
    if series is None:  # no or bad token: read the figures again
        trend = build_trend(month)
        picked = _chart_series(chart, trend.audience, trend.categories, trend.total, trend.levels)
        series = tuple((s.label, s.values()) for s in picked)
    label = fmt.month_short(month)
    title = {
        "audience": f"Yêu cầu hỗ trợ theo đối tượng, 12 tháng đến {label}",
        "categories": f"Các nhóm yêu cầu nhiều nhất, 12 tháng đến {label}",
        "levels": f"Yêu cầu theo cấp đơn vị, 12 tháng đến {label}",
    }[CHARTS[chart]]
    svg = line_chart(trend_window(month), series, title)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    # A signed URL always draws the same chart; without one the figures may have changed.
    response.headers["Cache-Control"] = (
        "private, max-age=86400, immutable" if immutable else "private, no-cache"
    )
    response.set_etag(hashlib.sha256(svg).hexdigest()[:32])
    return response.make_conditional(request)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="dashboard-chart")


def _chart_series(
    chart: str,
    audience: tuple[TrendSeries, ...],
    categories: tuple[TrendSeries, ...],
    total: TrendSeries,
    levels: tuple[TrendSeries, ...],
) -> tuple[TrendSeries, ...]:
    """What a chart draws: the audiences; the top categories; or the city total (continuous
    across the reorganisations) with one line per unit level (gaps where it did not exist)."""
    kind = CHARTS[chart]
    if kind == "audience":
        return audience
    if kind == "categories":
        return categories
    return (total, *levels)


def chart_url(d: MonthDashboard, chart: str) -> str:
    """The chart's URL with its figures signed in: the browser fetches it without a query."""
    picked = _chart_series(
        chart, d.trend_audience, d.trend_categories, d.trend_total, d.trend_levels
    )
    token = _serializer().dumps([d.month, chart, [[s.label, list(s.values())] for s in picked]])
    return url_for("dashboard.chart", month=d.month, chart=chart, d=token)


def _signed_series(token: str | None, month: str, chart: str):
    if not token:
        return None
    try:
        signed_month, signed_chart, series = _serializer().loads(token)
        result = tuple(
            (str(label), tuple(None if v is None else int(v) for v in values))
            for label, values in series
        )
    except (BadSignature, TypeError, ValueError):
        return None
    if (signed_month, signed_chart) != (month, chart):
        return None
    if any(len(values) != len(trend_window(month)) for _label, values in result):
        return None
    return result
