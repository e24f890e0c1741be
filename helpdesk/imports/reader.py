"""One reader for CSV and XLSX files: a header row, then rows with spreadsheet line numbers."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from xml.parsers import expat

from ..textutil import nfc

KINDS = (
    "organisation",
    "units",
    "categories",
    "answers",
    "users",
    "unit_stats",
    "city_stats",
    "activities",
    "tickets",
)
EXTENSIONS = (".csv", ".xlsx")

# Limits checked before a file is parsed (and while it is read): an XLSX is a zip archive, and
# 1 MB of it can expand to hundreds of MB of XML that would hold a worker for minutes.
MAX_ROWS = 100_000  # data rows of one file, CSV or XLSX (the header row aside)
MAX_COLUMNS = 100  # cells of a row (the widest kind has 13 columns)
XLSX_MAX_UNPACKED = 50 * 1024 * 1024  # the parts of an XLSX together, as its zip declares them
XLSX_MAX_PARTS = 1000
XLSX_XML_SUFFIXES = (".xml", ".rels", ".vml")
_PROLOG_BYTES = 64 * 1024  # an XML part's root element starts within this
FORMULA_ERRORS_SHOWN = 20


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message is for the person who chose it."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


@dataclass
class CellError:
    """A cell the reader cannot give a value for (a formula saved without its result)."""

    line: int
    column: str | None
    reason: str


@dataclass
class Table:
    filename: str
    kind: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


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


def _count(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def _too_many_rows(filename: str) -> ImportFileError:
    return ImportFileError(
        filename, f"có hơn {_count(MAX_ROWS)} dòng dữ liệu; hãy chia thành nhiều tệp nhỏ hơn"
    )


def _too_wide(filename: str, line: int | None = None) -> ImportFileError:
    where = f"dòng {line}" if line else "một dòng"
    return ImportFileError(
        filename, f"{where} có hơn {MAX_COLUMNS} ô; hãy xóa các cột thừa bên phải"
    )


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
    rows: list[list[str]] = []
    try:
        for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if line > MAX_ROWS + 1:
                raise _too_many_rows(filename)
            if len(row) > MAX_COLUMNS and len(_trimmed(row, "")) > MAX_COLUMNS:
                raise _too_wide(filename, line)
            rows.append(row)
    except csv.Error as exc:
        raise ImportFileError(filename, f"CSV không đọc được: {exc}") from None
    return rows


def _trimmed(row, empty) -> list:
    cells = list(row)
    while cells and cells[-1] == empty:
        cells.pop()
    return cells


# -- XLSX: the archive is checked before openpyxl reads a byte of it ---------------------------


class _Refused(Exception):
    """Raised from an expat handler to stop reading a part."""


class _RootReached(Exception):
    """The prolog of an XML part ended without a document type declaration."""


def _check_prolog(filename: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an XML part with a document type declaration (entities, external references):
    no spreadsheet needs one, and entity expansion is how an XML bomb works. The part must be
    UTF-8 (what every spreadsheet writes), so the byte scans below see its markup."""
    with archive.open(info) as stream:
        head = stream.read(_PROLOG_BYTES + 1)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        raise ImportFileError(filename, f"phần {info.filename} không mã hóa UTF-8")

    def doctype(*_args):
        raise _Refused

    def root(*_args):
        raise _RootReached

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        parser.Parse(head[:_PROLOG_BYTES], len(head) <= _PROLOG_BYTES)
    except _RootReached:
        return
    except _Refused:
        raise ImportFileError(
            filename,
            f"phần {info.filename} có khai báo DOCTYPE/ENTITY, điều một tệp XLSX không bao giờ "
            "cần; tệp bị từ chối để an toàn. Hãy mở tệp bằng Excel hoặc LibreOffice và lưu lại",
        ) from None
    except expat.ExpatError:
        pass
    raise ImportFileError(filename, f"phần {info.filename} không phải XML hợp lệ")


def _check_archive(filename: str, archive: zipfile.ZipFile) -> None:
    """Declared sizes first (zipfile never yields more than a part declares), then prologs."""
    infos = archive.infolist()
    if len(infos) > XLSX_MAX_PARTS:
        raise ImportFileError(filename, f"có {_count(len(infos))} phần bên trong, quá nhiều")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > XLSX_MAX_UNPACKED:
        raise ImportFileError(
            filename,
            f"giải nén ra {_mb(unpacked)} MB, quá giới hạn {_mb(XLSX_MAX_UNPACKED)} MB; "
            "hãy chia thành nhiều tệp nhỏ hơn",
        )
    for info in infos:
        if info.filename.lower().endswith(XLSX_XML_SUFFIXES):
            _check_prolog(filename, archive, info)


# Start tags of rows, cells and formulas, whatever their namespace prefix.
_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|f)[\s/>]")


def _scan_sheet(filename: str, stream) -> bool:
    """Count the rows and the cells of each row in a sheet's XML without parsing it (a regular
    expression over the bytes, several times faster than openpyxl), and refuse a sheet over
    the limits before openpyxl builds a row of a million cells. Returns whether it has
    formulas. Markup in a comment is counted too: that can only refuse more, never less."""
    rows = cells = 0
    formulas = False
    tail = b""
    while True:
        chunk = stream.read(1 << 20)
        buffer = tail + chunk
        if chunk:  # a tag cut by the chunk's end is read with the next chunk
            cut = buffer.rfind(b"<")
            buffer, tail = (buffer, b"") if cut < 0 else (buffer[:cut], buffer[cut:])
        else:
            buffer += b" "
        for match in _SHEET_TAG.finditer(buffer):
            tag = match.group(1)
            if tag == b"c":
                cells += 1
                if cells > MAX_COLUMNS:
                    raise _too_wide(filename)
            elif tag == b"row":
                rows += 1
                cells = 0
                if rows > MAX_ROWS + 1:
                    raise _too_many_rows(filename)
            else:
                formulas = True
        if not chunk:
            return formulas


def _formulas_without_value(stream) -> list[tuple[int, int]]:
    """(row, column) of each formula cell saved without its computed value: a file written
    by a program that does not calculate (openpyxl, some exports) and never opened in a
    spreadsheet program. Such a cell has no ``<v>`` or an empty one; an empty text result is
    ``t="str"`` with an empty ``<v>`` and is a value. Read with expat, streaming."""
    found: list[tuple[int, int]] = []
    cell = {"row": 0, "col": 0, "formula": False, "text": False, "value": "", "in_v": False}
    cell_ref = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")

    def start(name, attrs):
        local = name.rpartition("}")[2]
        if local == "row":
            ref = attrs.get("r", "")
            cell["row"] = int(ref) if ref.isascii() and ref.isdigit() else cell["row"] + 1
            cell["col"] = 0
        elif local == "c":
            match = cell_ref.match(attrs.get("r", ""))
            if match:
                cell["col"] = _column_index(match.group(1))
                cell["row"] = int(match.group(2))
            else:
                cell["col"] += 1
            cell.update(formula=False, text=attrs.get("t") == "str", value="", in_v=False)
        elif local == "f":
            cell["formula"] = True
        elif local == "v":
            cell["in_v"] = True

    def text(data):
        if cell["in_v"]:
            cell["value"] += data

    def end(name):
        local = name.rpartition("}")[2]
        if local == "v":
            cell["in_v"] = False
        elif local == "c" and cell["formula"] and not cell["text"] and not cell["value"].strip():
            found.append((cell["row"], cell["col"]))

    def refuse(*_args):
        raise _Refused

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ParseFile(stream)
    return found


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def column_letter(index: int) -> str:
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class _Sheet:
    rows: list[list[str]]
    formula_cells: list[tuple[int, int]]


def _xlsx_rows(filename: str, data: bytes) -> _Sheet:
    from openpyxl import load_workbook

    invalid = ImportFileError(filename, "không phải tệp XLSX hợp lệ")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise invalid from None
    with archive:
        try:
            _check_archive(filename, archive)
        except ImportFileError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise invalid from None  # a damaged part, or a compression zipfile cannot read
        # Whatever else openpyxl finds wrong in a damaged or hostile file (it parses through
        # defusedxml, which refuses entities) is this one message, never a server error.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles it cannot read
                workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise invalid from None
        try:
            return _read_first_sheet(filename, archive, workbook)
        except ImportFileError:
            raise
        except Exception:
            raise invalid from None
        finally:
            workbook.close()


def _read_first_sheet(filename: str, archive: zipfile.ZipFile, workbook) -> _Sheet:
    if not workbook.worksheets:
        raise ImportFileError(filename, "không có trang tính nào")
    sheet = workbook.worksheets[0]
    path = getattr(sheet, "_worksheet_path", None)  # the part openpyxl reads the sheet from
    if path is None:
        raise ImportFileError(filename, "trang tính đầu tiên không đọc được")
    with archive.open(path) as stream:
        has_formulas = _scan_sheet(filename, stream)
    # The sheet's own claim of its size (its <dimension>), refused when over the limits; then
    # forgotten, so that a claim smaller than the data cuts nothing off.
    declared_rows, declared_cols = sheet.max_row or 0, sheet.max_column or 0
    if declared_rows > MAX_ROWS + 1:
        raise _too_many_rows(filename)
    if declared_cols > MAX_COLUMNS:
        raise ImportFileError(
            filename,
            f"trang tính khai báo {declared_cols} cột, quá giới hạn {MAX_COLUMNS} cột; "
            "hãy xóa các cột thừa bên phải",
        )
    sheet.reset_dimensions()
    rows: list[list[str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a date out of range reads as an error value
        for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if line > MAX_ROWS + 1:  # a jump to row 1.048.576 yields the empty rows between
                raise _too_many_rows(filename)
            cells = _trimmed(row, None)
            if len(cells) > MAX_COLUMNS:
                raise _too_wide(filename, line)
            rows.append([_cell_text(v) for v in cells])
    formula_cells: list[tuple[int, int]] = []
    if has_formulas:  # the rare file with formulas: one more pass, over its XML only
        with archive.open(path) as stream:
            formula_cells = _formulas_without_value(stream)
    return _Sheet(rows, formula_cells)


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
    formula_cells: list[tuple[int, int]] = []
    if suffix == ".xlsx":
        sheet = _xlsx_rows(name, data)
        raw, formula_cells = sheet.rows, sheet.formula_cells
    else:
        raw = _csv_rows(name, data)
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
    for line, col in formula_cells[:FORMULA_ERRORS_SHOWN]:
        header = headers[col - 1] if 0 < col <= len(headers) and headers[col - 1] else None
        table.errors.append(
            CellError(
                line,
                header,
                f"ô {column_letter(col)}{line} là công thức chưa có giá trị tính sẵn (tệp được "
                "tạo bằng một chương trình không tính công thức); hãy mở tệp bằng Excel hoặc "
                "LibreOffice Calc rồi lưu lại, hoặc thay công thức bằng giá trị",
            )
        )
    if len(formula_cells) > FORMULA_ERRORS_SHOWN:
        more = len(formula_cells) - FORMULA_ERRORS_SHOWN
        table.errors.append(
            CellError(formula_cells[FORMULA_ERRORS_SHOWN][0], None,
                      f"và {_count(more)} ô công thức khác chưa có giá trị tính sẵn")
        )  # fmt: skip
    return table
