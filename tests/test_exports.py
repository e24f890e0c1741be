import io

from openpyxl import load_workbook

from helpdesk.exports import csv_bytes, safe_cell, xlsx_bytes


def test_formula_cells_are_quoted():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+84912") == "'+84912"
    assert safe_cell("Nguyễn Văn A") == "Nguyễn Văn A"
    assert safe_cell(-5) == -5  # numbers stay numbers


def test_csv_has_bom_and_protected_cells():
    data = csv_bytes(["a", "b"], [["=1+1", "Hòa Bình"]])
    assert data.startswith("\ufeff".encode())
    assert "'=1+1,Hòa Bình" in data.decode("utf-8-sig")


def test_xlsx_roundtrip_protected():
    data = xlsx_bytes(["a", "b"], [["@SUM(A1)", 42]], title="Tháng 9")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Tháng 9"
    assert sheet["A2"].value == "'@SUM(A1)"
    assert sheet["B2"].value == 42
