"""Received vs online bar charts for section 1: SVG for HTML/PDF, PNG for DOCX.

matplotlib with the Agg/SVG backends through the object API (no pyplot, no global state).
Output is deterministic: a fixed SVG hash salt, no dates or software tags in the metadata.
Text stays text (``svg.fonttype`` none) in the report's serif face, which the PDF embeds anyway.
The SVG is then made lean (``lean_svg``): matplotlib wraps every line, tick and label in a group
of its own, which WeasyPrint then walks one by one.

A chart of up to ``SINGLE_MAX`` units is one picture with one row per unit (every chart of a
2023 report). A longer one (the 114 communes of a month without districts) is drawn as several
pictures (``parts``), each of two columns of at most ``COLUMN_ROWS`` units, read down the first
column then the second, all on the same scale: each picture is as tall as the 2023 department
chart, so the labels keep their size and a picture never has to be cut at a page end.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from ..formatting import number
from .document import Chart, ChartRow

RECEIVED_COLOUR = "#9db4d0"
ONLINE_COLOUR = "#12355b"
RC = {
    "font.family": "serif",
    # Times New Roman where it is installed, else its metric twin with full Vietnamese coverage.
    "font.serif": ["Times New Roman", "Liberation Serif", "Tinos", "DejaVu Serif"],  # digits only
    "font.size": 9,
    "svg.fonttype": "none",
    "svg.hashsalt": "helpdesk-report",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
WIDTH_IN = 6.4  # about the text width of an A4 page with 30/15 mm margins
SINGLE_MAX = 24  # up to this many units: one picture, one column
COLUMN_ROWS = 19  # in a longer chart: units per column (two columns per picture)
FAMILIES = ("Times New Roman", "Liberation Serif", "Tinos")  # as helpdesk.fonts
# Letters that only a font with full Vietnamese coverage has (Liberation 1.x lacks them).
VIETNAMESE_PROBE = "ởộươậảụạệểềịọờựếầỦốồủĐđ"


@lru_cache(maxsize=1)
def vietnamese_font() -> str | None:
    """The regular face of Times New Roman, else Liberation Serif, that covers Vietnamese.

    Both Liberation 1.x (no Vietnamese) and 2.x may be installed under the same family name;
    matplotlib would pick either, so the file is chosen by its coverage.
    """
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    candidates = [
        entry
        for entry in font_manager.fontManager.ttflist
        if entry.name in FAMILIES and entry.style == "normal" and entry.weight in (400, "normal")
    ]
    candidates.sort(key=lambda entry: FAMILIES.index(entry.name))
    for entry in candidates:
        with TTFont(entry.fname, lazy=True) as font:
            cmap = font.getBestCmap()
        if all(ord(ch) in cmap for ch in VIETNAMESE_PROBE):
            return entry.fname
    return None


@lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, int], int]:
    """Advance widths by code point of the chart font, and its units per em."""
    from fontTools.ttLib import TTFont

    path = vietnamese_font()
    if path is None:
        return {}, 1000
    with TTFont(path) as font:
        metrics = font["hmtx"].metrics
        widths = {cp: metrics[name][0] for cp, name in font.getBestCmap().items()}
        return widths, font["head"].unitsPerEm


def _text_width_pt(text: str, size: float) -> float:
    widths, per_em = _advances()
    return sum(widths.get(ord(ch), per_em // 2) for ch in text) * size / per_em


def _reported(chart: Chart) -> list[ChartRow]:
    """The rows a chart draws: the units that reported (the table lists every unit)."""
    return [r for r in chart.rows if r.received is not None]


def _split(items: list, count: int) -> list[list]:
    """``items`` in ``count`` consecutive runs whose lengths differ by one at most."""
    size, extra = divmod(len(items), count)
    runs, start = [], 0
    for index in range(count):
        stop = start + size + (1 if index < extra else 0)
        runs.append(items[start:stop])
        start = stop
    return runs


def parts(chart: Chart) -> int:
    """How many pictures draw the chart."""
    rows = len(_reported(chart))
    return 1 if rows <= SINGLE_MAX else math.ceil(rows / (2 * COLUMN_ROWS))


def _columns(chart: Chart, part: int) -> list[list[ChartRow]]:
    """The columns of one picture: the long chart's rows cut into pictures, then columns."""
    rows = _reported(chart)
    if len(rows) <= SINGLE_MAX:
        return [rows]
    picture = _split(rows, parts(chart))[part]
    return [column for column in _split(picture, 2) if column]


def _figure(chart: Chart, part: int = 0):
    if len(_reported(chart)) > SINGLE_MAX:
        return _columns_figure(chart, part)
    return _single_figure(chart)


def _fonts():
    """matplotlib (Agg) and the chart fonts: 9 pt labels, 7.5 pt figures."""
    import logging

    import matplotlib

    matplotlib.use("Agg", force=False)
    # matplotlib logs (not warns) each missing family it falls back from; that is expected.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib.font_manager import FontProperties

    # family is what the SVG names (its renderer picks the face); fname is what matplotlib
    # measures with and what the PNG draws with.
    font = FontProperties(family="serif", fname=vietnamese_font(), size=9)
    small = font.copy()
    small.set_size(7.5)
    return matplotlib, font, small


def _single_figure(chart: Chart):
    matplotlib, font, small = _fonts()
    from matplotlib.figure import Figure

    rows = _reported(chart)
    labels = [r.label for r in rows]
    received = [r.received or 0 for r in rows]
    online = [r.online or 0 for r in rows]
    with matplotlib.rc_context(RC):
        height = _height(len(rows))
        fig = Figure(figsize=(WIDTH_IN, height))
        # Margins computed from the font's advance widths: cheaper than tight_layout, which
        # draws the whole figure once more just to measure it.
        label_in = (max((_text_width_pt(t, 9) for t in labels), default=0) + 8) / 72
        left = min(label_in / WIDTH_IN, 0.5)
        bottom, top_margin = 0.3 / height, 0.3 / height
        ax = fig.add_axes((left, bottom, 0.985 - left, 1 - bottom - top_margin))
        positions = list(range(len(rows)))
        bar = 0.42
        ax.barh(
            [p - bar / 2 for p in positions],
            received,
            height=bar,
            color=RECEIVED_COLOUR,
            label="Hồ sơ tiếp nhận",
        )
        ax.barh(
            [p + bar / 2 for p in positions],
            online,
            height=bar,
            color=ONLINE_COLOUR,
            label="Hồ sơ trực tuyến",
        )
        ax.set_yticks(positions, labels, fontproperties=font)
        ax.invert_yaxis()
        top = max(received + online + [1])
        ax.set_xlim(0, top * 1.16)
        for p, value in zip(positions, received, strict=True):
            ax.text(
                value + top * 0.01, p - bar / 2, number(value), va="center", fontproperties=small
            )
        ax.xaxis.set_major_formatter(lambda value, _pos: number(int(value)))
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right", frameon=False, ncols=2, bbox_to_anchor=(1, 1), prop=font)
    return fig, matplotlib.rc_context(RC)


def _columns_figure(chart: Chart, part: int):
    """One picture of a long chart: two columns of units side by side, on the chart's scale."""
    matplotlib, font, small = _fonts()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    everything = _reported(chart)
    columns = _columns(chart, part)
    top = max([r.received or 0 for r in everything] + [r.online or 0 for r in everything] + [1])
    # The same label width in every picture: the columns line up from one picture to the next.
    label_in = (max(_text_width_pt(r.label, 9) for r in everything) + 8) / 72
    with matplotlib.rc_context(RC):
        height = _height(COLUMN_ROWS if parts(chart) > 1 else max(map(len, columns)))
        fig = Figure(figsize=(WIDTH_IN, height))
        bottom, top_margin = 0.3 / height, 0.3 / height
        column_in = WIDTH_IN / 2
        bar = 0.42
        for index, rows in enumerate(columns):
            left = (index * column_in + label_in) / WIDTH_IN
            width = (column_in - label_in - 0.12) / WIDTH_IN
            ax = fig.add_axes((left, bottom, width, 1 - bottom - top_margin))
            positions = list(range(len(rows)))
            received = [r.received or 0 for r in rows]
            online = [r.online or 0 for r in rows]
            low = [p - bar / 2 for p in positions]
            high = [p + bar / 2 for p in positions]
            ax.barh(low, received, height=bar, color=RECEIVED_COLOUR, label="Hồ sơ tiếp nhận")
            ax.barh(high, online, height=bar, color=ONLINE_COLOUR, label="Hồ sơ trực tuyến")
            ax.set_yticks(positions, [r.label for r in rows], fontproperties=font)
            # Every column as tall as a full one: bars keep their thickness in a short column.
            ax.set_ylim(COLUMN_ROWS - 0.5 if parts(chart) > 1 else len(rows) - 0.5, -0.5)
            ax.set_xlim(0, top * 1.3)
            for y, value in zip(low, received, strict=True):
                ax.text(value + top * 0.015, y, number(value), va="center", fontproperties=small)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
            ax.xaxis.set_major_formatter(lambda value, _pos: number(int(value)))
            ax.tick_params(axis="y", length=0)
            ax.tick_params(axis="x", labelsize=7.5)
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            if index == len(columns) - 1:
                legend = {"loc": "lower right", "bbox_to_anchor": (1, 1), "ncols": 2}
                ax.legend(frameon=False, prop=font, **legend)
    return fig, matplotlib.rc_context(RC)


@lru_cache(maxsize=32)
def chart_svg(chart: Chart, part: int = 0) -> bytes:
    """One picture of the chart as SVG bytes (cached: a chart is a frozen value)."""
    fig, rc = _figure(chart, part)
    buffer = io.BytesIO()
    with rc:
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return lean_svg(buffer.getvalue())


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_NO_ROTATION = ("rotate(-0 ", "rotate(0 ")


def lean_svg(data: bytes) -> bytes:
    """The same picture with fewer nodes: a group that only names its children (an ``id``, no
    style, clip or transform) gives way to them, the metadata goes, and so does a text's
    rotation by zero degrees. Three report charts go from about 970 nodes to 420; WeasyPrint
    draws each node of an SVG on its own."""
    from xml.etree import ElementTree as ET

    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(data)  # noqa: S314 - matplotlib's own output, never user input
    group, metadata = f"{{{SVG_NS}}}g", f"{{{SVG_NS}}}metadata"

    def lean(element) -> list:
        children = []
        for child in element:
            if child.tag == metadata:
                continue
            transform = child.get("transform", "")
            if transform.startswith(_NO_ROTATION) and transform.endswith(")"):
                del child.attrib["transform"]
            if child.tag == group and set(child.attrib) <= {"id"}:
                children.extend(lean(child))
            else:
                child[:] = lean(child)
                children.append(child)
        return children

    root[:] = lean(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@lru_cache(maxsize=32)
def chart_png(chart: Chart, dpi: int = 200, part: int = 0) -> bytes:
    """One picture of the chart as PNG bytes for the DOCX."""
    fig, rc = _figure(chart, part)
    buffer = io.BytesIO()
    with rc:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _height(rows: int) -> float:
    return 0.75 + 0.2 * max(rows, 1)


def chart_size_mm(chart: Chart, part: int = 0) -> tuple[float, float]:
    """A picture's natural size."""
    rows = max(map(len, _columns(chart, part)), default=0)
    if parts(chart) > 1:
        rows = COLUMN_ROWS
    return WIDTH_IN * 25.4, _height(rows) * 25.4
