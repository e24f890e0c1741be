"""Lay a ReportDocument out as HTML, PDF (WeasyPrint) or DOCX (python-docx).

The renderers add no text of their own beyond the layout: every word comes from the document.
"""

from __future__ import annotations

import base64
import mimetypes
from functools import lru_cache
from pathlib import Path

import click
from flask import current_app

from .. import fonts
from .builder import ReportError
from .charts import chart_svg, parts
from .document import Chart, ReportDocument, unbreakable

STYLESHEETS = ("report.css", "report-print.css")
# The PDF refers to its charts by this scheme; the fetcher hands WeasyPrint the cached SVG
# (a 100 KB data: URI would cost the HTML parser more than drawing the chart).
CHART_SCHEME = "report-chart"


class FontMissingError(ReportError, click.ClickException):
    """No Times New Roman or metric twin: the PDF would not be the official layout, so it is
    not built. The message (``fonts.INSTALL_HINT``) says how to install the font. The pages
    show it as any ReportError; a command that does not catch it prints it and exits with
    status 1 (a ClickException), never a traceback."""

    def __init__(self) -> None:
        super().__init__(fonts.INSTALL_HINT)


def static_dir() -> Path:
    return Path(current_app.static_folder).resolve()


def chart_sources(doc: ReportDocument) -> dict[str, list[str]]:
    """Each chart's pictures (one, or several for a long chart) as ``data:`` URIs (allowed by
    the CSP's img-src, and self-contained)."""
    sources = {}
    for block in doc.blocks:
        if block.chart is not None:
            sources[block.chart.key] = [
                "data:image/svg+xml;base64,"
                + base64.b64encode(chart_svg(block.chart, part)).decode("ascii")
                for part in range(parts(block.chart))
            ]
    return sources


def _inline_css() -> str:
    return "\n".join((static_dir() / name).read_text(encoding="utf-8") for name in STYLESHEETS)


def _render_template(**context) -> str:
    """The report template alone: no request, no app context processors (works in the CLI)."""
    template = current_app.jinja_env.get_template("reports/report.html")
    return template.render(editable=False, **context)


def render_html(doc: ReportDocument) -> str:
    """A standalone HTML file: styles and charts inline, readable offline."""
    return _render_template(doc=doc, chart_src=chart_sources(doc), inline_css=_inline_css())


def _chart_pictures(doc: ReportDocument) -> list[tuple[Chart, int]]:
    return [(b.chart, part) for b in doc.blocks if b.chart for part in range(parts(b.chart))]


def _draw_charts(pictures: list[tuple[Chart, int]]) -> dict[tuple[str, int], bytes]:
    return {(chart.key, part): chart_svg(chart, part) for chart, part in pictures}


class _ChartsAside:
    """Charts drawn in a forked process that sends them through a pipe and ends (the process
    ends by itself: nothing is left behind when the command then skips the teardown)."""

    def __init__(self, pictures: list[tuple[Chart, int]]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_send_charts, args=(pictures, writer, self._reader), daemon=True
        )
        self._process.start()
        writer.close()
        self._drawn: dict | None = None

    def result(self, timeout: float) -> dict:
        if self._drawn is None:
            self._drawn = {}
            try:
                if self._reader.poll(timeout):
                    self._drawn = self._reader.recv()
            finally:
                self._reader.close()
                self._process.join(5)
                if self._process.is_alive():
                    self._process.kill()
        return self._drawn


def _send_charts(pictures: list[tuple[Chart, int]], writer, reader) -> None:
    reader.close()  # the parent's end: were the parent gone, a send would fail, not hang
    writer.send(_draw_charts(pictures))
    writer.close()


def draw_charts_aside(doc: ReportDocument) -> _ChartsAside | None:
    """Start drawing the document's charts in a forked process.

    For a one-off process (``flask report build``): matplotlib's import and the drawing (about
    half a second each on a 2-core machine) then run beside WeasyPrint's import and layout
    instead of before them. A server keeps both loaded and its charts cached, and never forks
    per request. None where fork is not available, or where another thread runs (a forked
    child could wait forever on a lock that thread held): the charts are then drawn here.
    """
    import multiprocessing
    import threading

    pictures = _chart_pictures(doc)
    if not pictures or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if threading.active_count() > 1:
        return None
    return _ChartsAside(pictures)


def _fetcher(doc: ReportDocument | None = None, drawn=None):
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    root = static_dir()
    charts = {b.chart.key: b.chart for b in doc.blocks if b.chart is not None} if doc else {}

    class StaticOnlyFetcher(URLFetcher):
        """Serve the app's own static files and the document's charts; refuse everything else."""

        def __init__(self):
            super().__init__(allowed_protocols=("file", "data", CHART_SCHEME), fail_on_errors=True)

        def fetch(self, url, headers=None):
            if url.startswith(f"{CHART_SCHEME}:"):
                key, _, part = url.partition(":")[2].partition("/")
                chart = charts.get(key)
                if chart is not None and part.isascii() and part.isdigit():
                    if int(part) < parts(chart):
                        svg = _drawn(drawn).get((key, int(part))) or chart_svg(chart, int(part))
                        headers = {"Content-Type": "image/svg+xml"}
                        return URLFetcherResponse(url, svg, headers=headers)
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if path.is_relative_to(root) and path.is_file():
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        url, path.read_bytes(), headers={"Content-Type": kind}
                    )
            raise FatalURLFetchingError(f"refused to fetch {url[:80]}")

    return StaticOnlyFetcher()


@lru_cache(maxsize=4)
def _stylesheets(root: str, stamp: tuple) -> list:
    """Parsed report stylesheets, kept between renders (compiling selectors is costly)."""
    from weasyprint import CSS

    return [CSS(filename=str(Path(root) / name), url_fetcher=_fetcher()) for name in STYLESHEETS]


@lru_cache(maxsize=4)
def _family_stylesheet(family: str):
    """The face found put first in every font list of the PDF (report.css names Times New
    Roman and Liberation Serif; Tinos, the third twin, comes only through this)."""
    from weasyprint import CSS

    name = family.replace('"', "")
    return CSS(
        string=f"""
        .report-doc, .report-doc * {{ font-family: "{name}", "Times New Roman", serif; }}
        @page {{ @top-center {{ font-family: "{name}", "Times New Roman", serif; }} }}
        """
    )


def pdf_stylesheets(family: str | None = None) -> list:
    root = static_dir()
    stamp = tuple((root / name).stat().st_mtime_ns for name in STYLESHEETS)
    sheets = _stylesheets(str(root), stamp)
    return [*sheets, _family_stylesheet(family)] if family else sheets


def _drawn(aside: _ChartsAside | None) -> dict:
    """The SVGs drawn aside, or nothing (drawn here instead) if that process failed."""
    if aside is None:
        return {}
    try:
        return aside.result(timeout=60)
    except Exception:  # noqa: BLE001 - a lost helper process only costs the time
        return {}


def render_pdf(doc: ReportDocument, charts_aside: bool = False) -> bytes:
    """The PDF: A4, NĐ 30/2020 margins, fonts embedded; only our static files are fetched.

    ``charts_aside``: draw the charts in a forked process meanwhile (draw_charts_aside).

    Raises FontMissingError (a ReportError) when Times New Roman or a metric twin is missing:
    a different face would silently change every line break (the national name would wrap).
    """
    drawn = draw_charts_aside(doc) if charts_aside else None
    from weasyprint import HTML

    try:
        family = fonts.require_report_font()
    except fonts.FontMissing as exc:
        raise FontMissingError() from exc
    sources = {
        b.chart.key: [f"{CHART_SCHEME}:{b.chart.key}/{part}" for part in range(parts(b.chart))]
        for b in doc.blocks
        if b.chart
    }
    html = _render_template(doc=doc, chart_src=sources, inline_css=None, unbreakable=unbreakable)
    base_url = static_dir().as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=_fetcher(doc, drawn))
    try:
        return document.write_pdf(stylesheets=pdf_stylesheets(family))
    finally:
        _drawn(drawn)  # the helper process is reaped whatever happened
