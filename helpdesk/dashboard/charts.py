"""The dashboard's trend charts: matplotlib (Agg/SVG backend) rendered on the server.

Deterministic output, so a chart can be cached and compared byte for byte: a fixed
``svg.hashsalt`` (the ids of clip paths), no date in the metadata, text drawn as paths (no font
needed in the browser, identical in print). Only the object-oriented API is used (no pyplot
state), and rcParams are applied under a lock since they are process-wide.
"""

from __future__ import annotations

import io
import math
import threading
from functools import lru_cache

from .format import month_short

# Okabe-Ito: distinguishable with colour-blindness; markers and dashes tell lines apart in print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1)), (0, (1, 1)))
RC = {
    "svg.hashsalt": "helpdesk-dashboard",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",  # bundled with matplotlib: full Vietnamese, same everywhere
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#d0d5dc",
    "grid.linewidth": 0.6,
}
_LOCK = threading.Lock()
# The legend under the axes: roughly how wide an 8-point character and an entry's line sample
# are (pixels at 100 dpi), and how much of the 760-pixel figure the legend may take.
_CHAR_PX, _ENTRY_PX, _LEGEND_PX = 5.6, 40, 720

# (label, values per month); None: no value that month, drawn as a gap (never as 0).
Series = tuple[tuple[str, tuple[int | None, ...]], ...]


def line_chart(
    months: tuple[str, ...], series: Series, title: str, empty: str = "Không có số liệu"
) -> bytes:
    """An SVG line chart of monthly counts; cached by its data (the output is deterministic).

    A month without a value breaks the line there; the last value is written beside the line's
    end when the series has one in the last month. With no series at all (no category had a
    ticket in the 12 months) the axes say ``empty`` and there is no legend: matplotlib has
    nothing to put in one.
    """
    return _line_chart(tuple(months), tuple((s, tuple(v)) for s, v in series), title, empty)


def legend_columns(labels: list[str], most: int = 4) -> int:
    """As many legend columns (up to ``most``) as fit the figure's width.

    Matplotlib fills a legend column by column (the first ``len % ncol`` columns one entry
    longer, as ``numpy.array_split``); each column is as wide as its longest label. Long category
    names ("Hướng dẫn đối chiếu hồ sơ gốc tại bộ phận một cửa") then get two columns instead of
    running off the figure, short level names one row.
    """
    for ncol in range(min(len(labels), most), 1, -1):
        size, extra = divmod(len(labels), ncol)
        columns, start = [], 0
        for i in range(ncol):
            end = start + size + (1 if i < extra else 0)
            columns.append(labels[start:end])
            start = end
        width = sum(max(len(x) for x in col) * _CHAR_PX + _ENTRY_PX for col in columns)
        if width <= _LEGEND_PX:
            return ncol
    return 1


@lru_cache(maxsize=256)
def _line_chart(months: tuple[str, ...], series: Series, title: str, empty: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from ..formatting import number

    with _LOCK, matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.6, 3.2), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        xs = range(len(months))
        for i, (label, values) in enumerate(series):
            ax.plot(
                xs,
                [math.nan if v is None else v for v in values],
                label=label,
                color=PALETTE[i % len(PALETTE)],
                marker=MARKERS[i % len(MARKERS)],
                linestyle=DASHES[i % len(DASHES)],
                linewidth=1.8,
                markersize=4.5,
            )
            if values and values[-1] is not None:
                ax.annotate(
                    number(values[-1]),
                    (xs[-1], values[-1]),
                    xytext=(5, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                    color=PALETTE[i % len(PALETTE)],
                )
        ax.set_xticks(list(xs), [month_short(m) for m in months], fontsize=8)
        ax.set_xlim(-0.4, len(months) - 0.4 + 0.6)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: number(int(v))))
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
        if series:
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.12),
                ncol=legend_columns([label for label, _values in series]),
                frameon=False,
                fontsize=8,
            )
        else:
            ax.text(
                0.5,
                0.5,
                empty,
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=10,
                color="#4a5563",
            )
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()
