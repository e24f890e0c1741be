"""Monthly statistics through the import machinery: the fixture, re-import, bad rows, locks."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.cli import DEMO_DIR
from helpdesk.extensions import db
from helpdesk.formatting import number, percent
from helpdesk.imports import run_import
from helpdesk.imports.engine import collect_files
from helpdesk.stats.models import Activity, CityStat, UnitStat
from helpdesk.stats.queries import city_total, level_totals
from helpdesk.stats.services import lock_month, unlock_month
from helpdesk.stats.template import build_template, template_filename
from helpdesk.units.models import Unit

# The seed report's section 1 (helpdesk/demo is the hp-2023-09 fixture, byte for byte).
RECEIVED = {"department": 31854, "district": 8453, "commune": 48597}
ONLINE = {"department": 26162, "district": 8239, "commune": 47864}


def csv(name: str, text: str) -> tuple[str, bytes]:
    return name, text.encode("utf-8")


def load_fixture():
    report = run_import(collect_files([DEMO_DIR]))
    assert report.ok, [str(e) for e in report.errors]
    return report


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_cli_loads_the_fixture_with_the_reports_level_totals(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["data", "import", str(DEMO_DIR)])
    assert result.exit_code == 0, result.output
    assert "unit_stats.csv: 502 added, 0 updated, 0 unchanged" in result.output
    totals = level_totals("2023-09")
    assert {lvl: t.received for lvl, t in totals.items()} == RECEIVED
    assert {lvl: t.online for lvl, t in totals.items()} == ONLINE
    city = city_total(totals)
    assert (city.received, city.online) == (88904, 82265)
    # As the report writes them.
    assert [number(totals[lvl].received) for lvl in RECEIVED] == ["31.854", "8.453", "48.597"]
    assert percent(city.online, city.received) == "92,53%"
    assert [percent(t.online, t.received) for t in totals.values()] == [
        "82,13%",
        "97,47%",
        "98,49%",
    ]
    # Section 1.3: 14/19, 13/15 and 184/217 units attached signed results.
    assert [totals[lvl].positive["signed_results"] for lvl in RECEIVED] == [14, 13, 184]
    assert [totals[lvl].units for lvl in RECEIVED] == [19, 15, 217]


def test_cli_prints_the_checks_as_warnings(app):
    result = app.test_cli_runner().invoke(args=["data", "import", str(DEMO_DIR)])
    assert result.exit_code == 0
    # Five units' September payments are more than five times their August ones.
    jumps = [line for line in result.output.splitlines() if "gấp hơn 5 lần" in line]
    assert len(jumps) == 5, result.output
    assert any(line.startswith("warning: unit_stats.csv:") for line in jumps)


def test_reimport_is_a_noop(app):
    load_fixture()
    audit_before = count(AuditLog)
    stats_before = db.session.execute(
        select(UnitStat.month, UnitStat.unit_id, UnitStat.received, UnitStat.fee_amount).order_by(
            UnitStat.id
        )
    ).all()
    report = run_import(collect_files([DEMO_DIR]))
    assert report.ok
    for summary in report.files:
        assert summary.added == summary.updated == 0, summary.filename
    assert count(AuditLog) == audit_before
    stats_after = db.session.execute(
        select(UnitStat.month, UnitStat.unit_id, UnitStat.received, UnitStat.fee_amount).order_by(
            UnitStat.id
        )
    ).all()
    assert stats_after == stats_before


def test_blank_is_not_reported_not_zero(app):
    load_fixture()
    august = level_totals("2023-08")
    # August has payment figures only: received is not reported (None), never 0.
    assert august["department"].received is None
    assert august["department"].payment_transactions is not None
    sgddt = db.session.scalar(
        select(UnitStat).join(Unit).where(Unit.code == "SGDDT", UnitStat.month == "2023-08")
    )
    assert sgddt.received is None and sgddt.payment_transactions == 0
    # Communes report no payment_procedures: blank, so the level total is None too.
    assert level_totals("2023-09")["commune"].payment_procedures is None


def test_bad_rows_write_nothing_and_are_all_listed(app):
    load_fixture()
    before = count(UnitStat)
    lines = ["month,unit_code,received,online"]
    lines += [f"2023-10,{code},10,5" for code in ("SYT", "STP", "SKHDT")]
    lines.append("2023-10,SGTVT,498,512")  # line 5
    lines.append("2023-10,99999,1,1")  # line 6
    report = run_import([csv("unit_stats.csv", "\n".join(lines) + "\n")])
    assert [str(e) for e in report.errors] == [
        "unit_stats.csv:5: online: 512 lớn hơn received (498)",
        "unit_stats.csv:6: unit_code: không có đơn vị 99999",
    ]
    assert not report.committed
    assert count(UnitStat) == before
    assert db.session.scalar(select(UnitStat).where(UnitStat.month == "2023-10")) is None


def test_fee_parts_not_above_payment_wholes(app):
    load_fixture()
    text = (
        "month,unit_code,payment_transactions,payment_amount,fee_transactions,fee_amount\n"
        "2023-10,SYT,5,1000,6,999\n"
        "2023-10,STP,5,1000,5,1001\n"
    )
    report = run_import([csv("unit_stats.csv", text)])
    assert [str(e) for e in report.errors] == [
        "unit_stats.csv:2: fee_transactions: 6 lớn hơn payment_transactions (5)",
        "unit_stats.csv:3: fee_amount: 1001 lớn hơn payment_amount (1000)",
    ]


def test_wrong_sheet_is_named_clearly(app):
    load_fixture()
    workbook = Workbook()
    workbook.active.append(["Hướng dẫn điền số liệu"])
    workbook.active.append(["Điền vào trang tính thứ hai"])
    data_sheet = workbook.create_sheet("unit_stats")
    data_sheet.append(["month", "unit_code", "received"])
    data_sheet.append(["2023-10", "SYT", 5])
    out = io.BytesIO()
    workbook.save(out)
    report = run_import([("unit_stats.xlsx", out.getvalue())])
    assert len(report.errors) == 1
    message = str(report.errors[0])
    assert message.startswith("unit_stats.xlsx:1: dòng tiêu đề không phải của tệp unit_stats")
    assert "trang tính đầu tiên" in message
    assert db.session.scalar(select(UnitStat).where(UnitStat.month == "2023-10")) is None


def test_locked_month_refuses_rows_of_every_stats_kind(app):
    load_fixture()
    lock_month("2023-09", None)
    db.session.commit()
    report = run_import(
        [
            csv("unit_stats.csv", "month,unit_code,received\n2023-09,SYT,1\n"),
            csv("city_stats.csv", "month,population_lookups\n2023-09,70000\n"),
            csv("activities.csv", "month,text\n2023-09,Một\n"),
        ]
    )
    messages = [str(e) for e in report.errors]
    assert messages == [
        "unit_stats.csv:2: month: tháng 2023-09 đã khóa (báo cáo đã ban hành)",
        "city_stats.csv:2: month: tháng 2023-09 đã khóa (báo cáo đã ban hành)",
        "activities.csv:2: month: tháng 2023-09 đã khóa (báo cáo đã ban hành)",
    ]
    assert db.session.get(CityStat, "2023-09").population_lookups == 67086
    unlock_month("2023-09", None, "Sửa số liệu sau phản ánh của quận")
    db.session.commit()
    assert run_import([csv("city_stats.csv", "month,population_lookups\n2023-09,67087\n")]).ok


def test_template_lists_every_active_unit_in_report_order(app):
    load_fixture()
    retired = db.session.scalar(select(Unit).where(Unit.code == "TTTP"))
    retired.active = False
    db.session.commit()
    book = load_workbook(io.BytesIO(build_template("2023-10")))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("month", "unit_code", "unit_name", "received")
    codes = [r[1] for r in rows[1:]]
    assert len(codes) == 250 and "TTTP" not in codes
    assert codes[0] == "SLDTBXH" and codes[18] == "303"  # departments, then districts
    # Communes follow their district: the first district's communes come first.
    first_district = db.session.scalar(select(Unit).where(Unit.code == "303"))
    commune = db.session.scalar(select(Unit).where(Unit.code == codes[33]))
    assert commune.level == "commune" and commune.parent_id == first_district.id
    assert all(r[0] == "2023-10" for r in rows[1:])
    assert all(v is None for r in rows[1:] for v in r[3:])  # nothing filled in yet
    assert book.sheetnames == ["unit_stats", "Hướng dẫn"]
    assert template_filename("2023-10") == "unit_stats-2023-10.xlsx"


def test_template_round_trip(app):
    load_fixture()
    # September, filled in: uploading it back changes nothing.
    september = build_template("2023-09")
    report = run_import([(template_filename("2023-09"), september)])
    assert report.ok, [str(e) for e in report.errors]
    assert report.files[0].unchanged == 251 and report.files[0].added == 0
    # October, blank: fill in three units in "Excel", leave the rest blank.
    book = load_workbook(io.BytesIO(build_template("2023-10")))
    sheet = book.worksheets[0]
    filled = {"SLDTBXH": (7000, 6000), "303": (900, 880), "11296": (700, 690)}
    for row in sheet.iter_rows(min_row=2):
        if row[1].value in filled:
            row[3].value, row[4].value = filled[row[1].value]
    out = io.BytesIO()
    book.save(out)
    report = run_import([("unit_stats-2023-10 (1).xlsx", out.getvalue())])
    assert report.ok, [str(e) for e in report.errors]
    assert report.files[0].added == 3  # blank rows report nothing and write nothing
    assert report.files[0].unchanged == 248
    totals = level_totals("2023-10")
    assert (totals["department"].received, totals["department"].online) == (7000, 6000)
    assert (totals["district"].received, totals["commune"].received) == (900, 700)
    assert totals["commune"].reported == 1
    assert db.session.scalar(select(func.count()).where(UnitStat.month == "2023-10")) == 3
    # A downloaded October template now carries those figures.
    again = load_workbook(io.BytesIO(build_template("2023-10"))).worksheets[0]
    by_code = {r[1]: r for r in again.iter_rows(min_row=2, values_only=True)}
    assert by_code["SLDTBXH"][3:5] == (7000, 6000)


def test_a_column_the_file_lacks_keeps_the_stored_figures(app):
    load_fixture()
    syt = db.session.scalar(
        select(UnitStat).join(Unit).where(Unit.code == "SYT", UnitStat.month == "2023-09")
    )
    received, signed = syt.received, syt.signed_results
    # A file of payment figures only: dossier counts stay as they are.
    text = "month,unit_code,payment_transactions,payment_amount\n2023-09,SYT,7,7000\n"
    report = run_import([csv("unit_stats.csv", text)])
    assert report.ok, [str(e) for e in report.errors]
    change = report.files[0].changes[0]
    assert change.status == "updated" and set(change.diffs) <= {
        "payment_transactions",
        "payment_amount",
    }
    db.session.refresh(syt)
    assert (syt.received, syt.signed_results, syt.payment_transactions) == (received, signed, 7)
    # A blank cell, though, is "not reported".
    report = run_import([csv("unit_stats.csv", "month,unit_code,signed_results\n2023-09,SYT,\n")])
    db.session.refresh(syt)
    assert syt.signed_results is None and syt.received == received
    # Parts are checked against the stored wholes, and wholes against the stored parts.
    text = f"month,unit_code,online\n2023-09,SYT,{received + 1}\n"
    report = run_import([csv("unit_stats.csv", text)])
    assert [str(e) for e in report.errors] == [
        f"unit_stats.csv:2: online: {received + 1} lớn hơn received đã lưu ({received})"
    ]
    text = "month,unit_code,received\n2023-09,SYT,1\n"
    report = run_import([csv("unit_stats.csv", text)])
    assert [str(e) for e in report.errors] == [
        f"unit_stats.csv:2: received: 1 nhỏ hơn online đã lưu ({syt.online})"
    ]
    # city_stats alike.
    report = run_import([csv("city_stats.csv", "month,population_as_of\n2023-09,2023-09-29\n")])
    assert report.ok
    city = db.session.get(CityStat, "2023-09")
    assert (city.population_lookups, str(city.population_as_of)) == (67086, "2023-09-29")
    report = run_import([csv("city_stats.csv", "month,population_lookups\n2023-09,100\n")])
    assert [str(e) for e in report.errors] == [
        "city_stats.csv:2: population_matched: 55955 lớn hơn population_lookups (100)"
    ]


def test_unit_name_column_is_informative_only(app):
    load_fixture()
    text = "month,unit_code,unit_name,received\n2023-10,SYT,Tên gõ sai cũng được,12\n"
    report = run_import([csv("unit_stats.csv", text)])
    assert report.ok, [str(e) for e in report.errors]
    assert level_totals("2023-10")["department"].received == 12


def test_activities_import_keeps_order_and_replaces_the_month(app):
    load_fixture()
    texts = list(
        db.session.scalars(
            select(Activity.text).where(Activity.month == "2023-09").order_by(Activity.position)
        )
    )
    assert len(texts) == 2 and texts[0].startswith("Báo cáo Ủy ban nhân dân thành phố")
    report = run_import([csv("activities.csv", 'month,text\n2023-09,"Một"\n2023-09,"Hai"\n')])
    assert report.ok
    texts = list(
        db.session.scalars(
            select(Activity.text).where(Activity.month == "2023-09").order_by(Activity.position)
        )
    )
    assert texts == ["Một", "Hai"]
