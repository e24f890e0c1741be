"""Reports for any period: a quarter, six and nine months and a year built from months whose
figures this file sets (imported through ``run_import``), checked figure for figure against the
sum of the monthly reports, each read back from the PDF and the DOCX.

The data set spans the 2025 reorganisation: three departments (one merged away on 28/2/2025), two
districts and three communes until 30/6/2025, three communes without districts from 1/7/2025.
Statistics exist for 7-9/2024, 2/2025, 5-9/2025 (April and the last quarter of 2025 are gaps).
"""

from __future__ import annotations

import gc
import hashlib
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.formatting import count2, number, percent
from helpdesk.imports import run_import
from helpdesk.periods import ReportPeriod
from helpdesk.reports.models import IssuedReport, ReportDraft
from helpdesk.stats.models import MonthLock

from .test_report_seed import docx_text, html_text, pdf_text

# --- the data set -------------------------------------------------------------------------------

# code, level, kind, name, parent, valid_from, valid_to, successors
UNITS = [
    ("SYT", "department", "Sở", "Y tế", "", "", "", ""),
    ("SXD", "department", "Sở", "Xây dựng", "", "", "", ""),
    ("SGTVT", "department", "Sở", "Giao thông vận tải", "", "", "2025-02-28", "SXD"),
    ("HAD", "district", "huyện", "An Dương", "", "", "2025-06-30", ""),
    ("QDS", "district", "quận", "Đồ Sơn", "", "", "2025-06-30", ""),
    ("XAH", "commune", "xã", "An Hưng", "HAD", "", "2025-06-30", "XAD"),
    ("TTAD", "commune", "thị trấn", "An Dương", "HAD", "", "2025-06-30", "XAD"),
    ("PBL", "commune", "phường", "Bàng La", "QDS", "", "2025-06-30", "PDS"),
    ("XAD", "commune", "xã", "An Dương", "", "2025-07-01", "", ""),
    ("PDS", "commune", "phường", "Đồ Sơn", "", "2025-07-01", "", ""),
    ("DKCH", "commune", "đặc khu", "Cát Hải", "", "2025-07-01", "", ""),
]
MONTHS = [
    "2024-07",
    "2024-08",
    "2024-09",
    "2025-02",
    "2025-05",
    "2025-06",
    "2025-07",
    "2025-08",
    "2025-09",
]
FIELDS = (
    "received",
    "online",
    "signed_results",
    "payment_procedures",
    "payment_transactions",
    "payment_amount",
    "fee_transactions",
    "fee_amount",
)
CATEGORIES = [
    ("c_account", "citizen", "Đăng ký tài khoản", "đăng ký tài khoản"),
    ("c_status", "citizen", "Tra cứu trạng thái hồ sơ", "tra cứu trạng thái hồ sơ"),
    ("a_users", "agency", "Thêm người dùng", "thêm người dùng"),
]
ORGANISATION = {
    "parent_agency": "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG",
    "agency": "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
    "agency_name": "Sở Khoa học và Công nghệ",
    "document_symbol": "BC-SKHCN",
    "place": "Hải Phòng",
    "recipient": "Ủy ban nhân dân thành phố",
    "system_name": "Hệ thống thông tin giải quyết thủ tục hành chính thành phố Hải Phòng",
    "signer_title": "GIÁM ĐỐC",
    "signer_name": "Trần Minh Khoa",
    "distribution": "Như trên;|Lưu: VT, CĐS.",
}
SYSTEM = ORGANISATION["system_name"]
CITY = {  # month: lookups, matched, as of
    "2024-09": (300, 280, "2024-09-30"),
    "2025-05": (700, 650, "2025-05-25"),
    "2025-07": (1000, 900, "2025-07-20"),
    "2025-08": (1500, 1300, ""),  # no date: "Tính đến hết tháng 8/2025"
}


def _exists(unit, month: str) -> bool:
    first, last = ReportPeriod.parse(month).first_day, ReportPeriod.parse(month).last_day
    start, end = unit[5], unit[6]
    return (not start or date.fromisoformat(start) <= last) and (
        not end or date.fromisoformat(end) >= first
    )


def _stat(i: int, j: int, month: str, code: str) -> dict[str, int | None]:
    """Every figure of unit j in month i: known, varied, with zeros and blanks."""
    received = 120 * (j + 1) + 17 * i + (j * i) % 5
    online = received - (i + 2 * j) % 9
    signed = (3 * j + 2 * i) % 7
    transactions = (j + i) % 4 * 5
    amount = transactions * 15_000 + (j * 1_000 if transactions else 0)
    figures = {
        "received": received,
        "online": online,
        "signed_results": signed,
        # A stock: not reported in 9/2025, so the third quarter's is August's.
        "payment_procedures": None if month == "2025-09" else 10 + j + i,
        "payment_transactions": transactions,
        "payment_amount": amount,
        "fee_transactions": transactions // 2,
        "fee_amount": amount // 4,
    }
    if code == "SXD" and month == "2025-08":
        figures["signed_results"] = None  # not reported, never zero
    return figures


def stats() -> dict[tuple[str, str], dict[str, int | None]]:
    """``{(month, code): figures}`` of every unit that exists in each month."""
    return {
        (month, unit[0]): _stat(i, j, month, unit[0])
        for i, month in enumerate(MONTHS)
        for j, unit in enumerate(UNITS)
        if _exists(unit, month)
    }


def tickets() -> list[tuple[str, str, str]]:
    """(opened_at, audience, category) of every ticket: a few per month, more later."""
    rows = []
    for i, month in enumerate(MONTHS):
        plan = [("citizen", "c_account")] * (i + 1) + [("citizen", "c_status")] * 2
        if i % 2:
            plan += [("agency", "a_users")] * (i // 2 + 1)
        for k, (audience, category) in enumerate(plan):
            rows.append((f"{month}-{k + 3:02d}T08:{k:02d}:00", audience, category))
    return rows


def activities() -> dict[str, list[str]]:
    return {
        month: [f"Hoạt động thứ {k} của tháng {int(month[5:])}/{month[:4]}." for k in (1, 2)][
            : 1 + i % 2
        ]
        for i, month in enumerate(MONTHS)
    }


def _csv(header: list[str], rows) -> bytes:
    def cell(value) -> str:
        text = "" if value is None else str(value)
        return f'"{text}"' if any(c in text for c in ',"|') else text

    lines = [",".join(header)] + [",".join(cell(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def files() -> list[tuple[str, bytes]]:
    unit_header = [
        "code",
        "level",
        "kind",
        "name",
        "parent_code",
        "valid_from",
        "valid_to",
        "successor_codes",
    ]
    stat_rows = [
        (month, code, *(figures[f] for f in FIELDS)) for (month, code), figures in stats().items()
    ]
    ticket_rows = [
        (opened, audience, category, f"09{n:08d}", "closed")
        for n, (opened, audience, category) in enumerate(tickets())
    ]
    return [
        ("organisation.csv", _csv(["key", "value"], ORGANISATION.items())),
        ("units.csv", _csv(unit_header, UNITS)),
        ("categories.csv", _csv(["code", "audience", "label", "report_phrase"], CATEGORIES)),
        ("unit_stats.csv", _csv(["month", "unit_code", *FIELDS], stat_rows)),
        (
            "city_stats.csv",
            _csv(
                ["month", "population_lookups", "population_matched", "population_as_of"],
                [(m, *v) for m, v in CITY.items()],
            ),
        ),
        (
            "activities.csv",
            _csv(["month", "text"], [(m, t) for m, texts in activities().items() for t in texts]),
        ),
        (
            "tickets.csv",
            _csv(["opened_at", "audience", "category", "requester_phone", "status"], ticket_rows),
        ),
    ]


@pytest.fixture
def city(app):
    report = run_import(files())
    assert report.ok, [str(e) for e in report.errors]
    return app


# --- what the data set says, computed here (never by the app) -----------------------------------


def expected_sums(months) -> dict[str, int]:
    """Payments and dossiers of some months, all units together, from the data set."""
    rows = [(code, f) for (month, code), f in stats().items() if month in months]
    if not rows:
        return {}
    return {
        "received": sum(f["received"] for _, f in rows),
        "transactions": sum(f["payment_transactions"] for _, f in rows),
        "amount": sum(f["payment_amount"] for _, f in rows),
        "units": len({code for code, f in rows if f["payment_transactions"]}),
    }


def change(diff: int, unit: str) -> str:
    return f"tăng {number(diff)} {unit}" if diff > 0 else f"giảm {number(-diff)} {unit}"


def payment_comparison(current: dict, other: dict, words: str) -> str:
    return (
        f"{change(current['transactions'] - other['transactions'], 'giao dịch')} và "
        f"{change(current['amount'] - other['amount'], 'đồng')} so với {words} là "
        f"{count2(other['units'])} đơn vị phát sinh {number(other['transactions'])} giao dịch "
        f"thanh toán trực tuyến với tổng số tiền {number(other['amount'])} đồng"
    )


def received_comparison(total: int, other: dict, words: str) -> str:
    return (
        f"{change(total - other['received'], 'hồ sơ')} so với {words} là "
        f"{number(other['received'])} hồ sơ"
    )


# --- reading the reports back -------------------------------------------------------------------


def rendered(code: str, fmt: str, report_date: date = date(2025, 10, 6)) -> str:
    from helpdesk.reports.render import render_pdf
    from helpdesk.reports.services import build_document
    from helpdesk.reports.word import render_docx

    doc = build_document(code, report_date)
    return pdf_text(render_pdf(doc)) if fmt == "pdf" else docx_text(render_docx(doc))


def num(text: str) -> int:
    return int(text.replace(".", ""))


def found(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    return num(match.group(1)) if match else None


UNIT_NAMES = [f"{u[2]} {u[3]}" for u in UNITS]
LISTED_NAMES = {  # as section 1.3 lists a unit
    f"{u[2]} {u[3]}": (f"TT.{u[3]}" if u[2] == "thị trấn" else f"{u[2]} {u[3]}") for u in UNITS
}


def read_figures(text: str) -> dict:
    """Every additive figure a report prints, by what it is."""
    figures = {
        "received": found(r"cập nhật trên hệ thống là ([\d.]+) hồ sơ", text),
        "online": found(r"Số hồ sơ trực tuyến là ([\d.]+) hồ sơ", text),
        "department_received": found(r"tại các Sở, ngành là ([\d.]+) hồ sơ", text),
        "department_online": found(r"các Sở, ngành ([\d.]+) hồ sơ \(đạt", text),
        "department_signed": found(r"Cấp sở có ([\d.]+) hồ sơ", text),
        "district_signed": found(r"Cấp huyện(?: \([^)]*\))? có ([\d.]+) hồ sơ", text),
        "commune_signed": found(r"Cấp xã có ([\d.]+) hồ sơ", text),
        "citizen": found(r"Hỗ trợ ([\d.]+) lượt công dân", text),
        "agency": found(r"([\d.]+) lượt cho các cơ quan, đơn vị", text),
    }
    pay = re.search(
        r"có (\d+) đơn vị phát sinh ([\d.]+) giao dịch thanh toán trực tuyến với tổng số tiền "
        r"([\d.]+) đồng(?:; trong đó thanh toán phí/lệ phí: tổng số ([\d.]+) giao dịch với tổng "
        r"số tiền ([\d.]+) đồng)?",
        text,
    )
    for index, key in enumerate(
        ("transactions", "amount", "fee_transactions", "fee_amount"), start=2
    ):
        figures[key] = num(pay.group(index)) if pay and pay.group(index) else None
    for name in UNIT_NAMES:
        # The table behind a chart: "Sở Y tế 1.234 1.200 97,24%".
        row = re.search(rf"(?<![\wÀ-ỹ]){re.escape(name)} ([\d.]+) ([\d.]+) \d", text)
        figures[f"{name}/received"] = num(row.group(1)) if row else None
        figures[f"{name}/online"] = num(row.group(2)) if row else None
        signed = re.search(rf"{re.escape(LISTED_NAMES[name])} \((\d+) kết quả\)", text)
        figures[f"{name}/signed"] = num(signed.group(1)) if signed else None
    return figures


def add(many: list[dict]) -> dict:
    """Sum figure by figure; a figure no report printed stays None."""
    keys = many[0].keys()
    result = {}
    for key in keys:
        values = [f[key] for f in many if f[key] is not None]
        result[key] = sum(values) if values else None
    return result


def sentence(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(0)


PROCEDURES = r"Trên hệ thống, hiện có .+? đã được thiết lập thông tin thanh toán trực tuyến\."
POPULATION = r"Tính đến .+? được trả kết quả tra cứu\."


# --- a quarter: the sum of its months -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_quarter_is_the_sum_of_its_monthly_reports(city, fmt):
    months = ("2025-07", "2025-08", "2025-09")
    monthly = {m: rendered(m, fmt) for m in months}
    text = rendered("2025-Q3", fmt)
    expected = add([read_figures(monthly[m]) for m in months])
    got = read_figures(text)
    assert expected["received"] and expected["transactions"] and expected["citizen"]
    assert {k: v for k, v in got.items() if v != expected[k]} == {}, fmt
    # Every unit of the quarter is in its table with the quarter's rate.
    for name in ("Sở Y tế", "Sở Xây dựng", "xã An Dương", "phường Đồ Sơn", "đặc khu Cát Hải"):
        received, online = got[f"{name}/received"], got[f"{name}/online"]
        assert f"{name} {number(received)} {number(online)} {percent(online, received)}" in text
    # Units of the old structure are not in a quarter after it.
    for gone in ("huyện", "quận", "Giao thông vận tải", "thị trấn", "An Hưng"):
        assert gone not in text, gone
    # The level sentences, with the quarter's rates.
    assert (
        f"Số hồ sơ trực tuyến là {number(expected['online'])} hồ sơ (đạt tỷ lệ "
        f"{percent(expected['online'], expected['received'])})" in text
    )
    # Stocks and cumulative figures are the quarter's latest: August reports the procedures
    # (September does not), August has the latest population lookups.
    assert sentence(PROCEDURES, text) == sentence(PROCEDURES, monthly["2025-08"])
    assert sentence(POPULATION, text) == sentence(POPULATION, monthly["2025-08"])
    assert "Tính đến hết tháng 8/2025 đã thực hiện tổng 1.500 lượt" in text
    # Units that paid: counted once in the quarter, whatever the months.
    units = expected_sums(months)["units"]
    assert f"có {count2(units)} đơn vị phát sinh {number(expected['transactions'])} giao" in text
    # Section 2: each month's activities, in month order.
    positions = [text.index(line) for m in months for line in activities()[m]]
    assert positions == sorted(positions) and len(positions) == 4


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_quarter_says_its_period_and_compares(city, fmt):
    text = rendered("2025-Q3", fmt)
    assert f"Kết quả vận hành, khai thác {SYSTEM} quý III/2025" in text
    assert "Trong quý III/2025, các địa phương, đơn vị trên địa bàn thành phố tiếp tục" in text
    assert "Theo thống kê trên hệ thống, trong quý III/2025, trên Hệ thống có" in text
    assert "tháng 9/2025" not in text.split("1.2.")[0]
    current = expected_sums(("2025-07", "2025-08", "2025-09"))
    before = expected_sums(("2025-04", "2025-05", "2025-06"))  # April has no statistics
    last_year = expected_sums(("2024-07", "2024-08", "2024-09"))
    assert (
        f"({payment_comparison(current, before, 'quý II/2025')}; "
        f"{payment_comparison(current, last_year, 'cùng kỳ năm 2024')})." in text
    )
    assert (
        f"là {number(current['received'])} hồ sơ "
        f"({received_comparison(current['received'], before, 'quý II/2025')}; "
        f"{received_comparison(current['received'], last_year, 'cùng kỳ năm 2024')}), "
        "trong đó:" in text
    )


def test_the_first_half_has_no_same_period_without_its_data(city):
    text = rendered("2025-H1", "docx")
    assert f"khai thác {SYSTEM} 6 tháng đầu năm 2025" in text
    assert "Trong 6 tháng đầu năm 2025, các địa phương" in text
    current = expected_sums(("2025-02", "2025-05", "2025-06"))
    before = expected_sums(("2024-07", "2024-08", "2024-09"))
    assert f"({payment_comparison(current, before, '6 tháng cuối năm 2024')})." in text
    assert "cùng kỳ" not in text  # the first half of 2024 has no statistics


def test_nine_months_compares_with_the_nine_before_and_the_same_period(city):
    text = rendered("2025-9M", "docx")
    assert f"khai thác {SYSTEM} 9 tháng năm 2025" in text
    current = expected_sums(("2025-02", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09"))
    before = expected_sums(("2024-07", "2024-08", "2024-09"))
    assert (
        f"({payment_comparison(current, before, 'giai đoạn 4/2024–12/2024')}; "
        f"{payment_comparison(current, before, 'cùng kỳ năm 2024')})." in text
    )


# --- a year across the reorganisation -------------------------------------------------------------


YEAR_MONTHS = ("2025-02", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09")


def _level_received(text: str) -> dict[str, int | None]:
    """The level figures of the summary, whichever words name the commune level."""
    return {
        "district": found(r"các quận, huyện(?: \([^)]*\))? là ([\d.]+) hồ sơ", text),
        "commune": found(
            r"các xã, phường, (?:thị trấn|đặc khu|thị trấn, đặc khu) là ([\d.]+)", text
        ),
    }


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_year_spans_both_structures(city, fmt):
    monthly = {m: rendered(m, "docx") for m in YEAR_MONTHS}
    text = rendered("2025", fmt)
    expected = add([read_figures(monthly[m]) for m in YEAR_MONTHS])
    got = read_figures(text)
    assert {k: v for k, v in got.items() if v != expected[k]} == {}, fmt
    levels = add([_level_received(monthly[m]) for m in YEAR_MONTHS])
    assert levels["district"] == sum(
        _level_received(monthly[m])["district"] for m in ("2025-02", "2025-05", "2025-06")
    )
    assert f"khai thác {SYSTEM} năm 2025" in text and "Trong năm 2025, các địa phương" in text
    # Districts existed until 30/6/2025: named with their end, counted as they were (2).
    assert f"các quận, huyện (đến ngày 30/6/2025) là {number(levels['district'])} hồ sơ" in text
    assert "Cấp quận, huyện (đến ngày 30/6/2025)" in text  # the chart's title
    assert re.search(r"Cấp huyện \(đến ngày 30/6/2025\) có [\d.]+ hồ sơ của \d\d/02 đơn vị", text)
    # The commune level of the year: both structures' communes, named by all their kinds.
    assert f"các xã, phường, thị trấn, đặc khu là {number(levels['commune'])} hồ sơ" in text
    assert re.search(r"Cấp xã có [\d.]+ hồ sơ của \d\d/06 đơn vị", text)
    # Its table: the old communes summed by district, the new ones on their own rows.
    table = text.split("TT Đơn vị Tiếp nhận Trực tuyến Tỷ lệ", 1)[1]
    for name in ("huyện An Dương", "quận Đồ Sơn", "xã An Dương", "phường Đồ Sơn"):
        assert re.search(rf"\d {name} [\d.]+ [\d.]+ [\d,]+%", table), name
    assert (
        "Số liệu các xã, phường, thị trấn thuộc quận, huyện được cộng theo quận, huyện; các xã, "
        "phường, đặc khu không thuộc quận, huyện có dòng riêng." in text
    )
    assert "+ Không thuộc quận, huyện: xã An Dương (" in text
    # Procedures set up for payment are those of August, the latest month reporting them, and
    # the communes are named as they were then.
    assert sentence(PROCEDURES, text) == sentence(PROCEDURES, monthly["2025-08"])
    assert "thủ tục hành chính của 03 xã, phường, đặc khu đã được thiết lập" in text
    # The three departments of the year (one merged away on 28/2/2025) are each in its table.
    assert re.search(r"Cấp sở có [\d.]+ hồ sơ của \d\d/03 đơn vị", text)
    assert "Sở Giao thông vận tải" in text
    # One comparison: the year before is also the same period of the year before.
    current = expected_sums(YEAR_MONTHS)
    before = expected_sums(("2024-07", "2024-08", "2024-09"))
    assert f"({payment_comparison(current, before, 'năm 2024')})." in text
    assert "cùng kỳ" not in text


def test_the_year_knows_its_months_without_statistics(city):
    from helpdesk.reports.services import figures_of

    figures = figures_of("2025")
    assert figures.data_months == YEAR_MONTHS
    assert figures.missing_months == (
        "2025-01",
        "2025-03",
        "2025-04",
        "2025-10",
        "2025-11",
        "2025-12",
    )


# --- a month is as before -------------------------------------------------------------------------


def test_a_month_keeps_its_words(city):
    text = rendered("2025-08", "docx")
    assert f"khai thác {SYSTEM} tháng 8/2025" in text
    assert "Tháng 8/2025 các địa phương, đơn vị" in text
    current, before = expected_sums(("2025-08",)), expected_sums(("2025-07",))
    assert f"({payment_comparison(current, before, 'tháng 7/2025')})." in text
    assert "cùng kỳ" not in text and "(tăng" not in text.split("trong đó:")[0]


# --- fixed queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "queries"),
    [("2025-08", 10), ("2025-Q3", 10), ("2025-06", 11), ("2025-H1", 11), ("2025", 11)],
)
def test_builder_queries_do_not_grow_with_months_or_units(city, count_queries, code, queries):
    from helpdesk.reports.builder import build_period

    with count_queries() as counter:
        figures = build_period(ReportPeriod.parse(code))
    assert counter.count == queries, counter.statements
    assert figures.has_districts is (queries == 11)


def test_draft_pages_of_longer_periods_run_the_same_queries(city, client, auth, count_queries):
    auth(client, "supervisor")
    counts = {}
    for code in ("2025-H1", "2025-9M", "2025"):
        # Objects of the last request may still sit in the weakly-referenced identity map until
        # the garbage collector runs; collect first so each request starts alike.
        gc.collect()
        with count_queries() as counter:
            assert client.get(f"/bao-cao/{code}").status_code == 200
        counts[code] = counter.count
    assert len(set(counts.values())) == 1, counts
    assert counts["2025"] < 30


# --- the command line -------------------------------------------------------------------------


def test_cli_builds_a_period(city, tmp_path):
    runner = city.test_cli_runner()
    output = tmp_path / "q3.docx"
    result = runner.invoke(
        args=["report", "build", "--period", "2025-Q3", "--date", "2025-10-01", "--output", output]
    )
    assert result.exit_code == 0, result.output
    text = docx_text(output.read_bytes())
    assert "quý III/2025" in text and "Hải Phòng, ngày 01 tháng 10 năm 2025" in text
    assert "warning" not in result.output

    year = runner.invoke(
        args=["report", "build", "--period", "2025", "--output", tmp_path / "2025.pdf"]
    )
    assert year.exit_code == 0, year.output
    assert "warning: chưa có số liệu tháng 1/2025, 3/2025, 4/2025, 10/2025" in year.output
    assert (tmp_path / "2025.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2025-Q5"], "error: Kỳ báo cáo không hợp lệ: “2025-Q5” không phải kỳ"),
        (["--period", "2025-13"], "error: Kỳ báo cáo không hợp lệ: “2025-13”: tháng phải"),
        (["--period", "2099-Q1"], "error: Quý I/2099 chưa bắt đầu (từ ngày 01/01/2099)"),
        (["--period", "2023-Q1"], "error: Quý I/2023 chưa có số liệu thống kê."),
        (["--period", "2024-H1"], "error: 6 tháng đầu năm 2024 chưa có số liệu thống kê."),
        (["--month", "2025-07", "--period", "2025-Q3"], "error: --month and --period cannot"),
        ([], "error: give the report's --period"),
    ],
)
def test_cli_refuses_bad_periods(city, tmp_path, args, message):
    output = tmp_path / "x.pdf"
    result = city.test_cli_runner().invoke(args=["report", "build", *args, "--output", str(output)])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not output.exists()  # never an empty PDF
    issued = city.test_cli_runner().invoke(args=["report", "issue", *args])
    assert issued.exit_code == 1 and message in issued.output
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0


def test_cli_issues_a_quarter_whose_first_month_was_issued(city, tmp_path):
    runner = city.test_cli_runner()
    month = runner.invoke(args=["report", "issue", "--period", "2025-07"])
    assert month.exit_code == 0, month.output
    output = tmp_path / "q3.pdf"
    result = runner.invoke(args=["report", "issue", "--period", "2025-Q3", "--output", output])
    assert result.exit_code == 0, result.output
    assert "issued 2025-Q3" in result.output
    assert "locked months: 8/2025, 9/2025 (already locked: 7/2025)" in result.output
    issued = db.session.scalar(select(IssuedReport).where(IssuedReport.month == "2025-Q3"))
    assert output.read_bytes() == issued.pdf
    assert hashlib.sha256(issued.pdf).hexdigest() in result.output
    locks = db.session.scalars(select(MonthLock.month).order_by(MonthLock.month)).all()
    assert locks == ["2025-07", "2025-08", "2025-09"]
    again = runner.invoke(args=["report", "issue", "--period", "2025-q3"])
    assert again.exit_code == 1 and "Báo cáo quý III/2025 đã được phát hành" in again.output


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture
def supervisor(city, client, auth):
    auth(client, "supervisor")
    return client


def _page(client, code: str) -> str:
    response = client.get(f"/bao-cao/{code}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def words(html: str) -> str:
    """The page's text, whatever markup keeps a reference on one line."""
    return html_text(html).replace("\u2060", "")


def _version(html: str, action: str) -> str:
    form = html[html.index(f'action="{action}"') :]
    return re.search(r'name="version"[^>]*value="(\d*)"', form).group(1)


def test_choose_a_period(supervisor):
    html = supervisor.get("/bao-cao/").get_data(as_text=True)
    assert '<label for="ky">Kỳ</label>' in html and '<label for="nam">Năm</label>' in html
    for words in ("Tháng 9", "Quý III", "6 tháng đầu năm", "9 tháng", "Cả năm"):
        assert f">{words}</option>" in html
    # The longer periods that hold statistics, with their state.
    for title in ("Năm 2025", "9 tháng năm 2025", "Quý III/2025", "Quý I/2025", "Năm 2024"):
        assert f'<th scope="row">{title}</th>' in html, title
    assert "Quý II/2024" not in html  # no statistics then

    def chosen(query: str) -> str:
        response = supervisor.get(f"/bao-cao/?{query}")
        assert response.status_code == 302, query
        return response.headers["Location"]

    assert chosen("nam=2025&ky=Q3").endswith("/bao-cao/2025-Q3")
    assert chosen("nam=2025&ky=H1").endswith("/bao-cao/2025-H1")
    assert chosen("nam=2025&ky=9M").endswith("/bao-cao/2025-9M")
    assert chosen("nam=2025&ky=").endswith("/bao-cao/2025")
    assert chosen("nam=2025&ky=08").endswith("/bao-cao/2025-08")
    assert chosen("thang=2025-08").endswith("/bao-cao/2025-08")

    bad = supervisor.get("/bao-cao/?nam=2025&ky=Q5")
    assert bad.status_code == 400
    assert "Kỳ báo cáo không hợp lệ: “2025-Q5”" in bad.get_data(as_text=True)
    future = supervisor.get("/bao-cao/?nam=2099&ky=Q1")
    assert future.status_code == 400
    assert "Quý I/2099 chưa bắt đầu" in future.get_data(as_text=True)


def test_period_urls(supervisor):
    assert supervisor.get("/bao-cao/2025-q3").headers["Location"].endswith("/bao-cao/2025-Q3")
    assert supervisor.get("/bao-cao/2025-Q3/").headers["Location"].endswith("/bao-cao/2025-Q3")
    bad = supervisor.get("/bao-cao/2025-Q5")
    assert bad.status_code == 404
    assert "Kỳ báo cáo không hợp lệ: “2025-Q5” không phải kỳ báo cáo" in bad.get_data(as_text=True)
    assert supervisor.get("/bao-cao/2025-Q5/tai-ve.pdf").status_code == 404
    future = _page(supervisor, "2099")
    assert "Năm 2099 chưa bắt đầu (từ ngày 01/01/2099); chưa thể lập báo cáo." in future
    empty = _page(supervisor, "2023-Q1")
    assert "Quý I/2023 chưa có số liệu thống kê." in empty
    assert "Nhập số liệu các tháng của quý I/2023 (1/2023, 2/2023, 3/2023)" in empty
    for code in ("2023-Q1", "2099"):  # no empty PDF: back to the page with its message
        response = supervisor.get(f"/bao-cao/{code}/tai-ve.pdf")
        assert response.status_code == 302 and response.headers["Location"].endswith(code)
    refused = supervisor.post(
        "/bao-cao/2099/thiet-lap", data={"report_date": "2099-01-05", "version": "0"}
    )
    assert refused.status_code == 302
    assert db.session.scalar(select(func.count(ReportDraft.month))) == 0


def test_draft_date_defaults_to_the_first_working_day_after_the_period(supervisor):
    # 30/9/2025 is a Tuesday; 31/8/2025 a Sunday, and 1/9, 2/9 are holidays.
    html = _page(supervisor, "2025-Q3")
    assert 'value="2025-10-01"' in html
    assert "Hải Phòng, ngày 01 tháng 10 năm 2025" in words(html)
    html = _page(supervisor, "2025-08")
    assert 'value="2025-09-03"' in html


def test_draft_issue_and_download_a_quarter(supervisor):
    from helpdesk.reports import services

    # July's own report was issued first: its statistics are locked already.
    services.issue("2025-07", None)
    db.session.commit()

    html = _page(supervisor, "2025-Q3")
    assert "<h1>Báo cáo quý III/2025" in html
    assert f"Kết quả vận hành, khai thác {SYSTEM} quý III/2025" in words(html)
    assert "khóa số liệu các tháng 8/2025, 9/2025 (tháng 7/2025 đã khóa từ trước)" in html
    assert "Tôi đã kiểm tra nội dung; phát hành và khóa số liệu các tháng của kỳ này." in html

    action = "/bao-cao/2025-Q3/thiet-lap"
    response = supervisor.post(
        action,
        data={
            "report_date": "2025-10-03",
            "number": "7",
            "signer_title": "KT. GIÁM ĐỐC|PHÓ GIÁM ĐỐC",
            "signer_name": "Vũ Đại Thắng",
            "version": _version(html, action),
        },
    )
    assert response.status_code == 302
    html = _page(supervisor, "2025-Q3")
    assert "Số: 07/BC-SKHCN" in words(html)
    assert "Hải Phòng, ngày 03 tháng 10 năm 2025" in words(html)
    action = "/bao-cao/2025-Q3/doan/opening"
    response = supervisor.post(
        action,
        data={
            "text": "Quý III/2025, **các đơn vị** tiếp tục vận hành Hệ thống.",
            "action": "save",
            "version": _version(html, action),
        },
    )
    assert response.status_code == 302
    html = _page(supervisor, "2025-Q3")
    assert "Quý III/2025, các đơn vị tiếp tục vận hành Hệ thống." in words(html)
    assert "<b>các đơn vị</b>" in html
    draft = db.session.get(ReportDraft, "2025-Q3")
    assert draft.number == "7" and "opening" in draft.overrides
    assert db.session.get(ReportDraft, "2025-07") is None  # the month's draft is its own

    action = "/bao-cao/2025-Q3/phat-hanh"
    response = supervisor.post(
        action, data={"confirm": "y", "version": _version(html, action)}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert (
        "Đã phát hành báo cáo quý III/2025; đã khóa số liệu các tháng 8/2025, 9/2025 "
        "(tháng 7/2025 đã khóa từ trước)." in page
    )
    issued = db.session.scalar(select(IssuedReport).where(IssuedReport.month == "2025-Q3"))
    assert issued.number == "7" and issued.report_date == date(2025, 10, 3)
    locks = db.session.scalars(select(MonthLock.month).order_by(MonthLock.month)).all()
    assert locks == ["2025-07", "2025-08", "2025-09"]
    assert "Sửa đoạn" not in page and issued.sha256 in page

    download = supervisor.get(f"/bao-cao/da-phat-hanh/{issued.id}.pdf")
    assert download.data == issued.pdf
    assert hashlib.sha256(download.data).hexdigest() == issued.sha256
    assert 'filename="bao-cao-2025-Q3.pdf"' in download.headers["Content-Disposition"]
    redirect = supervisor.get("/bao-cao/2025-Q3/tai-ve.pdf")
    assert redirect.headers["Location"].endswith(f"/da-phat-hanh/{issued.id}.pdf")
    issued_text = pdf_text(issued.pdf)
    assert "Quý III/2025, các đơn vị tiếp tục vận hành Hệ thống." in issued_text
    assert "Số: 07/BC-SKHCN" in issued_text
    docx = supervisor.get("/bao-cao/2025-Q3/tai-ve.docx")
    assert 'filename="bao-cao-2025-Q3.docx"' in docx.headers["Content-Disposition"]
    assert "Quý III/2025, các đơn vị tiếp tục vận hành Hệ thống." in docx_text(docx.data)

    index = supervisor.get("/bao-cao/").get_data(as_text=True)
    assert issued.sha256[:12] in index and ">Quý III/2025</a>" in index
    # Issuing it again is refused; unlocking one month is per month, as before.
    second = supervisor.post(action, data={"confirm": "y"}, follow_redirects=True)
    assert "Báo cáo quý III/2025 đã được phát hành" in second.get_data(as_text=True)
    from helpdesk.stats.services import unlock_month

    unlock_month("2025-08", None, "Sửa số liệu tháng 8")
    db.session.commit()
    locks = db.session.scalars(select(MonthLock.month).order_by(MonthLock.month)).all()
    assert locks == ["2025-07", "2025-09"]
    assert supervisor.get(f"/bao-cao/da-phat-hanh/{issued.id}.pdf").data == issued.pdf


# --- the demo database of both eras ---------------------------------------------------------------


def test_eras_third_quarter_of_2025_and_the_year(eras_app):
    """2025-07 has payments only, 2025-08 everything: the quarter adds them up; the year 2025,
    whose statistics start in July, counts the units of July and August only (not the 22
    departments and 331 communes that existed on some day of 2025) and says the communes
    began on 1/7/2025."""
    july, august = rendered("2025-07", "docx"), rendered("2025-08", "docx")
    quarter = rendered("2025-Q3", "docx")
    expected = add([read_figures(july), read_figures(august)])
    got = read_figures(quarter)
    assert expected["transactions"] > read_figures(august)["transactions"] > 0
    for key in ("received", "online", "transactions", "amount", "citizen", "agency"):
        assert got[key] == expected[key], key
    assert sentence(PROCEDURES, quarter) == sentence(PROCEDURES, august)
    assert sentence(POPULATION, quarter) == sentence(POPULATION, august)
    assert "- Các đơn vị chưa thực hiện: 03/14 sở, ban ngành, 12/114 xã, phường, đặc khu." in (
        quarter
    )

    year = rendered("2025", "docx")
    assert read_figures(year)["transactions"] == expected["transactions"]
    assert re.search(r"Cấp sở có [\d.]+ hồ sơ của 11/14 đơn vị", year)
    assert "các xã, phường, đặc khu (từ ngày 01/7/2025) là 68.215 hồ sơ" in year
    assert (
        "- Các đơn vị chưa thực hiện: 03/14 sở, ban ngành, 12/114 xã, phường, đặc khu "
        "(từ ngày 01/7/2025)." in year
    )
    assert "quận" not in year and "thị trấn" not in year
