"""One reader for CSV and XLSX files: a header row, then rows with spreadsheet line numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath

from ..textutil import nfc

KINDS = (
    "organisation",
    "units",
    "categories",
    "users",
    "unit_stats",
    "city_stats",
    "activities",
    "tickets",
)
EXTENSIONS = (".csv", ".xlsx")


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message is for the person who chose it."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


@dataclass
class Table:
    filename: str
    kind: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def kind_of(filename: str) -> str | None:
    """``units.csv`` -> ``units``; ``unit_stats-2023-09.xlsx`` -> ``unit_stats``."""
    path = PurePath(filename)
    if path.suffix.lower() not in EXTENSIONS:
        return None
    stem = path.stem.lower()
    for kind in sorted(KINDS, key=len, reverse=True):
        if stem == kind or stem.startswith(kind + "-") or stem.startswith(kind + "_2"):
            return kind
    return None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        # A time object is always true: midnight is a date cell.
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_rows(filename: str, data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            filename,
            f"không phải UTF-8 (byte lỗi ở vị trí {exc.start}); hãy lưu lại dạng CSV UTF-8",
        ) from None
    if "\x00" in text:
        raise ImportFileError(filename, "không phải tệp CSV văn bản")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ImportFileError(filename, f"CSV không đọc được: {exc}") from None


def _xlsx_rows(filename: str, data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError(filename, "không phải tệp XLSX hợp lệ") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return rows


def read_table(filename: str, data: bytes, kind: str | None = None) -> Table:
    """Read a CSV or XLSX file into a Table; raise ImportFileError if it cannot be read."""
    name = PurePath(filename).name
    kind = kind or kind_of(name)
    if kind is None:
        known = ", ".join(f"{k}.csv" for k in KINDS)
        raise ImportFileError(name, f"không rõ loại tệp; tên tệp phải là một trong: {known}")
    suffix = PurePath(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ImportFileError(name, "chỉ nhận tệp CSV hoặc XLSX")
    if not data or not data.strip():
        raise ImportFileError(name, "tệp rỗng")
    raw = _xlsx_rows(name, data) if suffix == ".xlsx" else _csv_rows(name, data)
    # Trailing empty rows and columns are what spreadsheets leave behind; they are not data.
    while raw and not any(c.strip() for c in raw[-1]):
        raw.pop()
    if not raw:
        raise ImportFileError(name, "tệp rỗng")
    headers = [(nfc(h) or "").lower() for h in raw[0]]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportFileError(name, "thiếu dòng tiêu đề")
    table = Table(filename=name, kind=kind, headers=headers)
    for index, cells in enumerate(raw[1:], start=2):
        if not any((c or "").strip() for c in cells):
            continue
        values = {h: nfc(cells[i]) if i < len(cells) else "" for i, h in enumerate(headers) if h}
        extra = [c for c in cells[len(headers) :] if (c or "").strip()]
        if extra:
            values["__extra__"] = "|".join(extra)
        table.rows.append((index, values))
    return table
