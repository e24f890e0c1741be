"""The import rules of FORMATS.md, for every file kind, CSV and XLSX alike."""

import io
import unicodedata

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.cli import DEMO_DIR
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.imports.engine import collect_files
from helpdesk.imports.reader import read_table
from helpdesk.models import (
    Activity,
    Category,
    CityStat,
    OrgSetting,
    Ticket,
    Unit,
    UnitStat,
)

UNITS_OK = (
    "code,level,kind,name,parent_code\n"
    "S1,department,Sở,Y tế,\n"
    "D1,district,quận,Lê Chân,\n"
    "C1,commune,phường,An Biên,D1\n"
)


def csv(name: str, text: str) -> tuple[str, bytes]:
    return name, text.encode("utf-8")


def xlsx(name: str, rows: list[list]) -> tuple[str, bytes]:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return name, out.getvalue()


def table_counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (
            Unit,
            Category,
            User,
            OrgSetting,
            UnitStat,
            CityStat,
            Activity,
            Ticket,
            AuditLog,
        )
    }


def test_units_import_builds_the_tree(app):
    report = run_import([csv("units.csv", UNITS_OK)])
    assert report.ok and report.committed
    commune = db.session.scalar(select(Unit).where(Unit.code == "C1"))
    assert commune.parent.code == "D1"
    assert commune.display == "phường An Biên (quận Lê Chân)"
    assert report.files[0].added == 3


def test_three_bad_units_rows_named_and_nothing_written(app):
    run_import([csv("units.csv", UNITS_OK)])
    before = table_counts()
    bad = UNITS_OK + (
        "X1,province,tỉnh,Hải Phòng,\n"  # line 5: unknown level
        "C2,commune,xã,An Hưng,S1\n"  # line 6: parent is a department
        "D1,district,huyện,An Dương,\n"  # line 7: duplicate code
        "S9,department,Sở,Mới,\n"  # a good row: must not be written either
    )
    report = run_import([csv("units.csv", bad)])
    assert not report.ok and not report.committed
    messages = [str(e) for e in report.errors]
    assert any(m.startswith("units.csv:5: level:") for m in messages), messages
    assert any(m.startswith("units.csv:6: parent_code:") and "S1" in m for m in messages)
    assert any(m.startswith("units.csv:7: code:") and "dòng 3" in m for m in messages)
    assert len(messages) == 3
    assert table_counts() == before
    assert db.session.scalar(select(Unit).where(Unit.code == "S9")) is None


def test_every_bad_row_listed_across_files(app):
    report = run_import(
        [
            csv("units.csv", UNITS_OK),
            csv(
                "unit_stats.csv",
                "month,unit_code,received,online\n"
                "2023-09,S1,498,512\n2023-09,99999,1,1\n2023-13,S1,1,1\n2023-09,D1,-4,\n",
            ),
        ]
    )
    messages = [str(e) for e in report.errors]
    assert "unit_stats.csv:2: online: 512 lớn hơn received (498)" in messages
    assert "unit_stats.csv:3: unit_code: không có đơn vị 99999" in messages
    assert any(m.startswith("unit_stats.csv:4: month:") for m in messages)
    assert any(m.startswith("unit_stats.csv:5: received:") for m in messages)
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_blank_is_not_reported_and_zero_is_zero(app):
    report = run_import(
        [
            csv("units.csv", UNITS_OK),
            csv(
                "unit_stats.csv",
                "month,unit_code,received,online,signed_results\n"
                '2023-09,S1,0,,\n2023-09,D1,"88.904",82265,\n',
            ),
        ]
    )
    assert report.ok, [str(e) for e in report.errors]
    stats = {s.unit.code: s for s in db.session.scalars(select(UnitStat))}
    assert stats["S1"].received == 0 and stats["S1"].online is None
    assert stats["S1"].signed_results is None
    assert stats["D1"].received == 88904  # Vietnamese grouping


@pytest.mark.parametrize("value", ["1,5", "12.34", "1.2345", "abc", "١٢"])
def test_malformed_integers_rejected(app, value):
    report = run_import(
        [
            csv("units.csv", UNITS_OK),
            csv("unit_stats.csv", f'month,unit_code,received\n2023-09,S1,"{value}"\n'),
        ]
    )
    assert [str(e).split(":")[2].strip() for e in report.errors] == ["received"]


def test_text_is_normalised_to_nfc(app):
    decomposed = unicodedata.normalize("NFD", "Thủy Nguyên")
    report = run_import(
        [csv("units.csv", f"code,level,kind,name\nD9,district,huyện,{decomposed}\n")]
    )
    assert report.ok
    name = db.session.scalar(select(Unit.name).where(Unit.code == "D9"))
    assert name == unicodedata.normalize("NFC", "Thủy Nguyên") and name != decomposed


def test_headers_any_case_any_order_unknown_is_error(app):
    report = run_import([csv("units.csv", "NAME,Kind,LEVEL,Code\nY tế,Sở,department,S1\n")])
    assert report.ok
    report = run_import(
        [csv("categories.csv", "code,audience,label,report_phrse\nx,citizen,X,x\n")]
    )
    messages = [str(e) for e in report.errors]
    assert any(m.startswith("categories.csv:1: report_phrse: cột không xác định") for m in messages)
    assert any(m.startswith("categories.csv:1: report_phrase: thiếu cột") for m in messages)


def test_bom_and_blank_lines_tolerated(app):
    report = run_import([("units.csv", ("\ufeff" + UNITS_OK + "\n,,,,\n").encode())])
    assert report.ok and report.files[0].added == 3


def test_xlsx_and_csv_alike(app):
    rows = [
        ["code", "level", "kind", "name", "parent_code"],
        ["S1", "department", "Sở", "Y tế", None],
        ["D1", "district", "quận", "Lê Chân", None],
        ["C1", "commune", "phường", "An Biên", "D1"],
    ]
    report = run_import([xlsx("units.xlsx", rows)])
    assert report.ok and report.files[0].added == 3
    report = run_import([csv("units.csv", UNITS_OK)])
    assert report.ok and report.files[0].unchanged == 3


def test_xlsx_bad_rows_have_spreadsheet_line_numbers(app):
    rows = [
        ["code", "level", "kind", "name", "parent_code"],
        ["S1", "department", "Sở", "Y tế", None],
        ["C1", "commune", "phường", "An Biên", "NOPE"],
    ]
    report = run_import([xlsx("units.xlsx", rows)])
    assert [str(e) for e in report.errors] == ["units.xlsx:3: parent_code: không có đơn vị NOPE"]


def test_xlsx_numbers_read_as_integers(app):
    report = run_import(
        [
            csv("units.csv", UNITS_OK),
            xlsx(
                "unit_stats.xlsx",
                [
                    ["month", "unit_code", "received", "payment_amount"],
                    ["2023-09", "S1", 31854, 749104899.0],
                ],
            ),
        ]
    )
    assert report.ok, [str(e) for e in report.errors]
    stat = db.session.scalar(select(UnitStat))
    assert (stat.received, stat.payment_amount) == (31854, 749104899)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("units.csv", b"", "tệp rỗng"),
        ("units.csv", b"\xff\xfe\x00garbage", "UTF-8"),
        ("units.xlsx", b"PK not really a zip", "XLSX"),
        ("units.pdf", b"%PDF-1.4", "không rõ loại tệp"),
        ("notes.csv", b"a,b\n1,2\n", "không rõ loại tệp"),
    ],
)
def test_unreadable_files_clear_message(app, name, data, reason):
    report = run_import([(name, data)])
    assert not report.ok
    assert reason in str(report.errors[0])


def test_oversized_file_refused(app):
    report = run_import([("units.csv", b"x" * 2000)], max_bytes=1000)
    assert "quá lớn" in str(report.errors[0])


def test_reimport_is_a_noop_and_changes_are_audited(app):
    files = [csv("units.csv", UNITS_OK)]
    assert run_import(files).ok
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    again = run_import(files)
    assert again.files[0].unchanged == 3 and again.files[0].added == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before
    changed = run_import([csv("units.csv", UNITS_OK.replace("Y tế", "Y tế mới"))])
    change = [c for c in changed.files[0].changes if c.status == "updated"]
    assert len(change) == 1 and change[0].diffs == {"name": ("Y tế", "Y tế mới")}
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "import_update", AuditLog.entity_id == "S1")
    )
    assert entry.detail_data == {"name": ["Y tế", "Y tế mới"]}


def test_dry_run_writes_nothing(app):
    report = run_import([csv("units.csv", UNITS_OK)], dry_run=True)
    assert report.ok and not report.committed and report.files[0].added == 3
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_references_resolve_within_the_same_import(app):
    report = run_import(
        [
            csv(
                "tickets.csv",
                "opened_at,audience,category,unit_code,operator\n"
                "2023-09-05T08:00,citizen,c1,S1,op1\n",
            ),
            csv("users.csv", "username,full_name,role\nop1,Người Một,operator\n"),
            csv("categories.csv", "code,audience,label,report_phrase\nc1,citizen,Nhóm 1,nhóm 1\n"),
            csv("units.csv", UNITS_OK),
        ]
    )
    assert report.ok, [str(e) for e in report.errors]
    assert [f.kind for f in report.files] == ["units", "categories", "users", "tickets"]
    ticket = db.session.scalar(select(Ticket))
    assert ticket.ref == "HT-2309-0001" and ticket.unit.code == "S1"


def test_imported_users_get_no_usable_password(app):
    run_import([csv("users.csv", "username,full_name,role\nhoa.nt,Nguyễn Thị Hoa,operator\n")])
    user = db.session.scalar(select(User))
    assert user.password_hash is None and not user.check_password("")


def test_users_bad_role_and_organisation_unknown_key(app):
    report = run_import(
        [
            csv("users.csv", "username,full_name,role\nx.y,X,superuser\n"),
            csv("organisation.csv", "key,value\nmayor,Ông A\nplace,\n"),
        ]
    )
    messages = sorted(str(e) for e in report.errors)
    assert messages[0].startswith("organisation.csv:2: key:")
    assert messages[1].startswith("organisation.csv:3: value:")
    assert messages[2].startswith("users.csv:2: role:")


def test_activities_import_replaces_the_month(app):
    run_import([csv("activities.csv", "month,text\n2023-09,Một\n2023-09,Hai\n")])
    report = run_import([csv("activities.csv", "month,text\n2023-09,Ba\n")])
    assert report.ok
    texts = db.session.scalars(select(Activity.text).order_by(Activity.position)).all()
    assert texts == ["Ba"]


def test_city_stats_matched_not_above_lookups(app):
    report = run_import(
        [
            csv(
                "city_stats.csv",
                "month,population_lookups,population_matched,population_as_of\n"
                "2023-09,100,101,2023-09-22\n2023-09,1,1,2023-02-30\n",
            )
        ]
    )
    messages = [str(e) for e in report.errors]
    assert messages[0].startswith("city_stats.csv:2: population_matched:")
    assert any(m.startswith("city_stats.csv:3: population_as_of:") for m in messages)


def test_ticket_rows_validated(app):
    run_import(
        [
            csv("units.csv", UNITS_OK),
            csv("categories.csv", "code,audience,label,report_phrase\nc1,citizen,Nhóm 1,nhóm 1\n"),
        ]
    )
    report = run_import(
        [
            csv(
                "tickets.csv",
                "opened_at,audience,category,requester_phone,dossier_code,unit_code\n"
                "2099-01-01T08:00,citizen,c1,0912345678,,\n"  # future
                "2023-09-01T08:00,agency,c1,0912345678,,\n"  # audience mismatch
                "2023-09-01T08:00,citizen,c1,12345,,\n"  # bad phone
                "2023-09-01T08:00,citizen,c1,,000.00.12.H26,\n"  # bad dossier code
                "2023-09-01T08:00,citizen,zz,,,\n"  # unknown category
                "2023-09-01T09:00,citizen,c1,,,NOPE\n",
            )
        ]
    )  # unknown unit
    columns = [(e.line, e.column) for e in report.errors]
    assert columns == [
        (2, "opened_at"),
        (3, "category"),
        (4, "requester_phone"),
        (5, "dossier_code"),
        (6, "category"),
        (7, "unit_code"),
    ]


def test_fixture_loads_and_reimport_reports_everything_unchanged(app):
    first = run_import(collect_files([DEMO_DIR]))
    assert first.ok, [str(e) for e in first.errors]
    counts = {f.kind: f.added for f in first.files}
    assert counts == {
        "organisation": 10,
        "units": 251,
        "categories": 14,
        "users": 4,
        "unit_stats": 502,
        "city_stats": 1,
        "activities": 2,
        "tickets": 419,
        "answers": 11,
    }
    before = table_counts()
    second = run_import(collect_files([DEMO_DIR]))
    assert all(f.added == 0 and f.updated == 0 for f in second.files)
    assert sum(f.unchanged for f in second.files) == sum(counts.values())
    assert table_counts() == before


def test_reader_reports_line_numbers_like_a_spreadsheet():
    table = read_table("units.csv", b"code,level,kind,name\n\nS1,department,S\xe1\xbb\x9f,Y\n")
    assert [line for line, _ in table.rows] == [3]
