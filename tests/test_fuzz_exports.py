"""Exported CSV and XLSX cells can never be run as a formula, whatever text was stored."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from helpdesk.exports import csv_bytes, xlsx_bytes

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", '"', ","]).flatmap(
        lambda start: st.text(max_size=20).map(lambda rest: start + rest)
    ),
    st.just('=HYPERLINK("http://evil.example","Bấm")'),
)
cell = st.one_of(
    text,
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
)
rows = st.lists(st.lists(cell, min_size=3, max_size=3), max_size=5)


@given(rows=rows)
def test_csv_cells_never_start_a_formula(rows):
    data = csv_bytes(["a", "b", "c"], rows)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(parsed) == len(rows) + 1
    for original, written in zip(rows, parsed[1:], strict=True):
        for value, out in zip(original, written, strict=True):
            if isinstance(value, str):
                assert not out.startswith(FORMULA_START), repr(out)
                assert out.lstrip("'") == value or out == value


@given(rows=rows)
def test_xlsx_cells_are_never_formulas(rows):
    # Control characters too: the file is still written (without them), never refused.
    data = xlsx_bytes(["a", "b", "c"], rows, title="Xuất")
    sheet = load_workbook(io.BytesIO(data)).active
    for row in sheet.iter_rows(min_row=2):
        for out in row:
            assert out.data_type != "f", out.value
            if isinstance(out.value, str):
                assert not out.value.startswith(FORMULA_START), repr(out.value)
