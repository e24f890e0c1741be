"""What a security probe of the running app found (issue 17), each one refused now.

XLSX files that expand to hundreds of MB, or carry a DOCTYPE, are import errors before openpyxl
parses them; a formula saved without its value is an error naming the cell; zero-width and
bidirectional control characters are stripped wherever text is normalised; backups are written
readable by their owner only.
"""

from __future__ import annotations

import ast
import io
import os
import re
import stat
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from openpyxl import Workbook
from sqlalchemy import func, select

import helpdesk
from helpdesk.audit import ACTION_LABELS, ENTITY_LABELS, AuditLog
from helpdesk.extensions import db
from helpdesk.imports import reader, run_import
from helpdesk.imports.reader import ImportFileError, read_table
from helpdesk.textutil import fold, nfc
from helpdesk.tickets.models import Ticket

from .conftest import IS_PG, login

SUPERVISOR = ("thang.vd", "Thang-Demo-2023")
SHEET = "xl/worksheets/sheet1.xml"
STATS_HEADER = ["month", "unit_code", "unit_name", "received", "online"]


def xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def with_part(data: bytes, name: str, content: bytes | None = None, chunks=None) -> bytes:
    """The same XLSX with one part replaced (``chunks`` streams a huge one into the zip)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, source.read(info.filename))
            elif chunks is not None:
                with target.open(name, "w", force_zip64=True) as stream:
                    for chunk in chunks:
                        stream.write(chunk)
            else:
                target.writestr(name, content)
    return out.getvalue()


def stats_file() -> bytes:
    return xlsx([STATS_HEADER, ["2023-09", "11311", "phường Minh Khai", 5, 2]])


@pytest.fixture
def sup(demo_app, tmp_path):
    demo_app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    client = demo_app.test_client()
    assert login(client, *SUPERVISOR).status_code == 302
    return client


def upload(client, name: str, data: bytes):
    return client.post(
        "/so-lieu/nhap",
        data={"kind": "", "files": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


# -- XLSX bombs ----------------------------------------------------------------------------------


def bomb() -> bytes:
    """0.3 MB that declares (and holds) 300 MB of sheet XML: a comment of spaces."""
    sheet = part(stats_file(), SHEET)
    head, tail = sheet.split(b"<sheetData>")
    block = b" " * (1024 * 1024)
    chunks = [head + b"<sheetData><!--", *([block] * 300), b"-->" + tail]
    return with_part(stats_file(), SHEET, chunks=chunks)


def test_an_xlsx_bomb_is_refused_before_it_is_parsed(app):
    data = bomb()
    assert len(data) < 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=r"giải nén ra 300 MB, quá giới hạn 50 MB"):
        read_table("unit_stats.xlsx", data)
    assert time.monotonic() - started < 2
    report = run_import([("unit_stats.xlsx", data)])
    assert [str(e) for e in report.errors] == [
        "unit_stats.xlsx: giải nén ra 300 MB, quá giới hạn 50 MB; hãy chia thành nhiều tệp nhỏ hơn"
    ]


def test_an_xlsx_bomb_through_the_upload_page(sup):
    started = time.monotonic()
    response = upload(sup, "unit_stats.xlsx", bomb())
    assert response.status_code < 500 and time.monotonic() - started < 10
    assert "giải nén ra 300 MB" in response.get_data(as_text=True)


def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


@pytest.mark.parametrize("name", [SHEET, "xl/workbook.xml", "[Content_Types].xml"])
def test_a_doctype_or_entity_in_any_part_is_an_import_error(app, name):
    data = stats_file()
    original = part(data, name)
    if original.startswith(b"<?xml"):
        original = original[original.index(b"?>") + 2 :]
    if name == SHEET:
        original = original.replace(b"Minh Khai", b"&c;")  # the entity used in a cell
    for prolog in (LAUGHS, b"<!DOCTYPE x>", b"<!-- <not-root> --><!DOCTYPE x>"):
        hostile = with_part(data, name, prolog + original)
        with pytest.raises(ImportFileError, match="có khai báo DOCTYPE/ENTITY"):
            read_table("unit_stats.xlsx", hostile)
        report = run_import([("unit_stats.xlsx", hostile)])
        assert not report.ok and "DOCTYPE/ENTITY" in str(report.errors[0])


def test_an_entity_through_the_upload_page_is_an_error_not_a_500(sup):
    data = stats_file()
    sheet = part(data, SHEET).replace(b"Minh Khai", b"&c;")  # the entity used in a cell
    response = upload(sup, "unit_stats.xlsx", with_part(data, SHEET, LAUGHS + sheet))
    assert response.status_code < 500
    assert "có khai báo DOCTYPE/ENTITY" in response.get_data(as_text=True)


def test_a_part_not_in_utf8_is_refused(app):
    data = stats_file()
    utf16 = part(data, SHEET).decode("utf-8").encode("utf-16")
    with pytest.raises(ImportFileError, match="không mã hóa UTF-8"):
        read_table("unit_stats.xlsx", with_part(data, SHEET, utf16))


def test_a_sheet_over_the_row_and_column_limits_is_refused(app):
    data = stats_file()
    sheet = part(data, SHEET)
    # A dimension claiming 100.002 rows (openpyxl would pad out every one of them).
    claimed = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:E100002"/>', sheet)
    with pytest.raises(ImportFileError, match=r"có hơn 100\.000 dòng dữ liệu"):
        read_table("unit_stats.xlsx", with_part(data, SHEET, claimed))
    # A row of 150 cells (its dimension left out, as a hostile file would).
    wide = xlsx([STATS_HEADER, ["2023-09", "11311", "x", 5, 2, *([1] * 145)]])
    no_dimension = re.sub(rb"<dimension[^>]*/>", b"", part(wide, SHEET))
    with pytest.raises(ImportFileError, match="một dòng có hơn 100 ô"):
        read_table("unit_stats.xlsx", with_part(wide, SHEET, no_dimension))
    # A jump to the last row of a spreadsheet.
    far = part(data, SHEET).replace(b'<row r="2">', b'<row r="1048576">')
    far = re.sub(rb'r="([A-E])2"', rb'r="\g<1>1048576"', re.sub(rb"<dimension[^>]*/>", b"", far))
    with pytest.raises(ImportFileError, match="dòng dữ liệu"):
        read_table("unit_stats.xlsx", with_part(data, SHEET, far))


def test_row_limit_of_csv_and_xlsx(app, monkeypatch):
    monkeypatch.setattr(reader, "MAX_ROWS", 3)
    rows = [STATS_HEADER] + [["2023-09", f"C{i}", "", i, 0] for i in range(4)]

    def csv(rows):
        return "\n".join(",".join(str(c) for c in row) for row in rows).encode()

    for name, write in (("unit_stats.csv", csv), ("unit_stats.xlsx", xlsx)):
        with pytest.raises(ImportFileError, match="có hơn 3 dòng dữ liệu"):
            read_table(name, write(rows))
        assert len(read_table(name, write(rows[:4])).rows) == 3


def test_a_dimension_smaller_than_the_data_cuts_nothing_off(app):
    data = xlsx([STATS_HEADER, ["2023-09", "11311", "x", 5, 2], ["2023-09", "11312", "y", 7, 1]])
    sheet = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:B2"/>', part(data, SHEET))
    table = read_table("unit_stats.xlsx", with_part(data, SHEET, sheet))
    assert [values["received"] for _line, values in table.rows] == ["5", "7"]


# -- formulas ------------------------------------------------------------------------------------


def test_a_formula_without_its_value_is_an_error_naming_the_cell(app):
    rows = [STATS_HEADER] + [["2023-09", f"1131{i}", "", 5, 2] for i in range(3)]
    rows.append(["2023-09", "11314", "", "=SUM(D2:D4)", 1])  # line 5, column D
    report = run_import([("unit_stats.xlsx", xlsx(rows))])
    assert [str(e) for e in report.errors] == [
        "unit_stats.xlsx:5: received: ô D5 là công thức chưa có giá trị tính sẵn (tệp được tạo "
        "bằng một chương trình không tính công thức); hãy mở tệp bằng Excel hoặc LibreOffice "
        "Calc rồi lưu lại, hoặc thay công thức bằng giá trị"
    ]
    assert not report.committed


def test_a_formula_with_its_value_reads_the_value(app):
    data = xlsx([STATS_HEADER, ["2023-09", "11311", '=""', "=2+3", 2]])
    sheet = part(data, SHEET)
    assert sheet.count(b"<v></v>") == 2  # what openpyxl writes: no value
    # As a spreadsheet program saves it: the number, and an empty text result (t="str").
    sheet = sheet.replace(b"<f>2+3</f><v></v>", b"<f>2+3</f><v>5</v>")
    sheet = re.sub(rb'<c r="C2"([^>]*)><f>', rb'<c r="C2"\1 t="str"><f>', sheet)
    table = read_table("unit_stats.xlsx", with_part(data, SHEET, sheet))
    assert table.errors == []
    assert table.rows[0][1]["received"] == "5" and table.rows[0][1]["unit_name"] == ""


def test_many_formula_cells_are_summed_up(app):
    rows = [STATS_HEADER] + [["2023-09", f"C{i}", "", "=1+1", 0] for i in range(30)]
    table = read_table("unit_stats.xlsx", xlsx(rows))
    assert len(table.errors) == 21
    assert table.errors[-1].reason == "và 10 ô công thức khác chưa có giá trị tính sẵn"


# -- invisible characters ------------------------------------------------------------------------

INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space, joiners, LTR and RTL marks
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069\ufeff"  # isolates, byte order mark
)


def test_nfc_strips_zero_width_and_bidirectional_controls():
    for char in INVISIBLE:
        assert nfc(f"Ng{char}uyễn An{char}") == "Nguyễn An", hex(ord(char))
    # Removed before composing: a mark after the character still composes with its letter.
    assert nfc("Nguye\u200b\u0302\u0303n") == "Nguyễn"
    assert fold("Ng\u200buyễn") == "nguyen"


def test_names_with_invisible_characters_are_stored_clean_and_found(demo_app):
    client = demo_app.test_client()
    assert login(client, "hoa.nt", "Hoa-Demo-2023").status_code == 302
    data = {
        "requester_phone": "0912 345 678",
        "requester_name": "Trần\u200b Thị\u202e Xuân",
        "category": "dossier_status",
        "summary": "\u2067Hỏi\u2069 hồ sơ\ufeff",
        "channel": "phone",
        "save_close": "Lưu và đóng",
    }
    assert client.post("/yeu-cau/moi", data=data).status_code == 302
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert (ticket.requester_name, ticket.summary) == ("Trần Thị Xuân", "Hỏi hồ sơ")
    found = client.get("/yeu-cau/", query_string={"q": "Trần Thị Xuân"}).get_data(as_text=True)
    assert ticket.ref in found


# -- backups -------------------------------------------------------------------------------------


def test_backups_are_readable_by_their_owner_only(demo_app, tmp_path):
    folder = tmp_path / "new" / "backups"
    output = folder / ("helpdesk.dump" if IS_PG else "helpdesk.sqlite3")
    old = os.umask(0o022)
    try:
        made = demo_app.test_cli_runner().invoke(args=["backup", "create", "-o", str(output)])
    finally:
        os.umask(old)
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert output.stat().st_size > 10_000


# -- the audit log -------------------------------------------------------------------------------


def _recorded_codes() -> tuple[set[str], set[str]]:
    """Every action and entity code the package passes to ``record`` as a literal (or through
    a variable named ``action`` given literals): what the log page must have labels for."""
    actions: set[str] = set()
    entities: set[str] = set()

    def literals(node) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return literals(node.body) | literals(node.orelse)
        return set()

    for path in Path(helpdesk.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
                if len(node.args) >= 2:
                    actions |= literals(node.args[0])
                    entities |= literals(node.args[1])
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "action" for t in node.targets
            ):
                actions |= literals(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "upsert":
                entities |= literals(node.args[-1]) if node.args else set()
    return actions, entities


def test_every_recorded_action_and_entity_has_a_vietnamese_label():
    actions, entities = _recorded_codes()
    assert {"export", "import_add", "import", "stat_edit", "report_issue"} <= actions
    assert {"unit_stat", "city_stat", "ticket", "user"} <= entities
    assert actions - set(ACTION_LABELS) == set()
    assert entities - set(ENTITY_LABELS) == set()


def _admin(demo_app, make_user):
    from .conftest import login as sign_in

    admin = make_user("admin")
    client = demo_app.test_client()
    assert sign_in(client, admin.username).status_code == 302
    return client


def test_the_audit_log_speaks_vietnamese_and_groups_each_import(eras_app, make_user):
    supervisor = eras_app.test_client()
    assert login(supervisor, *SUPERVISOR).status_code == 302
    assert supervisor.get("/yeu-cau/xuat.csv").status_code == 200  # an "export" entry
    rows = db.session.scalar(
        select(func.count()).where(AuditLog.action.in_(["import_add", "import_update"]))
    )
    assert rows > 700  # the demo's two imports (09/2023, 08/2025)
    client = _admin(eras_app, make_user)
    html = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    for code in ("export", "import_add", "import_update", "import", "unit_stat", "unit", "user"):
        assert code not in cells, code
        assert f">{code}<" not in html, code
    assert "Xuất danh sách" in cells and "Nhập tệp" in cells
    # Each import is one entry with its rows counted, not hundreds of entries.
    assert len(re.findall(r"<tr>", html)) < 20
    counted = [int(n.replace(".", "")) for n in re.findall(r"Gồm ([\d.]+) mục", html)]
    assert len(counted) == 2 and sum(counted) == rows + db.session.scalar(
        select(func.count()).where(AuditLog.action == "import_replace")
    )
    link = re.search(r'href="(/quan-tri/nhat-ky\?batch=[0-9a-f]+)"', html).group(1)
    detail = client.get(link).get_data(as_text=True)
    assert "Nhập tệp: thêm mới" in detail and "Số liệu đơn vị" in detail
    assert "unit_stat" not in re.findall(r"<td>([^<]*)</td>", detail)
    assert "Nhập mới số liệu đơn vị" in detail  # the row's summary names the entity in words
    # Filtering by an action lists the rows themselves, labelled.
    listed = client.get("/quan-tri/nhat-ky?action=import_add").get_data(as_text=True)
    assert listed.count("<td>Nhập tệp: thêm mới</td>") == 100  # a full page


def test_old_summaries_are_shown_without_codes(app):
    entry = AuditLog(action="deactivate", entity="user", entity_id="3", summary="deactivate hoa")
    assert entry.summary_text == "Vô hiệu hóa hoa"
    old = AuditLog(action="import_add", entity="unit_stat", summary="Nhập mới unit_stat 2023-09 5")
    assert old.summary_text == "Nhập mới số liệu đơn vị 2023-09 5"


def test_upgrading_groups_the_imports_already_logged(eras_app):
    """Migration 0007 puts the row entries of imports logged before it under their import."""

    def groups() -> set[frozenset[int]]:
        found = defaultdict(set)
        for entry_id, key in db.session.execute(select(AuditLog.id, AuditLog.batch)):
            if key is not None:
                found[key].add(entry_id)
        return {frozenset(ids) for ids in found.values()}

    # A later entry of another kind stays on its own.
    db.session.add(AuditLog(action="export", entity="ticket", summary="Xuất 3 yêu cầu"))
    db.session.commit()
    before = groups()
    assert len(before) == 2 and sum(len(g) for g in before) > 700
    db.session.remove()
    downgrade(revision="0006_sessions_two_factor")
    upgrade()
    db.session.remove()
    assert groups() == before
    keys = db.session.scalars(sa.select(AuditLog.batch).where(AuditLog.action == "import"))
    assert all(key.startswith("import-") for key in keys)
