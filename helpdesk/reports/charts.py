"""Received vs online bar charts for section 1: SVG for HTML/PDF, PNG for DOCX.

matplotlib with the Agg/SVG backends through the object API (no pyplot, no global state).
Output is deterministic: a fixed SVG hash salt, no dates or software tags in the metadata.
Text is drawn as paths, so the PDF needs no extra font for the charts.
"""

from __future__ import annotations

import io
from functools import lru_cache

from ..formatting import number
from .document import Chart

RECEIVED_COLOUR = "#9db4d0"
ONLINE_COLOUR = "#12355b"
RC = {
    "font.family": "serif",
    # Times New Roman where it is installed, else its metric twin with full Vietnamese coverage.
    "font.serif": ["Times New Roman", "Liberation Serif", "DejaVu Serif"],  # digits only
    "font.size": 9,
    "svg.fonttype": "none",
    "svg.hashsalt": "helpdesk-report",
    "axes.spines.top": False,
    "axes.spines.right": False,
}
WIDTH_IN = 6.4  # about the text width of an A4 page with 30/15 mm margins
FAMILIES = ("Times New Roman", "Liberation Serif")
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


def _figure(chart: Chart):
    import logging

    import matplotlib

    matplotlib.use("Agg", force=False)
    # matplotlib logs (not warns) each missing family it falls back from; that is expected.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    path = vietnamese_font()
    # family is what the SVG names (its renderer picks the face); fname is what matplotlib
    # measures with and what the PNG draws with.
    font = FontProperties(family="serif", fname=path, size=9)
    small = font.copy()
    small.set_size(7.5)

    rows = [r for r in chart.rows if r.received is not None]
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


@lru_cache(maxsize=32)
def chart_svg(chart: Chart) -> bytes:
    """The chart as SVG bytes (cached: a chart is a frozen value)."""
    fig, rc = _figure(chart)
    buffer = io.BytesIO()
    with rc:
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


@lru_cache(maxsize=32)
def chart_png(chart: Chart, dpi: int = 200) -> bytes:
    """The chart as PNG bytes for the DOCX."""
    fig, rc = _figure(chart)
    buffer = io.BytesIO()
    with rc:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _height(rows: int) -> float:
    return 0.75 + 0.2 * max(rows, 1)


def chart_size_mm(chart: Chart) -> tuple[float, float]:
    rows = sum(1 for r in chart.rows if r.received is not None)
    return WIDTH_IN * 25.4, _height(rows) * 25.4
