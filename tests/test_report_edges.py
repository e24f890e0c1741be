"""Edge cases of the report's figures and sentences, on small data sets in a real database."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from helpdesk.extensions import db
from helpdesk.reports.builder import ReportError, build_month
from helpdesk.reports.services import build_document
from helpdesk.stats.models import CityStat, UnitStat
from helpdesk.tickets.models import Category, Ticket
from helpdesk.units.models import Unit


def unit(code, level, kind, name, parent=None, position=0) -> Unit:
    row = Unit(code=code, level=level, kind=kind, name=name, parent=parent, position=position)
    row.refresh_search_key()
    db.session.add(row)
    db.session.flush()
    return row


def stat(month: str, unit_row: Unit, **figures) -> None:
    db.session.add(UnitStat(month=month, unit_id=unit_row.id, **figures))


@pytest.fixture
def small_city(app):
    """Two departments, a district with a thị trấn and a xã, a district with one phường."""
    units = {
        "s1": unit("S1", "department", "Sở", "Y tế", position=1),
        "s2": unit("S2", "department", "Sở", "Xây dựng", position=2),
        "h1": unit("H1", "district", "huyện", "An Dương", position=1),
        "q1": unit("Q1", "district", "quận", "Đồ Sơn", position=2),
    }
    units["tt"] = unit("TT1", "commune", "thị trấn", "An Dương", units["h1"], position=1)
    units["x1"] = unit("X1", "commune", "xã", "An Hưng", units["h1"], position=2)
    units["p1"] = unit("P1", "commune", "phường", "Bàng La", units["q1"], position=3)
    db.session.commit()
    return units


def text_of(month: str, report_date=date(2024, 3, 5)) -> str:
    return build_document(month, report_date).plain_text()


def test_a_month_without_statistics_is_refused(app):
    with pytest.raises(ReportError, match="chưa có số liệu"):
        build_month("2024-02")


def test_no_previous_month_leaves_the_comparison_out(small_city):
    u = small_city
    stat("2024-03", u["s1"], payment_transactions=12, payment_amount=3_400_000)
    stat("2024-03", u["x1"], payment_transactions=3, payment_amount=600_000)
    db.session.commit()
    text = text_of("2024-03")
    assert (
        "- Theo thống kê trên hệ thống, trong tháng 3/2024, trên Hệ thống có 02 đơn vị phát sinh "
        "15 giao dịch thanh toán trực tuyến với tổng số tiền 4.000.000 đồng." in text
    )
    assert "so với tháng" not in text
    # Fees not reported: no "trong đó thanh toán phí/lệ phí" clause, never "0 giao dịch".
    assert "phí/lệ phí" not in text
    # Nothing else was reported: those sections are left out, not printed as zero.
    for absent in (
        "Tổng số hồ sơ tiếp nhận",
        "1.3.",
        "1.4.",
        "Cấp Sở, ngành",
        "thủ tục hành chính của",
    ):
        assert absent not in text


def test_previous_month_without_payments_is_no_comparison(small_city):
    u = small_city
    stat("2024-02", u["s1"], received=10, online=5)  # February reported, but no payments
    stat("2024-03", u["s1"], payment_transactions=2, payment_amount=1000)
    db.session.commit()
    assert "so với tháng 2/2024" not in text_of("2024-03")


def test_amounts_over_a_billion_and_the_sign_of_the_change(small_city):
    u = small_city
    stat("2024-02", u["s1"], payment_transactions=900, payment_amount=2_000_000_000)
    stat(
        "2024-03",
        u["s1"],
        payment_procedures=7,
        payment_transactions=1_250,
        payment_amount=12_345_678_901,
        fee_transactions=1_200,
        fee_amount=1_000_000_001,
    )
    stat("2024-03", u["h1"], payment_procedures=3, payment_transactions=0, payment_amount=0)
    db.session.commit()
    text = text_of("2024-03")
    assert (
        "có 01 đơn vị phát sinh 1.250 giao dịch thanh toán trực tuyến với tổng số tiền "
        "12.345.678.901 đồng; trong đó thanh toán phí/lệ phí: tổng số 1.200 giao dịch với tổng "
        "số tiền 1.000.000.001 đồng (tăng 350 giao dịch và tăng 10.345.678.901 đồng so với "
        "tháng 2/2024 là 01 đơn vị phát sinh 900 giao dịch thanh toán trực tuyến với tổng số "
        "tiền 2.000.000.000 đồng)." in text
    )
    # Procedures: a leading zero under 10 in unit counts, levels joined with "và".
    assert (
        "hiện có 7 thủ tục hành chính của 01 Sở ngành và 3 thủ tục hành chính của 01 quận huyện "
        "đã được thiết lập" in text
    )


def test_fewer_transactions_and_more_money(small_city):
    u = small_city
    stat("2024-02", u["s1"], payment_transactions=50, payment_amount=1_000)
    stat("2024-03", u["s1"], payment_transactions=40, payment_amount=1_500)
    db.session.commit()
    assert "(giảm 10 giao dịch và tăng 500 đồng so với tháng 2/2024" in text_of("2024-03")


def test_a_level_where_every_unit_is_done(small_city):
    u = small_city
    stat("2024-03", u["s1"], signed_results=1)
    stat("2024-03", u["s2"], signed_results=1_204)
    stat("2024-03", u["h1"], signed_results=7)
    stat("2024-03", u["q1"], signed_results=0)
    stat("2024-03", u["tt"], signed_results=55)
    stat("2024-03", u["x1"], signed_results=0)
    stat("2024-03", u["p1"], signed_results=9)
    db.session.commit()
    text = text_of("2024-03")
    assert (
        "- Cấp sở có 1.205 hồ sơ của 02/02 đơn vị, cụ thể: Sở Y tế (01 kết quả), "
        "Sở Xây dựng (1.204 kết quả)." in text
    )
    assert "- Cấp huyện có 7 hồ sơ của 01/02 đơn vị, cụ thể: huyện An Dương (07 kết quả)." in text
    assert "- Cấp xã có 64 hồ sơ của 02/03 đơn vị, cụ thể:" in text
    assert "+ Huyện An Dương: TT.An Dương (55 kết quả);" in text
    assert "+ Quận Đồ Sơn: phường Bàng La (09 kết quả)." in text
    # Departments are all done: left out of the "not yet done" line.
    assert "- Các đơn vị chưa thực hiện: 01/02 quận huyện, 01/03 xã phường." in text


def test_every_unit_done_everywhere(small_city):
    for key in ("s1", "s2", "h1", "q1", "tt", "x1", "p1"):
        stat("2024-03", small_city[key], signed_results=3)
    db.session.commit()
    text = text_of("2024-03")
    assert "- Tất cả các đơn vị đã thực hiện." in text
    assert "chưa thực hiện:" not in text


def test_not_reported_level_is_left_out_of_signed_results(small_city):
    u = small_city
    stat("2024-03", u["s1"], signed_results=4, received=100, online=40)
    stat("2024-03", u["h1"], received=50)  # the district level reports no signed results
    db.session.commit()
    text = text_of("2024-03")
    assert "- Cấp sở có 4 hồ sơ của 01/02 đơn vị, cụ thể: Sở Y tế (04 kết quả)." in text
    assert "Cấp huyện có" not in text
    assert "- Các đơn vị chưa thực hiện: 01/02 sở, ban ngành." in text
    # Received is reported for two levels; online for one only: its rate uses its own base.
    assert (
        "Tổng số hồ sơ tiếp nhận được cập nhật trên hệ thống là 150 hồ sơ, trong đó: Số hồ sơ "
        "tiếp nhận tại các Sở, ngành là 100 hồ sơ, các quận, huyện là 50 hồ sơ." in text
    )
    assert "Số hồ sơ trực tuyến là 40 hồ sơ (đạt tỷ lệ 40,00%), các Sở, ngành 40 hồ sơ" in text
    # Table: the department that did not report shows a dash, not 0.
    doc = build_document("2024-03", date(2024, 3, 5))
    chart = next(b.chart for b in doc.blocks if b.chart is not None)
    assert [r.cells for r in chart.rows] == [("100", "40", "40,00%"), ("–", "–", "–")]


def test_population_without_date_or_matches(small_city):
    db.session.add(CityStat(month="2024-03", population_lookups=1_234_567))
    db.session.commit()
    text = text_of("2024-03")
    assert (
        "Tính đến hết tháng 3/2024 đã thực hiện tổng 1.234.567 lượt khai thác chức năng xác "
        "thực công dân, xác thực dịch vụ từ cơ sở dữ liệu quốc gia về dân cư." in text
    )
    db.session.execute(
        update(CityStat).values(population_matched=1_000, population_as_of=date(2024, 3, 7))
    )
    db.session.commit()
    assert "Tính đến ngày 07/3/2024 đã thực hiện tổng 1.234.567 lượt" in text_of("2024-03")


def _move_tickets(category_code: str, to_month: str) -> int:
    category = db.session.scalar(select(Category).where(Category.code == category_code))
    result = db.session.execute(
        update(Ticket)
        .where(Ticket.category_id == category.id, Ticket.opened_month == "2023-09")
        .values(opened_month=to_month)
    )
    db.session.commit()
    return result.rowcount


def test_a_category_without_tickets_is_not_named(demo_app):
    moved = _move_tickets("activation_code", "2023-10")
    assert moved > 0
    text = build_document("2023-09", date(2023, 9, 29)).plain_text()
    assert (
        f"- Hỗ trợ {200 - moved} lượt công dân đăng ký tài khoản, tra cứu trạng thái hồ sơ," in text
    )
    assert "lấy mã kích hoạt" not in text
    assert "; 20 lượt cho các cơ quan, đơn vị trong công tác vận hành hệ thống," in text


def test_an_audience_without_tickets_is_left_out(demo_app):
    for code in (
        "system_operation",
        "workflow_update",
        "dossier_definition",
        "add_users",
        "permissions",
        "dossier_transfer",
        "form_update",
    ):
        _move_tickets(code, "2023-10")
    text = build_document("2023-09", date(2023, 9, 29)).plain_text()
    assert "(thủ tục Đăng ký Giấy khai sinh liên thông);" in text
    assert "lượt cho các cơ quan, đơn vị" not in text


def test_categories_follow_their_report_order(small_city):
    early = Category(code="a", audience="citizen", label="A", report_phrase="việc một", position=1)
    late = Category(code="b", audience="citizen", label="B", report_phrase="việc hai", position=2)
    db.session.add_all([early, late])
    db.session.flush()
    opened = datetime(2024, 3, 4, 9, 0)
    for index, category in enumerate([late, late, early]):
        db.session.add(
            Ticket(
                ref=f"HT-2403-{index:04d}",
                opened_at=opened,
                opened_month="2024-03",
                audience="citizen",
                category_id=category.id,
            )
        )
    stat("2024-03", small_city["s1"], received=1)
    db.session.commit()
    assert "- Hỗ trợ 3 lượt công dân việc một, việc hai;" in text_of("2024-03")


def test_header_number_date_and_signer(small_city):
    from helpdesk.reports.models import OrgSetting
    from helpdesk.reports.services import save_settings

    for key, value in {
        "document_symbol": "BC-STTTT",
        "place": "Hải Phòng",
        "signer_title": "GIÁM ĐỐC",
        "signer_name": "Phạm Văn Tuấn",
    }.items():
        db.session.add(OrgSetting(key=key, value=value))
    stat("2024-01", small_city["s1"], received=1)
    db.session.commit()
    doc = build_document("2024-01", date(2024, 2, 3))
    assert doc.header.place_date == "Hải Phòng, ngày 03 tháng 02 năm 2024"
    assert doc.header.number_line.replace("\u00a0", " ").split() == ["Số:", "/BC-STTTT"]
    assert doc.signature.title_lines == ("GIÁM ĐỐC",)
    save_settings(
        "2024-01",
        report_date=date(2024, 2, 3),
        number="7",
        signer_title="KT. GIÁM ĐỐC|PHÓ GIÁM ĐỐC",
        signer_name="Vũ Đại Thắng",
        version=0,
        actor_id=None,
    )
    db.session.commit()
    doc = build_document("2024-01")
    assert doc.header.number_line == "Số: 07/BC-STTTT"
    assert doc.signature.title_lines == ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
    assert doc.signature.name == "Vũ Đại Thắng"
