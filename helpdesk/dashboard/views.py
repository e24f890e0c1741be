"""Views of the dashboard blueprint: the view of a period, its exports and its charts.

A period is named by its code in the URL (``/tong-hop/2025-09``, ``/tong-hop/2025-Q3``,
``/tong-hop/2025-H1``, ``/tong-hop/2025-9M``, ``/tong-hop/2025``). ``/tong-hop/`` opens on the
newest month with data; ``?period=CODE``, ``?month=YYYY-MM`` and the page's form (``ky``, a
month, quarter, half, nine months or the year, and ``nam``, the year) redirect to a period's
URL. A malformed or future period is answered 400 with the form shown again and the reason
beside it; exports and charts of such a period are 404.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from .. import exports
from ..access import role_required
from ..periods import PeriodError, ReportPeriod
from ..timeutil import month_of, next_month, previous_month, today_local
from . import bp
from . import format as fmt
from .queries import (
    LATE_CATEGORY,
    Count,
    Dashboard,
    TrendSeries,
    build_period,
    build_trend,
    latest_month,
    trend_window,
)
from .tables import TABLES, build_table

CHARTS = {"doi-tuong": "audience", "nhom": "categories", "cap-don-vi": "levels"}
# The SVG is shown through <img>: its own inline styles need this policy, nothing more.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"

# The form's period choice (``ky``): value -> what the list says. The code is ``nam-ky``
# (``2025-09``, ``2025-Q3``, ``2025-H1``, ``2025-9M``), or the year alone for ``nam``.
MONTH_CHOICES = tuple((f"{m:02d}", f"Tháng {m}") for m in range(1, 13))
QUARTER_CHOICES = (("Q1", "Quý I"), ("Q2", "Quý II"), ("Q3", "Quý III"), ("Q4", "Quý IV"))
HALF_CHOICES = (("H1", "6 tháng đầu năm"), ("H2", "6 tháng cuối năm"))
OTHER_CHOICES = (("9M", "9 tháng"), ("nam", "Cả năm"))
CHOICES = dict(MONTH_CHOICES + QUARTER_CHOICES + HALF_CHOICES + OTHER_CHOICES)


@dataclass(frozen=True)
class PeriodForm:
    """What the period form shows: the chosen ``ky`` and ``nam``, and an error beside them."""

    ky: str
    nam: str
    error: str | None = None
    field: str | None = None  # "ky" or "nam": the field the error is about

    @classmethod
    def of(cls, period: ReportPeriod) -> PeriodForm:
        ky = {
            "month": f"{period.index:02d}",
            "quarter": f"Q{period.index}",
            "half": f"H{period.index}",
            "nine": "9M",
            "year": "nam",
        }[period.kind]
        return cls(ky, str(period.year))


class BadPeriod(Exception):
    """A period the dashboard cannot show; ``form`` says why, beside the field at fault."""

    def __init__(self, form: PeriodForm):
        super().__init__(form.error)
        self.form = form


def default_month() -> str:
    """The newest month with tickets or statistics (not after this one): an imported history
    opens on its own last month. With no data at all, the last complete month."""
    current = month_of(today_local())
    return latest_month(current) or previous_month(current)


def read_period(code: str, form: PeriodForm | None = None) -> ReportPeriod:
    """The period of ``code``; BadPeriod (with ``form``, or the period's own choice, to show
    again) if it is malformed or has not started yet."""
    try:
        period = ReportPeriod.parse(code)
    except PeriodError as exc:
        shown = form or PeriodForm("", str(today_local().year))
        raise BadPeriod(PeriodForm(shown.ky, shown.nam, str(exc), "nam")) from None
    today = today_local()
    if period.is_future(today):
        shown = form or PeriodForm.of(period)
        message = (
            f"{fmt.title(period.label)} chưa bắt đầu (hôm nay là ngày {today:%d/%m/%Y}): "
            "chưa có số liệu để tổng hợp."
        )
        raise BadPeriod(PeriodForm(shown.ky, shown.nam, message, "ky"))
    return period


def _form_code(ky: str, nam: str) -> tuple[str, PeriodForm]:
    """The period code the form's two fields make up; BadPeriod if they make none."""
    if ky not in CHOICES:
        raise BadPeriod(PeriodForm(ky, nam, "Chọn một kỳ trong danh sách.", "ky"))
    if not (nam.isascii() and nam.isdigit() and len(nam) == 4):
        raise BadPeriod(PeriodForm(ky, nam, "Năm phải gồm 4 chữ số, ví dụ 2025.", "nam"))
    return (nam if ky == "nam" else f"{nam}-{ky}"), PeriodForm(ky, nam)


def _valid(code: str) -> ReportPeriod:
    """The period of an export or chart URL; 404 if there is no such page."""
    try:
        return read_period(code)
    except BadPeriod:
        abort(404)


def _build(period: ReportPeriod) -> Dashboard:
    late = current_app.config.get("DASHBOARD_LATE_CATEGORY", LATE_CATEGORY)
    return build_period(period, today_local(), late)


def step(period: ReportPeriod, delta: int) -> ReportPeriod | None:
    """The period of the same kind ``delta`` steps later (earlier when negative); None past
    the years a period may have."""
    try:
        if period.kind == "month":
            month = period.months[0]
            for _ in range(abs(delta)):
                month = next_month(month) if delta > 0 else previous_month(month)
            return ReportPeriod.of_month(month)
        if period.kind in ("quarter", "half"):
            per_year = 4 if period.kind == "quarter" else 2
            n = period.year * per_year + period.index - 1 + delta
            letter = "Q" if period.kind == "quarter" else "H"
            return ReportPeriod.parse(f"{n // per_year}-{letter}{n % per_year + 1}")
        suffix = "-9M" if period.kind == "nine" else ""
        return ReportPeriod.parse(f"{period.year + delta}{suffix}")
    except (PeriodError, ValueError):
        return None


# What url_for leaves unescaped in a query (Werkzeug's: the WHATWG URL standard's set).
URL_SAFE = "!$'()*,/:;?@"


def list_url(params: dict | None) -> str | None:
    """The ticket list filtered by ``params``; None if there is no such filter or list.

    The list's address is built once per request and the query appended as ``url_for`` would
    (the page has ~800 of these links; url_for matched and built the same rule for each).
    """
    if params is None:
        return None
    base = g.get("_ticket_list_url")
    if base is None:
        if "tickets.index" not in current_app.view_functions:
            return None
        base = g._ticket_list_url = url_for("tickets.index")
    items = [(key, value) for key, value in params.items() if value is not None]
    query = urlencode(items, doseq=True, safe=URL_SAFE)
    return f"{base}?{query}" if query else base


def stats_link(period: ReportPeriod, code: str, value: int | None) -> Markup:
    """A procedure figure linked to its unit's row on the month's statistics page; the sum of
    a longer period's months has no page of its own: plain text."""
    text = fmt.num(value, "—")
    if value is None or not period.is_month or "stats.month" not in current_app.view_functions:
        return fmt.link(None, text)
    return fmt.link(url_for("stats.month", month=period.months[0]) + f"#u-{code}", text)


def count_link(count: Count, text: str | None = None) -> Markup:
    """A count as a link to the ticket list showing exactly those tickets.

    A Python function rather than a Jinja macro: the page has ~800 of them.
    """
    return fmt.link(list_url(count.params), fmt.number(count.value) if text is None else text)


def _bad_period(bad: BadPeriod):
    """400: the reason, beside the form filled in as it was sent."""
    return (
        render_template(
            "dashboard/bad_period.html",
            form=bad.form,
            **_form_context(),
            default_url=url_for("dashboard.month"),
        ),
        400,
    )


def _form_context() -> dict:
    return {
        "month_choices": MONTH_CHOICES,
        "quarter_choices": QUARTER_CHOICES,
        "half_choices": HALF_CHOICES,
        "other_choices": OTHER_CHOICES,
        "choice_values": tuple(CHOICES),
        "current_year": today_local().year,
    }


@bp.route("/")
@bp.route("/<period>")
@role_required("supervisor")
def month(period: str | None = None):
    """The dashboard of a period (the endpoint keeps its first name: links point to it)."""
    try:
        if period is None:
            asked = _asked_code()
            if asked is not None:
                code, form = asked
                return redirect(url_for("dashboard.month", period=read_period(code, form).code))
            chosen = ReportPeriod.of_month(default_month())
        else:
            chosen = read_period(period)
    except BadPeriod as bad:
        return _bad_period(bad)
    if period is not None and chosen.code != period:
        # 2025-q3 and 2025-9m are read; the page has one address.
        return redirect(url_for("dashboard.month", period=chosen.code))
    dashboard = _build(chosen)
    after = step(chosen, 1)
    return render_template(
        "dashboard/month.html",
        d=dashboard,
        f=fmt,
        n=count_link,
        stat=stats_link,
        chart_url=chart_url,
        tables=TABLES,
        charts=CHARTS,
        form=PeriodForm.of(chosen),
        before=step(chosen, -1),
        after=after if after is not None and not after.is_future(today_local()) else None,
        **_form_context(),
    )


def _asked_code() -> tuple[str, PeriodForm | None] | None:
    """The period the query string asks for (``period``, ``month``, or the form's ``ky`` and
    ``nam``), or None when it asks for none."""
    args = request.args
    for name in ("period", "month"):
        value = (args.get(name) or "").strip()
        if value:
            return value, None
    ky, nam = (args.get("ky") or "").strip(), (args.get("nam") or "").strip()
    if "ky" in args or "nam" in args:
        return _form_code(ky, nam)
    return None


@bp.route("/<period>/xuat/<table>.<kind>")
@role_required("supervisor")
def export(period: str, table: str, kind: str):
    if table not in TABLES or kind not in ("csv", "xlsx"):
        abort(404)
    chosen = _valid(period)
    dashboard = _build(chosen)
    if table == "quan-huyen" and not dashboard.by_district:
        abort(404)  # a period without districts has no district table
    data = build_table(dashboard, table)
    name = f"tong-hop-{chosen.code}-{table}.{kind}"
    if kind == "csv":
        body, mimetype = exports.csv_bytes(data.headers, data.rows), "text/csv"
    else:
        body = exports.xlsx_bytes(data.headers, data.rows, title=data.title)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# What a chart says when its 12 months have no line to draw (no category has a ticket).
EMPTY_CHART = "Không có yêu cầu nào trong 12 tháng này"


@bp.route("/<period>/bieu-do/<chart>.svg")
@role_required("supervisor")
def chart(period: str, chart: str):
    """A trend chart: the 12 months ending with the period's last month. ``d`` (signed by the
    page) carries its figures: no query at all."""
    from .charts import line_chart

    if chart not in CHARTS:
        abort(404)
    chosen = _valid(period)
    last = chosen.months[-1]
    series = _signed_series(request.args.get("d"), chosen.code, chart, last)
    immutable = series is not None
    if series is None:  # no or bad token: read the figures again
        trend = build_trend(last)
        picked = _chart_series(chart, trend.audience, trend.categories, trend.total, trend.levels)
        series = tuple((s.label, s.values()) for s in picked)
    label = fmt.month_short(last)
    kind = CHARTS[chart]
    title = {
        "audience": f"Yêu cầu hỗ trợ theo đối tượng, 12 tháng đến {label}",
        "categories": f"Các nhóm yêu cầu nhiều nhất, 12 tháng đến {label}",
        "levels": f"Yêu cầu theo cấp đơn vị, 12 tháng đến {label}",
    }[kind]
    svg = line_chart(trend_window(last), series, title, empty=EMPTY_CHART)
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


def chart_url(d: Dashboard, chart: str) -> str:
    """The chart's URL with its figures signed in: the browser fetches it without a query."""
    picked = _chart_series(
        chart, d.trend_audience, d.trend_categories, d.trend_total, d.trend_levels
    )
    token = _serializer().dumps([d.code, chart, [[s.label, list(s.values())] for s in picked]])
    return url_for("dashboard.chart", period=d.code, chart=chart, d=token)


def _signed_series(token: str | None, code: str, chart: str, last: str):
    if not token:
        return None
    try:
        signed_code, signed_chart, series = _serializer().loads(token)
        result = tuple(
            (str(label), tuple(None if v is None else int(v) for v in values))
            for label, values in series
        )
    except (BadSignature, TypeError, ValueError):
        return None
    if (signed_code, signed_chart) != (code, chart):
        return None
    if any(len(values) != len(trend_window(last)) for _label, values in result):
        return None
    return result
