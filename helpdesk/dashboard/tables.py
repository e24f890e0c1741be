"""The dashboard's tables as plain rows, for the CSV and XLSX exports.

Built from the same Dashboard the page shows, so a file never disagrees with the screen.
Numbers stay numbers (rates rounded to two decimals, shares as fractions of 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .format import month_short, period_short
from .queries import Dashboard, LabelledCount


@dataclass(frozen=True)
class ExportTable:
    slug: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


# slug -> title, in page order. The slug names the file: tong-hop-2023-09-<slug>.xlsx,
# tong-hop-2025-Q3-<slug>.xlsx
TABLES = {
    "doi-tuong-nhom": "Theo đối tượng và nhóm yêu cầu",
    "kenh": "Theo kênh tiếp nhận",
    "trang-thai": "Theo trạng thái",
    "dieu-hanh-vien": "Theo người tiếp nhận",
    "cap-don-vi": "Theo cấp đơn vị",
    "quan-huyen": "Theo quận, huyện (gồm xã, phường)",  # only for a period with districts
    "xu-ly": "Kết quả xử lý",
    "don-vi": "Yêu cầu trên 1.000 hồ sơ, theo đơn vị",
    "tre-han": "Đơn vị có nhiều phản ánh trễ hạn nhất",
    "xu-huong": "Xu hướng 12 tháng",
}


def _r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _labelled(items: tuple[LabelledCount, ...], total: int, first: str) -> tuple:
    headers = (first, "Số yêu cầu", "Tỷ lệ")
    rows = [(i.label, i.count.value, _share(i.count.value, total)) for i in items]
    rows.append(("Tổng", sum(i.count.value for i in items), _share(total, total)))
    return headers, tuple(rows)


def build_table(d: Dashboard, slug: str) -> ExportTable:
    """One table of the dashboard by its slug (KeyError if there is no such table)."""
    title = TABLES[slug]
    now, before = period_short(d.period), period_short(d.previous)
    total = d.total.value
    if slug == "doi-tuong-nhom":
        headers = ("Đối tượng", "Mã nhóm", "Nhóm yêu cầu", now, before, "Thay đổi")
        rows = []
        for b in d.blocks:
            for r in b.rows:
                rows.append((b.label, r.code, r.label, r.count.value, r.previous.value, r.change))
            rows.append((b.label, "", "Cộng", b.total.value, b.previous_total.value, b.change))
        rows.append(
            (
                "Tổng",
                "",
                "",
                total,
                d.previous_total.value,
                total - d.previous_total.value,
            )
        )
        rows = tuple(rows)
    elif slug == "kenh":
        headers, rows = _labelled(d.by_channel, total, "Kênh")
    elif slug == "trang-thai":
        headers, rows = _labelled(d.by_status, total, "Trạng thái")
    elif slug == "dieu-hanh-vien":
        headers, rows = _labelled(d.by_operator, total, "Người tiếp nhận")
    elif slug == "cap-don-vi":
        headers, rows = _labelled(d.by_level, total, "Cấp")
    elif slug == "quan-huyen":
        headers = (
            "Quận, huyện",
            "Số yêu cầu",
            "Phản ánh trễ hạn",
            "Hồ sơ tiếp nhận",
            "Yêu cầu/1.000 hồ sơ",
        )
        rows = tuple(
            (r.name, r.count.value, r.late.value, r.received, _r2(r.per_1000))
            for r in d.by_district
        )
    elif slug == "xu-ly":
        res = d.resolution
        headers = ("Chỉ tiêu", "Giá trị")
        rows = (
            ("Tổng số yêu cầu", res.total.value),
            ("Đã giải quyết hoặc đóng", res.done.value),
            ("Giải quyết trong ngày", res.same_day.value),
            ("Tỷ lệ giải quyết trong ngày", _share(res.same_day.value, res.total.value)),
            ("Thời gian giải quyết, trung vị (phút)", _r2(res.median_minutes)),
            ("Thời gian giải quyết, 90% yêu cầu trong vòng (phút)", _r2(res.p90_minutes)),
            ("Quá hạn, chưa giải quyết", res.overdue.value),
        )
    elif slug == "don-vi":
        headers = (
            "Mã đơn vị",
            "Đơn vị",
            "Cấp",
            "Số yêu cầu",
            "Hồ sơ tiếp nhận",
            "Yêu cầu/1.000 hồ sơ",
        )
        rows = tuple(
            (
                r.code,
                r.name,
                d.level_label(r.level),
                r.count.value,
                r.received,
                _r2(r.per_1000),
            )
            for r in d.units
        )
    elif slug == "tre-han":
        headers = (
            "Đơn vị",
            "Cấp",
            "Phản ánh trễ hạn",
            "Hồ sơ tiếp nhận",
            "Hồ sơ trực tuyến",
            "Tỷ lệ trực tuyến",
        )
        rows = tuple(
            (
                r.name,
                d.level_label(r.level),
                r.late.value,
                r.received,
                r.online,
                None if r.online_share is None else round(r.online_share, 4),
            )
            for r in d.late_units
        )
    elif slug == "xu-huong":
        # As on the page: the total, the audiences, the levels (blank in a month without the
        # level), then the top categories.
        series = (d.trend_total, *d.trend_audience, *d.trend_levels, *d.trend_categories)
        headers = ("Tháng", *(s.label for s in series))
        rows = tuple(
            (month_short(m), *(s.values()[i] for s in series)) for i, m in enumerate(d.trend_months)
        )
    else:  # pragma: no cover - TABLES and this function list the same slugs
        raise KeyError(slug)
    return ExportTable(slug, title, tuple(headers), tuple(rows))
