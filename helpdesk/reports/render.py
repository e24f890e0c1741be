"""Lay a ReportDocument out as HTML, PDF (WeasyPrint) or DOCX (python-docx).

The renderers add no text of their own beyond the layout: every word comes from the document.
"""

from __future__ import annotations

import base64
import mimetypes
from functools import lru_cache
from pathlib import Path

from flask import current_app

from .charts import chart_svg, parts
from .document import ReportDocument

STYLESHEETS = ("report.css", "report-print.css")
# The PDF refers to its charts by this scheme; the fetcher hands WeasyPrint the cached SVG
# (a 100 KB data: URI would cost the HTML parser more than drawing the chart).
CHART_SCHEME = "report-chart"


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


def _fetcher(doc: ReportDocument | None = None):
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
                        svg = chart_svg(chart, int(part))
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


def pdf_stylesheets() -> list:
    root = static_dir()
    stamp = tuple((root / name).stat().st_mtime_ns for name in STYLESHEETS)
    return _stylesheets(str(root), stamp)


def render_pdf(doc: ReportDocument) -> bytes:
    """The PDF: A4, NĐ 30/2020 margins, fonts embedded; only our static files are fetched."""
    from weasyprint import HTML

    sources = {
        b.chart.key: [f"{CHART_SCHEME}:{b.chart.key}/{part}" for part in range(parts(b.chart))]
        for b in doc.blocks
        if b.chart
    }
    html = _render_template(doc=doc, chart_src=sources, inline_css=None)
    base_url = static_dir().as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=_fetcher(doc))
    return document.write_pdf(stylesheets=pdf_stylesheets())
