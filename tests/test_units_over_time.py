"""Units over time (FORMATS.md): lifetimes, successors, reused codes, and every rule as an error.

One database lives through the 2025 reorganisation: the 09/2023 data set, then the 08/2025 one.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from helpdesk.cli import DEMO_2025_DIR, DEMO_DIR
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.imports.engine import collect_files
from helpdesk.stats.models import UnitStat
from helpdesk.tickets.models import Ticket
from helpdesk.units.models import Unit, unit_successors
from helpdesk.units.periods import CodeIndex, UnitNotFound, units_in


def csv(name: str, *lines: str) -> tuple[str, bytes]:
    return name, ("\n".join(lines) + "\n").encode()


UNITS_HEADER = "code,level,kind,name,parent_code,valid_from,valid_to,successor_codes"


def unit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Unit))


def errors_of(report) -> list[str]:
    return [str(e) for e in report.errors]


def level_counts(when) -> dict[str, int]:
    return {info.level: info.units for info in units_in(when).levels}


# -- both eras in one database ------------------------------------------------------------------


def test_each_month_has_the_units_of_its_day(eras_app):
    assert level_counts("2023-09") == {"department": 19, "district": 15, "commune": 217}
    assert level_counts("2025-08") == {"department": 14, "commune": 114}
    # March to June 2025: the merged departments, the old districts and communes.
    assert level_counts("2025-04") == {"department": 14, "district": 15, "commune": 217}
    # February 2025 has the old departments (until 28/2) and none of the new ones yet.
    assert level_counts("2025-02")["department"] == 19
    # July 2025: 1/7 is the first day of the two-level city.
    assert level_counts("2025-07") == {"department": 14, "commune": 114}
    # A period that spans the change has the units of both sides.
    month_june = units_in("2025-06")
    assert month_june.has_districts
    communes = units_in("2025-08").level("commune")
    assert communes.kinds == ("xã", "phường", "đặc khu")
    assert communes.label == "Cấp xã, phường, đặc khu"
    assert communes.phrase == "xã, phường, đặc khu"
    assert units_in("2023-09").level("commune").label == "Cấp xã, phường"
    assert units_in("2023-09").level("commune").phrase == "xã, phường, thị trấn"


def test_reused_codes_resolve_on_their_day(eras_app):
    index = CodeIndex.load()
    old = index.on("11311", date(2023, 9, 15))
    new = index.on("11311", date(2025, 8, 1))
    assert (old.kind, old.name, old.valid_to) == ("phường", "Minh Khai", date(2025, 6, 30))
    assert (new.kind, new.name, new.valid_from, new.parent_id) == (
        "phường",
        "Hồng Bàng",
        date(2025, 7, 1),
        None,
    )
    assert old.id != new.id
    assert [s.id for s in old.successors] == [new.id]  # a unit may succeed under its own code
    assert index.in_month("11311", "2025-06").id == old.id
    # A district ended on 30/6/2025 and names no successor: the message says when it ended.
    with pytest.raises(UnitNotFound, match="đã kết thúc ngày 30/6/2025"):
        index.on("303", date(2025, 7, 1))
    # An old department names the ones that took it over.
    with pytest.raises(UnitNotFound, match=r"Sở Nội vụ \(SNV\), Sở Y tế \(SYT\)"):
        index.in_month("SLDTBXH", "2025-08")
    with pytest.raises(UnitNotFound, match="bắt đầu từ ngày 01/3/2025"):
        index.in_month("SNNMT", "2024-12")
    # Successors in the resolution's order.
    split = db.session.scalar(
        sa.select(Unit).where(Unit.code == "SLDTBXH")  # one unit with that code
    )
    assert [s.code for s in split.successors] == ["SNV", "SYT"]


def test_reimporting_either_era_changes_nothing(eras_app):
    def snapshot():
        units = db.session.execute(
            sa.select(
                Unit.code,
                Unit.valid_from,
                Unit.valid_to,
                Unit.name,
                Unit.parent_id,
                Unit.position,
            ).order_by(Unit.id)
        ).all()
        links = db.session.execute(
            sa.select(unit_successors).order_by(unit_successors.c.unit_id, "successor_id")
        ).all()
        return units, links

    def changed(folder) -> dict:
        report = run_import(collect_files([folder]))
        assert report.ok, errors_of(report)
        return {f.filename: (f.added, f.updated) for f in report.files if f.added or f.updated}

    before = snapshot()
    assert changed(DEMO_2025_DIR) == {}
    # The 2023 files: only the report's issuer goes back to 2023's (Sở TT&TT); every unit,
    # figure and ticket stays as it is.
    assert changed(DEMO_DIR) == {"organisation.csv": (0, 5)}
    assert changed(DEMO_2025_DIR) == {"organisation.csv": (0, 5)}
    assert changed(DEMO_2025_DIR) == {}
    # The 2023 units file has no lifetime columns: the stored lifetimes stay.
    assert snapshot() == before


def test_the_2023_files_import_again_after_the_reorganisation_without_errors(eras_app):
    # Stats and tickets of 2023 resolve their codes in 2023 (11311 is phường Minh Khai then).
    stat = db.session.scalar(
        sa.select(UnitStat)
        .join(Unit, Unit.id == UnitStat.unit_id)
        .where(Unit.code == "11311", UnitStat.month == "2023-09")
    )
    assert stat.unit.name == "Minh Khai"
    stat_new = db.session.scalar(
        sa.select(UnitStat)
        .join(Unit, Unit.id == UnitStat.unit_id)
        .where(Unit.code == "11311", UnitStat.month == "2025-08")
    )
    assert stat_new.unit.name == "Hồng Bàng"


def test_tickets_point_at_the_unit_of_their_day(eras_app):
    rows = db.session.execute(
        sa.select(Ticket.opened_month, Unit.valid_from, Unit.valid_to)
        .join(Unit, Unit.id == Ticket.unit_id)
        .where(Ticket.opened_month.in_(("2023-09", "2025-08")))
    ).all()
    assert rows
    for month, valid_from, valid_to in rows:
        day = date(int(month[:4]), int(month[5:]), 1)
        assert valid_to is None or valid_to >= day, month
        assert valid_from is None or valid_from <= date(day.year, day.month, 28), month


def test_a_dry_run_of_the_reorganisation_shows_every_change_and_writes_nothing(demo_app):
    before = unit_count()
    report = run_import(collect_files([DEMO_2025_DIR]), dry_run=True)
    assert report.ok, errors_of(report)
    units = next(f for f in report.files if f.kind == "units")
    assert units.added == 117  # 3 new departments and 114 communes
    assert units.updated == 251 - 9 - 2  # every unit that ended (9 departments and 2 remain)
    ended = next(c for c in units.changes if c.key == "11311")
    assert ended.diffs["valid_to"] == (None, date(2025, 6, 30))
    assert ended.diffs["successor_codes"] == (None, "11311")
    assert unit_count() == before


# -- a city that starts on the new structure ----------------------------------------------------


def test_a_city_that_starts_with_two_levels(app):
    files = [
        csv(
            "units.csv",
            UNITS_HEADER,
            "SXD,department,Sở,Xây dựng,,2025-03-01,,",
            "SYT,department,Sở,Y tế,,,,",
            "26001,commune,phường,Ba Đình,,2025-07-01,,",
            "26002,commune,xã,Yên Thế,,2025-07-01,,",
            "26003,commune,đặc khu,Côn Đảo,,2025-07-01,,",
        ),
        csv(
            "unit_stats.csv",
            "month,unit_code,received,online",
            "2025-08,SXD,100,90",
            "2025-08,26001,50,45",
            "2025-08,26003,7,7",
        ),
    ]
    report = run_import(files)
    assert report.ok, errors_of(report)
    period = units_in("2025-08")
    assert period.level_names == ("department", "commune")
    assert period.level("commune").label == "Cấp xã, phường, đặc khu"
    from helpdesk.stats.queries import level_totals

    totals = level_totals("2025-08")
    assert list(totals) == ["department", "commune"]
    assert totals["commune"].received == 57
    assert totals["commune"].units == 3
    # Before those units existed, the month has no units at all.
    assert units_in("2025-06").levels == (units_in("2025-06").level("department"),)


# -- every rule of Units over time is an import error; nothing is written ----------------------


BASE_UNITS = (
    UNITS_HEADER,
    "SA,department,Sở,A,,,2025-02-28,SB",
    "SB,department,Sở,B,,2025-03-01,,",
    "301,district,quận,Một,,,2025-06-30,",
    "10001,commune,phường,Cũ,301,,2025-06-30,20001",
    "20001,commune,phường,Mới,,2025-07-01,,",
)


@pytest.fixture
def base_city(app):
    report = run_import([csv("units.csv", *BASE_UNITS)])
    assert report.ok, errors_of(report)
    return app


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "SC,department,Sở,C,,2025-05-01,2025-04-30,",
            "units.csv:2: valid_to: 2025-04-30 trước valid_from (2025-05-01)",
        ),
        (
            "SC,department,Sở,C,,,,SB",
            "units.csv:2: successor_codes: đơn vị có đơn vị kế thừa phải có valid_to",
        ),
        (
            "SC,department,Sở,C,,,2024-12-31,SB",
            "units.csv:2: successor_codes: đơn vị kế thừa SB không tồn tại ngày 2025-01-01",
        ),
        (
            "SC,department,Sở,C,,,2025-02-28,SZ",
            "units.csv:2: successor_codes: không có đơn vị kế thừa SZ",
        ),
        (
            "SB,department,Sở,B trùng,,2025-06-01,,",
            "units.csv:2: valid_from: mã SB đã có đơn vị 2025-03-01 – … (đã lưu)",
        ),
        (
            "10002,commune,xã,Hai,301,2025-01-01,2025-12-31,",
            "units.csv:2: parent_code: đơn vị cha 301 (… – 2025-06-30) không tồn tại suốt",
        ),
        (
            "10002,commune,xã,Hai,SA,,2025-01-31,",
            "units.csv:2: parent_code: SA không phải quận, huyện",
        ),
        (
            "SC,department,Sở,C,,2025-06-30 hello,,",
            "units.csv:2: valid_from: '2025-06-30 hello' không phải ngày dạng YYYY-MM-DD",
        ),
        (
            "SC,department,Sở,C,,2025-13-01,,",
            "units.csv:2: valid_from: '2025-13-01' không phải ngày có thật (YYYY-MM-DD)",
        ),
        ("SC,department,Sở,C,301,,,", "units.csv:2: parent_code: Sở, ngành không có đơn vị cha"),
        (
            "SC,department,Sở,C,,,2025-01-31,SB|bad code",
            "units.csv:2: successor_codes: 'bad code' không phải mã đơn vị",
        ),
    ],
)
def test_a_bad_unit_row_is_refused_and_nothing_is_written(base_city, row, expected):
    before = unit_count()
    good = "SD,department,Sở,D mới,,2025-03-01,,"
    report = run_import([csv("units.csv", UNITS_HEADER, row, good)])
    assert not report.ok
    assert any(e.startswith(expected) for e in errors_of(report)), errors_of(report)
    assert unit_count() == before
    assert db.session.scalar(sa.select(Unit).where(Unit.code == "SD")) is None


def test_two_rows_with_one_code_and_overlapping_lifetimes_in_one_file(app):
    report = run_import(
        [
            csv(
                "units.csv",
                UNITS_HEADER,
                "SA,department,Sở,A,,,2025-06-30,",
                "SA,department,Sở,A mới,,2025-06-01,,",
            )
        ]
    )
    assert not report.ok
    assert any("units.csv:2: valid_from: mã SA đã có đơn vị" in e for e in errors_of(report))
    assert any("(dòng 3)" in e for e in errors_of(report))
    assert unit_count() == 0


def test_a_successor_may_be_later_in_the_same_file_and_share_the_code(app):
    report = run_import(
        [
            csv(
                "units.csv",
                UNITS_HEADER,
                "10001,commune,xã,Cũ,,,2025-06-30,10001|10002",
                "10001,commune,xã,Mới,,2025-07-01,,",
                "10002,commune,phường,Khác,,2025-07-01,,",
            )
        ]
    )
    assert report.ok, errors_of(report)
    old = CodeIndex.load().on("10001", date(2025, 6, 30))
    assert [(s.code, s.name) for s in old.successors] == [("10001", "Mới"), ("10002", "Khác")]


def test_stats_and_tickets_outside_a_lifetime_name_the_successors(base_city):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(UnitStat))
    report = run_import(
        [
            csv("categories.csv", "code,audience,label,report_phrase", "c1,citizen,Một,một"),
            csv(
                "unit_stats.csv",
                "month,unit_code,received",
                "2025-08,10001,5",
                "2025-08,SA,3",
                "2025-01,SB,3",
                "2025-08,20001,9",
            ),
            csv(
                "tickets.csv",
                "opened_at,audience,category,unit_code,requester_phone",
                "2025-07-01T08:00,citizen,c1,10001,0912345678",
                "2025-06-30T08:00,citizen,c1,20001,0912345679",
            ),
        ]
    )
    errors = errors_of(report)
    assert not report.ok
    assert (
        "unit_stats.csv:2: unit_code: phường Cũ (quận Một) (10001) đã kết thúc ngày 30/6/2025; "
        "đơn vị kế thừa: phường Mới (20001)"
    ) in errors
    assert (
        "unit_stats.csv:3: unit_code: Sở A (SA) đã kết thúc ngày 28/02/2025; "
        "đơn vị kế thừa: Sở B (SB)"
    ) in errors
    assert "unit_stats.csv:4: unit_code: Sở B (SB) bắt đầu từ ngày 01/3/2025" in errors
    assert any(e.startswith("tickets.csv:2: unit_code: phường Cũ") for e in errors)
    assert any(e.startswith("tickets.csv:3: unit_code: phường Mới") for e in errors)
    assert len(errors) == 5  # the good stats row is not an error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitStat)) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_a_code_that_names_two_units_in_one_month_cannot_carry_its_statistics(app):
    report = run_import(
        [
            csv(
                "units.csv",
                UNITS_HEADER,
                "X1,department,Sở,Cũ,,,2025-07-15,X1",
                "X1,department,Sở,Mới,,2025-07-16,,",
            ),
            csv("unit_stats.csv", "month,unit_code,received", "2025-07,X1,5", "2025-08,X1,6"),
        ]
    )
    errors = errors_of(report)
    assert len(errors) == 1, errors
    assert errors[0].startswith("unit_stats.csv:2: unit_code: mã X1 chỉ 2 đơn vị trong kỳ này")


def test_an_import_may_end_existing_units_and_the_ending_is_audited(base_city):
    from helpdesk.audit import AuditLog

    report = run_import(
        [
            csv(
                "units.csv",
                UNITS_HEADER,
                "SB,department,Sở,B,,2025-03-01,2026-06-30,SE",
                "SE,department,Sở,E,,2026-07-01,,",
            )
        ]
    )
    assert report.ok, errors_of(report)
    sb = CodeIndex.load().on("SB", date(2026, 1, 1))
    assert sb.valid_to == date(2026, 6, 30)
    assert [s.code for s in sb.successors] == ["SE"]
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.entity == "unit", AuditLog.action == "import_update")
    ).all()
    assert any(e.entity_id == "SB@2025-03-01" and "valid_to" in (e.detail or "") for e in entries)
    assert any("successor_codes" in (e.detail or "") for e in entries)


# -- an import may not leave data pointing at a unit that no longer exists -----------------------


def test_ending_a_unit_that_has_later_tickets_and_statistics_is_refused(eras_app):
    """The same rule as the admin page's: tickets and statistics after the last day refuse it."""
    row = "SGDDT,department,Sở,Giáo dục và Đào tạo,,,2025-06-30,SKHCN"
    report = run_import([csv("units.csv", UNITS_HEADER, row)])
    errors = errors_of(report)
    assert any(
        e.startswith("units.csv:2: valid_to: ") and "phiếu hỗ trợ của đơn vị này nằm ngoài" in e
        for e in errors
    ), errors
    assert any("có số liệu tháng 2025-07, 2025-08 nằm ngoài" in e for e in errors), errors
    assert CodeIndex.load().on("SGDDT", date(2025, 8, 1)).valid_to is None


def test_shortening_a_district_that_outlives_its_communes_is_refused(eras_app):
    report = run_import(
        [csv("units.csv", UNITS_HEADER, "303,district,quận,Hồng Bàng,,,2025-05-31,")]
    )
    errors = errors_of(report)
    assert any(
        e.startswith("units.csv:2: valid_to: đơn vị con ") and "sống lâu hơn đơn vị cha" in e
        for e in errors
    ), errors


def test_a_blank_end_in_an_old_file_does_not_reopen_an_ended_unit(eras_app):
    before = unit_count()
    report = run_import(
        [csv("units.csv", UNITS_HEADER, "STTTT,department,Sở,Thông tin và Truyền thông,,,,")]
    )
    assert errors_of(report) == [
        "units.csv:2: valid_to: để trống sẽ mở lại Sở Thông tin và Truyền thông (STTTT) đã kết "
        "thúc ngày 28/02/2025; ghi valid_to 2025-02-28 hoặc bỏ cột valid_to để giữ nguyên"
    ]
    # Without the lifetime columns the same row changes nothing.
    report = run_import(
        [csv("units.csv", "code,level,kind,name", "STTTT,department,Sở,Thông tin và Truyền thông")]
    )
    assert report.ok and report.files[0].unchanged == 1
    assert unit_count() == before


def test_a_partial_units_file_keeps_the_display_order(eras_app):
    last = db.session.scalar(
        sa.select(Unit).where(Unit.level == "commune").order_by(Unit.position.desc()).limit(1)
    )
    row = (
        f"{last.code},commune,{last.kind},{last.name},,{last.valid_from or ''},"
        f"{last.valid_to or ''},"
    )
    report = run_import([csv("units.csv", UNITS_HEADER, row)])
    assert report.ok, errors_of(report)
    assert report.files[0].unchanged == 1
    added = run_import([csv("units.csv", UNITS_HEADER, "99999,commune,xã,Mới Thêm,,2026-01-01,,")])
    assert added.ok, errors_of(added)
    new = db.session.scalar(sa.select(Unit).where(Unit.code == "99999"))
    assert new.position == last.position + 1


def test_a_month_typed_into_a_spreadsheet_as_a_date_is_read_as_that_month(app):
    import io

    from openpyxl import Workbook

    run_import([csv("units.csv", UNITS_HEADER, "SA,department,Sở,A,,,,")])
    book = Workbook()
    sheet = book.active
    sheet.append(["month", "unit_code", "received"])
    sheet.append([datetime(2025, 8, 1), "SA", 12])
    data = io.BytesIO()
    book.save(data)
    report = run_import([("unit_stats.xlsx", data.getvalue())])
    assert report.ok, errors_of(report)
    assert db.session.scalar(sa.select(UnitStat.month)) == "2025-08"
