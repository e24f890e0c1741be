"""How the dashboard writes figures in Vietnamese."""

import pytest
from babel.numbers import format_decimal
from markupsafe import Markup

from helpdesk.dashboard import format as fmt


@pytest.mark.parametrize("value", [0, 0.004, 0.005, 1.2915, 99.999, 1234.5, 3000, 1234567.891])
def test_rate_matches_babel_vietnamese_pattern(value):
    expected = format_decimal(round(value, 2), format="#,##0.00", locale="vi_VN")
    assert fmt.rate(value) == expected


def test_rate_without_denominator_is_a_dash():
    assert fmt.rate(None) == "—"


def test_changes_and_numbers():
    assert fmt.change(3) == "+3"
    assert fmt.change(-1500) == "\u22121.500"
    assert fmt.change(0) == "0"
    assert fmt.change_pct(27, 24) == "+12,50%"
    assert fmt.change_pct(24, 28) == "\u221214,29%"
    assert fmt.change_pct(5, 0) == ""
    assert fmt.num(88904) == "88.904"
    assert fmt.num(None, "—") == "—"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (None, "—"),
        (0, "0 phút"),
        (45.4, "45 phút"),
        (60, "1 giờ"),
        (89.2, "1 giờ 29 phút"),
        (1440, "1 ngày"),
        (2 * 1440 + 185, "2 ngày 3 giờ"),
        (1440 + 23 * 60 + 50, "2 ngày"),
    ],
)
def test_duration(minutes, text):
    assert fmt.duration(minutes) == text


def test_months():
    assert fmt.month_label("2023-09") == "tháng 9/2023"
    assert fmt.month_short("2024-12") == "12/2024"


def test_link_escapes_its_text_and_url():
    assert fmt.link("/yeu-cau/?a=1&b=2", "<b>") == Markup(
        '<a href="/yeu-cau/?a=1&amp;b=2">&lt;b&gt;</a>'
    )
    assert fmt.link(None, "<3") == Markup("&lt;3")


def test_chart_legends_take_as_many_columns_as_fit():
    from helpdesk.dashboard.charts import legend_columns

    assert legend_columns(["Công dân", "Cơ quan, đơn vị"]) == 2
    levels = ["Tổng số yêu cầu", "Cấp Sở, ngành", "Cấp huyện (đến tháng 6/2025)", "Cấp xã, phường"]
    assert legend_columns(levels) == 4  # one row
    categories_2023 = [
        "Tra cứu trạng thái hồ sơ",
        "Nhập Hộ tịch - Tư pháp (khai sinh liên thông)",
        "Hồ sơ đã nộp chưa được tiếp nhận",
        "Phản ánh hồ sơ trễ hạn",
        "Đăng ký tài khoản",
    ]
    assert legend_columns(categories_2023) == 3
    # 2025-08: two long names in the first column would run off the figure with three.
    categories_2025 = [
        "Nhập Hộ tịch - Tư pháp (khai sinh liên thông)",
        "Hướng dẫn đối chiếu hồ sơ gốc tại bộ phận một cửa",
        "Phản ánh hồ sơ trễ hạn",
        "Hồ sơ đã nộp chưa được tiếp nhận",
        "Đăng nhập bằng tài khoản VNeID",
    ]
    assert legend_columns(categories_2025) == 2
    assert legend_columns(["x" * 200, "y" * 200]) == 1


def test_periods_in_headings_and_sentences():
    from helpdesk.periods import ReportPeriod

    assert fmt.title("quý III/2025") == "Quý III/2025"  # not Jinja's "Quý iii/2025"
    assert fmt.period_short(ReportPeriod.parse("2023-09")) == "9/2023"
    assert fmt.period_short(ReportPeriod.parse("2025-Q3")) == "Quý III/2025"
    assert fmt.period_short(ReportPeriod.parse("2025-H1")) == "6 tháng đầu năm 2025"
    assert fmt.period_short(ReportPeriod.parse("2025")) == "Năm 2025"
    assert fmt.period_short(ReportPeriod.parse("2025-9M").previous()) == "Giai đoạn 4/2024–12/2024"
    assert fmt.months_phrase(["2025-09"]) == "tháng 9/2025"
    assert fmt.months_phrase(["2025-09", "2025-08"]) == "các tháng 8/2025, 9/2025"
    months = ["2025-01", "2025-02", "2025-03", "2025-06", "2025-11", "2025-12", "2026-01"]
    assert fmt.months_phrase(months) == "các tháng 1/2025–3/2025, 6/2025, 11/2025–1/2026"
