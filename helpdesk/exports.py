"""CSV and XLSX exports, with cells protected against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return the value with text that a spreadsheet would run as a formula quoted with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel reads Vietnamese correctly)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(_plain(v)) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Sheet1"
) -> bytes:
    """One sheet with a bold, frozen header row; numbers stay numbers."""
    # openpyxl (and the numpy it loads when present) when a file is asked for, not at start.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = [len(str(h)) for h in headers]
    for row in rows:
        values = [safe_cell(_xlsx_text(v)) for v in row]
        sheet.append(values)
        for i, v in enumerate(values[: len(widths)]):
            widths[i] = max(widths[i], min(len(str(v)) if v is not None else 0, 60))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width + 2
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_text(value: Any) -> Any:
    """Drop the control characters an XLSX file cannot hold (openpyxl refuses the whole file)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return value
