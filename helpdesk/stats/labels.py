"""Vietnamese labels for the statistics' figures, levels and months."""

from __future__ import annotations

from ..timeutil import parse_month
from ..units.periods import LevelInfo, units_in
from .models import UNIT_STAT_FIELDS

FIELD_LABELS = {
    "received": "Hồ sơ tiếp nhận",
    "online": "Hồ sơ trực tuyến",
    "signed_results": "Kết quả ký số",
    "payment_procedures": "TTHC thiết lập thanh toán",
    "payment_transactions": "Giao dịch thanh toán trực tuyến",
    "payment_amount": "Số tiền thanh toán (đồng)",
    "fee_transactions": "Giao dịch phí, lệ phí",
    "fee_amount": "Số tiền phí, lệ phí (đồng)",
}
# Column headings of the month tables, where space is short.
FIELD_SHORT = {
    "received": "Tiếp nhận",
    "online": "Trực tuyến",
    "signed_results": "Ký số",
    "payment_procedures": "TTHC thanh toán",
    "payment_transactions": "GD thanh toán",
    "payment_amount": "Tiền thanh toán",
    "fee_transactions": "GD phí, lệ phí",
    "fee_amount": "Tiền phí, lệ phí",
}
assert set(FIELD_LABELS) == set(UNIT_STAT_FIELDS) == set(FIELD_SHORT)

CITY_FIELDS = ("population_lookups", "population_matched", "population_as_of")
CITY_FIELD_LABELS = {
    "population_lookups": "Lượt khai thác CSDL quốc gia về dân cư (lũy kế)",
    "population_matched": "Yêu cầu có dữ liệu trùng khớp (lũy kế)",
    "population_as_of": "Tính đến ngày",
}


def month_levels(month: str) -> dict[str, LevelInfo]:
    """The levels that have units in the month (one query), in report order, by level.

    A level's name depends on the month: ``Cấp xã, phường`` in 2023, ``Cấp xã, phường, đặc
    khu`` after 1/7/2025, and a month without districts has no district level at all.
    """
    return {info.level: info for info in units_in(month).levels}


def level_info(levels: dict[str, LevelInfo], level: str) -> LevelInfo:
    """The month's LevelInfo of a level, or a bare one (named without kinds) if it has none."""
    return levels.get(level) or LevelInfo(level, (), 0)


def level_plural(info: LevelInfo) -> str:
    """How a warning counts a level's units: ``Sở, ban, ngành``, ``xã, phường, đặc khu``."""
    if info.level == "department":
        return "Sở, ban, ngành"
    return info.phrase


# The file kinds of FORMATS.md, as the upload page names them.
KIND_LABELS = {
    "unit_stats": "Số liệu đơn vị theo tháng (unit_stats)",
    "city_stats": "Số liệu CSDL dân cư (city_stats)",
    "activities": "Hoạt động hỗ trợ khác (activities)",
    "tickets": "Nhật ký yêu cầu hỗ trợ (tickets)",
    "units": "Danh mục đơn vị (units)",
    "categories": "Nhóm yêu cầu (categories)",
    "answers": "Câu trả lời mẫu (answers)",
    "users": "Người dùng (users)",
    "organisation": "Thông tin cơ quan (organisation)",
}


def month_label(month: str) -> str:
    """``2023-09`` -> ``9/2023``, as the report writes months."""
    year, mon = parse_month(month)
    return f"{mon}/{year}"


def vint(value: int | None, default: str = "") -> str:
    """``88904`` -> ``88.904`` like formatting.number, for integers only, without Babel's cost.

    The month page formats about two thousand figures.
    """
    if value is None:
        return default
    return f"{value:,}".replace(",", ".")
