"""The month's XLSX template: every active unit of the month in report order, ready to fill in
and upload.

The month's units only (``unit_rows(month)``): 2023-09 lists 19 departments, 15 districts and 217
communes; 2025-08 lists 14 departments and 114 communes. The importer resolves each code in the
row's month, so a code reused by a new unit names the right one.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..exports import safe_cell
from .labels import FIELD_LABELS, level_info, level_plural, month_label, month_levels
from .models import UNIT_STAT_FIELDS
from .queries import unit_rows

HEADERS = ("month", "unit_code", "unit_name", *UNIT_STAT_FIELDS)
FIRST_FIGURE_COLUMN = 4  # D


def template_filename(month: str) -> str:
    """A name the importer recognises (``unit_stats-...``) whatever the browser appends."""
    return f"unit_stats-{month}.xlsx"


def build_template(month: str) -> bytes:
    """Return the XLSX template for the month, with the figures already stored filled in."""
    rows = [r for r in unit_rows(month) if r.active]
    levels = month_levels(month)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.level] = counts.get(row.level, 0) + 1
    units_line = "; ".join(
        f"{count} {level_plural(level_info(levels, level))}" for level, count in counts.items()
    )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "unit_stats"
    sheet.append(list(HEADERS))
    header_fill = PatternFill("solid", fgColor="DDE5EF")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for row in rows:
        sheet.append(
            [month, row.code, safe_cell(row.display), *(row.figures[f] for f in UNIT_STAT_FIELDS)]
        )
    last = len(rows) + 1
    # Month and code are text: a spreadsheet would turn 2025-08 into a date and drop the leading
    # zero of a code such as 05001 when someone types over them.
    for cells in sheet.iter_rows(min_row=2, max_row=last, min_col=1, max_col=2):
        for cell in cells:
            cell.number_format = "@"
    for column in range(FIRST_FIGURE_COLUMN, len(HEADERS) + 1):
        letter = get_column_letter(column)
        for (cell,) in sheet.iter_rows(min_row=2, max_row=last, min_col=column, max_col=column):
            cell.number_format = "#,##0"
        sheet.column_dimensions[letter].width = max(14, len(HEADERS[column - 1]) + 2)
    # Excel refuses what the importer would refuse anyway: negative or fractional figures.
    whole = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Số liệu không hợp lệ",
        error="Nhập số nguyên không âm, hoặc để trống nếu đơn vị chưa báo cáo.",
    )
    sheet.add_data_validation(whole)
    end = get_column_letter(len(HEADERS))
    whole.add(f"{get_column_letter(FIRST_FIGURE_COLUMN)}2:{end}{max(last, 2)}")
    sheet.column_dimensions["A"].width = 10
    sheet.column_dimensions["B"].width = 12
    sheet.column_dimensions["C"].width = 48
    sheet.freeze_panes = "D2"
    sheet.auto_filter.ref = f"A1:{end}{last}"

    guide = workbook.create_sheet("Hướng dẫn")
    guide.column_dimensions["A"].width = 24
    guide.column_dimensions["B"].width = 90
    lines = [
        ("Mẫu số liệu tháng", month_label(month)),
        ("Đơn vị", f"{units_line or 'không có'} (các đơn vị có trong tháng {month_label(month)})."),
        ("", ""),
        (
            "Cách dùng",
            "Điền số liệu vào trang tính đầu tiên (unit_stats), lưu dạng .xlsx rồi tải "
            "lên ở trang Nhập tệp số liệu. Không đổi tên cột, không đổi thứ tự trang tính.",
        ),
        ("Ô để trống", "Đơn vị chưa báo cáo chỉ tiêu đó (khác với số 0)."),
        ("Số", "Số nguyên không âm, viết 88904 hoặc 88.904."),
        (
            "Quy tắc",
            "online <= received; fee_transactions <= payment_transactions; "
            "fee_amount <= payment_amount.",
        ),
        ("unit_name", "Chỉ để đọc cho dễ; hệ thống nhận đơn vị theo unit_code."),
        ("", ""),
        ("Cột", "Ý nghĩa"),
    ] + [(f, FIELD_LABELS[f]) for f in UNIT_STAT_FIELDS]
    for key, text in lines:
        guide.append([key, text])
    for (cell,) in guide.iter_rows(min_col=1, max_col=1):
        cell.font = Font(bold=True)
    for (cell,) in guide.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
