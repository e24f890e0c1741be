"""Stats services, queries and checks on the September 2023 data set."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.stats import services
from helpdesk.stats.checks import control_mismatches, import_warnings, jumps, missing_units
from helpdesk.stats.models import Activity, CityStat, ControlTotal, MonthLock, UnitStat
from helpdesk.stats.page import month_page
from helpdesk.stats.queries import district_totals, level_totals, months_with_data, unit_rows
from helpdesk.stats.services import MonthLocked, StaleValue, StatsError
from helpdesk.units.models import Unit


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def stat(month: str, code: str) -> UnitStat | None:
    return db.session.scalar(
        select(UnitStat).join(Unit).where(UnitStat.month == month, Unit.code == code)
    )


def supervisor_id() -> int:
    return db.session.scalar(select(User.id).where(User.username == "thang.vd"))


def last_audit() -> AuditLog:
    return db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))


# --- queries ----------------------------------------------------------------------------------


def test_unit_rows_in_report_order(demo_app):
    rows = unit_rows("2023-09")
    assert len(rows) == 251
    levels = [r.level for r in rows]
    assert levels == sorted(levels, key=["department", "district", "commune"].index)
    communes = [r for r in rows if r.level == "commune"]
    # Communes come grouped by district, districts in their display order.
    district_order = [r.unit_id for r in rows if r.level == "district"]
    seen = []
    for r in communes:
        if not seen or seen[-1] != r.district_id:
            seen.append(r.district_id)
    # 14 groups: huyện Bạch Long Vĩ (an island) has no communes.
    assert len(seen) == len(set(seen)) == 14
    assert seen == [d for d in district_order if d in seen]
    assert communes[0].display.endswith("(quận Hồng Bàng)")


def test_district_totals_add_up_to_the_commune_level(demo_app):
    by_district = district_totals("2023-09")
    assert len(by_district) == 14
    assert sum(t.received for t in by_district.values()) == 48597
    assert sum(t.units for t in by_district.values()) == 217
    le_chan = by_district[unit("305").id]
    assert le_chan.units == 15 and le_chan.signed_results == 3519


def test_inactive_unit_listed_only_with_figures(demo_app):
    unit("TTTP").active = False
    db.session.commit()
    assert "TTTP" in [r.code for r in unit_rows("2023-09")]
    assert "TTTP" not in [r.code for r in unit_rows("2023-10")]
    assert level_totals("2023-09")["department"].units == 19
    assert level_totals("2023-10")["department"].units == 18


def test_month_page_query_count_is_bounded(demo_app, count_queries):
    with count_queries() as counter:
        page = month_page("2023-09")
    assert len(page.sections[2].groups) == 14
    assert sum(len(g.communes) for g in page.sections[2].groups) == 217
    assert counter.count <= 15, counter.statements


def test_months_with_data(demo_app):
    assert months_with_data()[:2] == ["2023-09", "2023-08"]


# --- checks -----------------------------------------------------------------------------------


def test_no_missing_units_in_september_and_named_when_missing(demo_app):
    assert missing_units("2023-09") == []
    db.session.delete(stat("2023-09", "SYT"))
    empty = stat("2023-09", "11296")
    for field in ("received", "online", "signed_results", "payment_transactions"):
        setattr(empty, field, None)
    empty.payment_amount = empty.fee_transactions = empty.fee_amount = None
    db.session.commit()
    findings = missing_units("2023-09")
    assert [f.level for f in findings] == ["department", "commune"]
    assert findings[0].message == (
        "Cấp Sở, ngành: 1/19 Sở, ban, ngành chưa có số liệu tháng 9/2023: Sở Y tế."
    )
    assert "phường Quán Toan (quận Hồng Bàng)" in findings[1].message


def test_an_empty_month_is_one_warning(demo_app):
    assert [f.message for f in missing_units("2023-11")] == [
        "Chưa có số liệu đơn vị nào cho tháng 11/2023."
    ]


def test_jumps_compare_with_the_month_before(demo_app):
    found = jumps("2023-09")
    assert len(found) == 5
    skhdt = next(f for f in found if f.unit_code == "SKHDT")
    assert skhdt.field == "payment_transactions"
    assert skhdt.message == (
        "Sở Kế hoạch và Đầu tư: Giao dịch thanh toán trực tuyến 82 gấp hơn 5 lần tháng 8/2023 (11)."
    )
    # Exactly five times is not "more than five times"; a zero base is never a jump.
    stat("2023-09", "SKHDT").payment_transactions = 55
    stat("2023-08", "SGDDT").payment_transactions = 0
    stat("2023-09", "SGDDT").payment_transactions = 1000
    db.session.commit()
    codes = {f.unit_code for f in jumps("2023-09")}
    assert "SKHDT" not in codes and "SGDDT" not in codes
    assert jumps("2023-08") == []  # July has no figures to compare with


def test_control_totals_mismatch(demo_app):
    assert control_mismatches("2023-09") == []
    services.set_control_totals(
        "2023-09",
        {
            ("department", "received"): 31854,
            ("district", "online"): 8240,
            ("commune", "payment_procedures"): 5,
        },
        supervisor_id(),
    )
    db.session.commit()
    messages = [f.message for f in control_mismatches("2023-09")]
    assert messages == [
        "Cấp xã, phường: TTHC thiết lập thanh toán: chưa có số liệu, tổng kiểm tra là 5.",
        "Cấp quận, huyện: Hồ sơ trực tuyến: tổng các đơn vị là 8.239, khác tổng kiểm tra "
        "8.240 (lệch -1).",
    ]
    # Removing a control total (None) stops the check.
    services.set_control_totals(
        "2023-09",
        {("district", "online"): None, ("commune", "payment_procedures"): None},
        supervisor_id(),
    )
    db.session.commit()
    assert control_mismatches("2023-09") == []
    assert db.session.scalar(select(ControlTotal.field)) == "received"


def test_import_warnings_point_at_the_line(demo_app):
    text = "month,unit_code,received,online\n2023-10,SYT,10,10\n"
    report = run_import([("unit_stats.csv", text.encode())], dry_run=True)
    assert report.ok
    assert report.warnings[0].startswith("Cấp Sở, ngành: 18/19 Sở, ban, ngành chưa có số liệu")
    assert "Cấp quận, huyện: chưa đơn vị nào (0/15) có số liệu tháng 10/2023." in report.warnings
    # A jump on a row of the file is shown at that row.
    text = "month,unit_code,received\n2023-10,SYT,1\n2023-10,STP,99999\n"
    report = run_import([("unit_stats.csv", text.encode())], dry_run=True)
    jump = [w for w in report.warnings if "gấp hơn" in w]
    assert jump == [
        "unit_stats.csv:3: received: Sở Tư pháp: Hồ sơ tiếp nhận 99.999 gấp hơn 5 lần "
        f"tháng 9/2023 ({stat('2023-09', 'STP').received})."
    ]
    assert import_warnings(type(report)()) == []


# --- single values ----------------------------------------------------------------------------


def test_set_unit_value_records_old_new_and_reason(demo_app):
    syt = unit("SYT")
    old = stat("2023-09", "SYT").received
    changed = services.set_unit_value(
        "2023-09", syt, "received", old + 10, "Sở Y tế gửi lại số liệu", supervisor_id(), old
    )
    db.session.commit()
    assert changed and stat("2023-09", "SYT").received == old + 10
    entry = last_audit()
    assert entry.action == "stat_edit" and entry.entity_id == "2023-09 SYT"
    assert entry.user_id == supervisor_id()
    assert entry.detail_data == {
        "field": "received",
        "old": old,
        "new": old + 10,
        "reason": "Sở Y tế gửi lại số liệu",
    }
    assert "Lý do: Sở Y tế gửi lại số liệu" in entry.summary
    assert level_totals("2023-09")["department"].received == 31864


def test_set_unit_value_blank_is_not_reported(demo_app):
    syt = unit("SYT")
    old = stat("2023-09", "SYT").signed_results
    services.set_unit_value("2023-09", syt, "signed_results", None, "Chưa xác minh", None, old)
    db.session.commit()
    assert stat("2023-09", "SYT").signed_results is None
    # A unit without a row gets one when a value is typed in.
    services.set_unit_value("2023-10", syt, "received", 0, "Báo cáo không phát sinh", None, None)
    db.session.commit()
    assert stat("2023-10", "SYT").received == 0 and stat("2023-10", "SYT").online is None


def test_set_unit_value_refuses_stale_and_broken_rules(demo_app):
    syt = unit("SYT")
    current = stat("2023-09", "SYT")
    with pytest.raises(StaleValue, match="lúc mở trang là 1, nay là"):
        services.set_unit_value("2023-09", syt, "online", 5, "Lý do đủ dài", None, 1)
    with pytest.raises(StatsError, match="lớn hơn Hồ sơ tiếp nhận"):
        services.set_unit_value(
            "2023-09", syt, "online", current.received + 1, "Lý do đủ dài", None, current.online
        )
    with pytest.raises(StatsError, match="lý do"):
        services.set_unit_value("2023-09", syt, "online", 1, " ", None, current.online)
    with pytest.raises(StatsError, match="Không có chỉ tiêu"):
        services.set_unit_value("2023-09", syt, "bogus", 1, "Lý do đủ dài", None, None)
    db.session.rollback()
    assert stat("2023-09", "SYT").online == current.online


@pytest.mark.parametrize(
    ("text", "value"),
    [("88904", 88904), ("88.904", 88904), (" 1.234.567 ", 1234567), ("", None), ("0", 0)],
)
def test_parse_figure(text, value):
    assert services.parse_figure(text) == value


@pytest.mark.parametrize("text", ["-1", "1,5", "12.34", "abc", "１２", "1" * 17])
def test_parse_figure_refuses(text):
    with pytest.raises(StatsError):
        services.parse_figure(text)


def test_city_value(demo_app):
    services.set_city_value("2023-09", "population_matched", 60000, "Cập nhật lũy kế", None, 55955)
    db.session.commit()
    assert db.session.get(CityStat, "2023-09").population_matched == 60000
    with pytest.raises(StatsError, match="lớn hơn số lượt khai thác"):
        services.set_city_value(
            "2023-09", "population_matched", 70000, "Cập nhật lũy kế", None, 60000
        )


# --- locks ------------------------------------------------------------------------------------


def test_lock_makes_every_edit_refuse(demo_app):
    uid = supervisor_id()
    activity = services.add_activity("2023-09", "Hỗ trợ thêm", uid)
    services.lock_month("2023-09", uid)
    db.session.commit()
    assert services.is_locked("2023-09") and not services.is_locked("2023-08")
    syt = unit("SYT")
    online = stat("2023-09", "SYT").online
    attempts = [
        lambda: services.set_unit_value("2023-09", syt, "online", 1, "Lý do đủ dài", uid, online),
        lambda: services.set_city_value(
            "2023-09", "population_lookups", 1, "Lý do đủ dài", uid, 67086
        ),
        lambda: services.add_activity("2023-09", "Mới", uid),
        lambda: services.update_activity(activity, "Khác", uid),
        lambda: services.move_activity(activity, -1, uid),
        lambda: services.delete_activity(activity, uid),
        lambda: services.set_control_totals("2023-09", {("district", "received"): 1}, uid),
    ]
    for attempt in attempts:
        with pytest.raises(MonthLocked, match="đã khóa"):
            attempt()
    # lock_month is idempotent: issuing twice keeps the first lock.
    first = db.session.get(MonthLock, "2023-09").locked_at
    assert services.lock_month("2023-09", uid).locked_at == first


def test_unlock_needs_a_reason_and_is_audited(demo_app):
    uid = supervisor_id()
    services.lock_month("2023-09", uid)
    db.session.commit()
    with pytest.raises(StatsError, match="lý do"):
        services.unlock_month("2023-09", uid, "  ")
    services.unlock_month("2023-09", uid, "Quận Lê Chân báo sai số hồ sơ")
    db.session.commit()
    assert not services.is_locked("2023-09")
    entry = last_audit()
    assert (entry.action, entry.entity_id, entry.user_id) == ("unlock", "2023-09", uid)
    assert json.loads(entry.detail)["reason"] == "Quận Lê Chân báo sai số hồ sơ"
    with pytest.raises(StatsError, match="không bị khóa"):
        services.unlock_month("2023-09", uid, "Lần thứ hai")


# --- activities -------------------------------------------------------------------------------


def texts(month: str) -> list[str]:
    return list(
        db.session.scalars(
            select(Activity.text).where(Activity.month == month).order_by(Activity.position)
        )
    )


def test_activities_add_edit_move_delete(demo_app):
    uid = supervisor_id()
    a = services.add_activity("2023-10", "Một", uid)
    b = services.add_activity("2023-10", "Hai", uid)
    c = services.add_activity("2023-10", "Ba", uid)
    db.session.commit()
    assert texts("2023-10") == ["Một", "Hai", "Ba"]
    assert services.move_activity(c, -1, uid) and services.move_activity(c, -1, uid)
    assert not services.move_activity(c, -1, uid)  # already first
    db.session.commit()
    assert texts("2023-10") == ["Ba", "Một", "Hai"]
    services.update_activity(a, "Một (sửa)", uid, expected="Một")
    services.delete_activity(b, uid)
    db.session.commit()
    assert texts("2023-10") == ["Ba", "Một (sửa)"]
    positions = db.session.scalars(
        select(Activity.position).where(Activity.month == "2023-10").order_by(Activity.position)
    ).all()
    assert positions == [1, 2]
    with pytest.raises(StaleValue, match="vừa được người khác sửa"):
        services.update_activity(a, "Khác", uid, expected="Một")
    with pytest.raises(StatsError, match="Nhập nội dung"):
        services.add_activity("2023-10", "   ", uid)
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "activities")
    ).all()
    assert {"activity_add", "activity_move", "activity_edit", "activity_delete"} <= set(actions)


@pytest.mark.parametrize("value", [0, 7, 999, 1000, 88904, 749104899, 10**15])
def test_fast_integer_format_matches_babel(value):
    from helpdesk.formatting import number
    from helpdesk.stats.labels import vint

    assert vint(value) == number(value)
    assert vint(None, "—") == "—"
