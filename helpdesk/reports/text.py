"""The report's Vietnamese sentences, written from the figures of a month or a longer period.

Every sentence that carries a figure keeps the seed report's wording. A figure that was not
reported (None) is left out with its clause, never printed as zero.

A period is named in the official words (``tháng 9/2023``, ``quý III/2026``, ``6 tháng đầu năm
2026``, ``9 tháng năm 2026``, ``năm 2026``) in the subject, the opening and the payment sentence.
A period longer than a month compares its dossiers and payments with the period of equal length
before it and, where that has data, with the same period of the year before; a month keeps the
seed's one comparison (payments, with the month before). A level whose units all ended (or
began) inside the period says when: "các quận, huyện (đến ngày 30/6/2025)".

The levels are the month's own (``MonthFigures.levels``): a month without districts (since
1/7/2025) has no district sentence, table or chart, and its communes are listed without district
headings. The commune level is named by the kinds it has that month (``LevelFigures.phrase``):
"các xã, phường, thị trấn" in 2023, "các xã, phường, đặc khu" since 1/7/2025.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ..formatting import count2, number, percent, report_date
from ..periods import ReportPeriod
from ..units.models import KIND_SHORT, commune_kinds, commune_phrase
from .builder import (
    DistrictCommunes,
    LevelFigures,
    MonthFigures,
    PaymentFigures,
    UnitFigures,
    month_label,
)
from .document import Block, Chart, ChartRow, Header, ReportDocument, Signature

DOC_TYPE = "BÁO CÁO"

# How the seed report names each level in its short lists (payments, units not yet done); the
# commune level is "xã phường" there while it has only xã, phường and thị trấn (see short_units).
PAYMENT_UNITS = {"department": "Sở ngành", "district": "quận huyện", "commune": "xã phường"}
SIGNED_LEVEL = {"department": "Cấp sở", "district": "Cấp huyện", "commune": "Cấp xã"}
PENDING_UNITS = {"department": "sở, ban ngành", "district": "quận huyện", "commune": "xã phường"}
SEED_COMMUNE_KINDS = frozenset({"xã", "phường", "thị trấn"})

HEADINGS = {
    "s1": "1. Số liệu thống kê:",
    "s12": "1.2. Về thanh toán trực tuyến:",
    "s13": (
        "1.3. Ký số kết quả giải quyết thủ tục hành chính và đính kèm kết quả đã ký số khi trả "
        "kết quả giải quyết thủ tục hành chính cho cá nhân/tổ chức:"
    ),
    "s14": (
        "1.4. Khai thác chức năng kết nối Hệ thống thông tin giải quyết thủ tục hành chính của "
        "thành phố với Cơ sở dữ liệu quốc gia về dân cư:"
    ),
    "s2": "2. Công tác hỗ trợ vận hành, khai thác Hệ thống:",
}

# What the draft page calls each overridable paragraph.
PARAGRAPH_LABELS = {
    "opening": "Đoạn mở đầu",
    "s1_summary": "1. Số liệu thống kê",
    "s12_procedures": "1.2. Thủ tục thiết lập thanh toán",
    "s12_transactions": "1.2. Giao dịch thanh toán",
    "s13_department": "1.3. Cấp sở",
    "s13_district": "1.3. Cấp huyện",
    "s13_commune": "1.3. Cấp xã",  # the level's sentence (and its list, without districts)
    "s13_communes_other": "1.3. Cấp xã: đơn vị không thuộc quận, huyện",
    "s13_pending": "1.3. Đơn vị chưa thực hiện",
    "s14_population": "1.4. Cơ sở dữ liệu quốc gia về dân cư",
    "s2_support": "2. Lượt hỗ trợ",
    "s2_on_time": "2. Giải quyết đúng hạn",
    "closing": "Câu kết",
}


@dataclass(frozen=True)
class ReportSettings:
    """What a supervisor sets on the draft: date, number, signer, paragraph overrides."""

    report_date: date
    number: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)


def paragraph_label(key: str) -> str:
    if key in PARAGRAPH_LABELS:
        return PARAGRAPH_LABELS[key]
    if key.startswith("s13_commune_"):
        return "1.3. Cấp xã: một quận, huyện"
    if key.startswith("s2_activity_"):
        return f"2. Hoạt động {key.rsplit('_', 1)[-1]}"
    return key


def lifetime(lvl: LevelFigures) -> str:
    """`` (đến ngày 30/6/2025)`` for a level that ended inside the period, `` (từ ngày ...)``
    for one that began inside it; empty otherwise (and always in a month's report)."""
    if lvl.until is not None:
        return f" (đến ngày {report_date(lvl.until)})"
    if lvl.since is not None:
        return f" (từ ngày {report_date(lvl.since)})"
    return ""


def received_at(lvl: LevelFigures) -> str:
    """``các Sở, ngành``, ``các quận, huyện``, ``các xã, phường, thị trấn``."""
    return f"các {lvl.phrase}{lifetime(lvl)}"


def online_at(lvl: LevelFigures) -> str:
    """As ``received_at``; the seed writes "là" before the communes' figure only."""
    return received_at(lvl) + (" là" if lvl.level == "commune" else "")


def short_units(lvl: LevelFigures, seed: Mapping[str, str], kinds: tuple[str, ...] = ()) -> str:
    """The level in the seed's short lists (``13 Sở ngành``, ``33/217 xã phường``).

    The seed's short commune form "xã phường" stands for xã, phường and thị trấn; a commune
    level with other kinds (đặc khu, since 1/7/2025) is named in full: ``xã, phường, đặc khu``.
    """
    kinds = kinds or lvl.kinds
    if lvl.level == "commune" and not set(kinds) <= SEED_COMMUNE_KINDS:
        return commune_phrase(kinds) + lifetime(lvl)
    return seed[lvl.level] + lifetime(lvl)


def bold(value: str) -> str:
    return f"**{value}**"


def join_and(parts: list[str]) -> str:
    """``a, b và c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " và " + parts[-1]


def long_date(place: str, value: date) -> str:
    """``Hải Phòng, ngày 05 tháng 01 năm 2024`` (NĐ 30/2020: day < 10 and months 1, 2 padded)."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    text = f"ngày {value.day:02d} tháng {month} năm {value.year}"
    return f"{place}, {text}" if place else text


def short_date(value: date) -> str:
    """``22/9/2023``; day < 10 and months 1, 2 padded as in the header."""
    return report_date(value)


def document_number(value: str | None) -> str:
    """The issued number, with a leading zero under 10 (``05``); blank until issued."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and int(text) < 10:
        return f"{int(text):02d}"
    return text


def unit_name(unit: UnitFigures) -> str:
    """``xã An Hưng``; a thị trấn is written ``TT.An Dương`` in the commune lists."""
    short = KIND_SHORT.get(unit.kind)
    return f"{short}{unit.name}" if short else unit.full_name


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def results(unit: UnitFigures, name: str | None = None) -> str:
    return f"{name or unit.full_name} ({count2(unit.signed)} kết quả)"


def period_of(fig: MonthFigures) -> ReportPeriod:
    return fig.report_period


def _compared(fig: MonthFigures) -> list[tuple[str, str]]:
    """(key, words) of the periods a longer period is compared with: the period of equal length
    before it, then the same period of the year before when that is another period."""
    period = period_of(fig)
    result = [("previous", period.previous().label)]
    same = period.same_period_last_year()
    if same.months != period.previous().months:
        result.append(("same", period.same_period_label))
    return result


# --- section 1 ------------------------------------------------------------------------------


def _received_change(fig: MonthFigures, total: int) -> str:
    """`` (tăng 1.200 hồ sơ so với quý II/2026 là 87.704 hồ sơ; ...)`` in a period's summary."""
    if period_of(fig).is_month:
        return ""
    values = {"previous": fig.previous_received, "same": fig.same_period_received}
    parts = [
        f"{_change(total - values[key], 'hồ sơ', 'giữ nguyên số hồ sơ')} so với {words} là "
        f"{number(values[key])} hồ sơ"
        for key, words in _compared(fig)
        if values[key] is not None
    ]
    return f" ({'; '.join(parts)})" if parts else ""


def summary(fig: MonthFigures) -> str | None:
    levels = [lvl for lvl in fig.levels if lvl.received is not None]
    if not levels:
        return None
    total = sum(lvl.received for lvl in levels)
    received = [f"{received_at(lvl)} là {bold(number(lvl.received))} hồ sơ" for lvl in levels]
    received[0] = "Số hồ sơ tiếp nhận tại " + received[0]
    text = (
        f"Tổng số hồ sơ tiếp nhận được cập nhật trên hệ thống là {bold(number(total))} hồ sơ"
        f"{_received_change(fig, total)}, trong đó: {', '.join(received)}."
    )
    online_levels = [lvl for lvl in levels if lvl.online is not None]
    if online_levels:
        online_total = sum(lvl.online for lvl in online_levels)
        online_base = sum(lvl.received for lvl in online_levels)
        parts = [_online("Số hồ sơ trực tuyến là", online_total, online_base)]
        parts += [_online(online_at(lvl), lvl.online, lvl.received) for lvl in online_levels]
        text += " " + ", ".join(parts) + ":"
    else:
        text = text[:-1] + ":"
    return text


def _online(subject: str, online: int, received: int) -> str:
    return f"{subject} {bold(number(online))} hồ sơ{_rate(online, received)}"


def _rate(online: int, received: int) -> str:
    if not received:
        return ""
    return f" (đạt tỷ lệ {bold(percent(online, received))})"


def _chart_row(label: str, received: int | None, online: int | None) -> ChartRow:
    return ChartRow(label, received, online)


def _total_row(rows: list[ChartRow]) -> ChartRow:
    received = [r.received for r in rows if r.received is not None]
    online = [r.online for r in rows if r.online is not None]
    return ChartRow(
        "Tổng cộng", sum(received) if received else None, sum(online) if online else None
    )


def _chart_sources(fig: MonthFigures) -> list[tuple[str, list[ChartRow], str, str]]:
    """(level, rows, first column's heading, note) of each level's chart, in report order."""
    sources = []
    for lvl in fig.levels:
        if lvl.level == "department":
            rows = [_chart_row(u.full_name, u.received, u.online) for u in fig.departments]
            sources.append((lvl.level, rows, "Sở, ngành", ""))
        elif lvl.level == "district":
            rows = [_chart_row(u.full_name, u.received, u.online) for u in fig.districts]
            sources.append((lvl.level, rows, "Quận, huyện", ""))
        elif fig.has_districts:  # communes summed by district, as the seed does
            rows = [_chart_row(d.full_name, d.received, d.online) for d in fig.district_communes]
            loose = loose_communes(fig)
            rows += [_chart_row(u.full_name, u.received, u.online) for u in loose]
            heading, note = "Quận, huyện", f"Số liệu {received_at(lvl)} được cộng theo quận, huyện."
            if loose:  # a period across the end of the districts: districts and communes
                grouped = [u.kind for g in fig.district_communes for u in g.communes]
                heading = "Đơn vị"
                note = (
                    f"Số liệu các {commune_phrase(commune_kinds(grouped))} thuộc quận, huyện được "
                    f"cộng theo quận, huyện; các "
                    f"{commune_phrase(commune_kinds(u.kind for u in loose))} không thuộc quận, "
                    "huyện có dòng riêng."
                )
            sources.append((lvl.level, rows, heading, note))
        else:  # no districts: every commune has its own row
            rows = [_chart_row(u.full_name, u.received, u.online) for u in fig.communes]
            sources.append((lvl.level, rows, capitalised(lvl.phrase), ""))
    return sources


def charts(fig: MonthFigures) -> list[Chart]:
    result = []
    for level, rows, heading, note in _chart_sources(fig):
        lvl = fig.level(level)
        if lvl.received is None or not rows:
            continue
        result.append(
            Chart(
                key=f"chart_{level}",
                title=lvl.label + lifetime(lvl),
                unit_heading=heading,
                rows=tuple(rows),
                total=_total_row(rows),
                note=note,
            )
        )
    return result


# --- 1.2 online payment ---------------------------------------------------------------------


def payment_procedures(fig: MonthFigures) -> str | None:
    parts = [
        f"{number(lvl.procedures)} thủ tục hành chính của {count2(lvl.procedure_units)} "
        f"{short_units(lvl, PAYMENT_UNITS, lvl.procedure_kinds)}"
        for lvl in fig.levels
        if lvl.procedures is not None
    ]
    if not parts:
        return None
    return (
        f"Trên hệ thống, hiện có {join_and(parts)} đã được thiết lập thông tin thanh toán "
        "trực tuyến."
    )


def _transactions(pay: PaymentFigures) -> str:
    text = (
        f"{count2(pay.units)} đơn vị phát sinh {number(pay.transactions)} giao dịch "
        "thanh toán trực tuyến"
    )
    if pay.amount is not None:
        text += f" với tổng số tiền {number(pay.amount)} đồng"
    return text


def _change(diff: int, unit: str, same: str) -> str:
    if diff > 0:
        return f"tăng {number(diff)} {unit}"
    if diff < 0:
        return f"giảm {number(-diff)} {unit}"
    return same


def _payment_change(pay: PaymentFigures, prev: PaymentFigures, words: str) -> str:
    """``tăng 3.486 giao dịch và giảm 1.488.491.563 đồng so với tháng 8/2023 là ...``."""
    changes = [
        _change(pay.transactions - prev.transactions, "giao dịch", "giữ nguyên số giao dịch")
    ]
    if pay.amount is not None and prev.amount is not None:
        changes.append(_change(pay.amount - prev.amount, "đồng", "giữ nguyên số tiền"))
    return f"{' và '.join(changes)} so với {words} là {_transactions(prev)}"


def payment_transactions(fig: MonthFigures) -> str | None:
    pay = fig.payment
    if pay is None or pay.transactions is None:
        return None
    period = period_of(fig)
    text = (
        f"Theo thống kê trên hệ thống, trong {period.label}, trên Hệ thống có {_transactions(pay)}"
    )
    if pay.fee_transactions is not None:
        text += (
            f"; trong đó thanh toán phí/lệ phí: tổng số {number(pay.fee_transactions)} giao dịch"
        )
        if pay.fee_amount is not None:
            text += f" với tổng số tiền {number(pay.fee_amount)} đồng"
    if period.is_month:  # the seed's one comparison: the month before
        compared = [("previous", period.previous().label)]
    else:
        compared = _compared(fig)
    others = {"previous": fig.previous_payment, "same": fig.same_period_payment}
    parts = [
        _payment_change(pay, others[key], words)
        for key, words in compared
        if others[key] is not None and others[key].transactions is not None
    ]
    if parts:
        text += f" ({'; '.join(parts)})"
    return text + "."


# --- 1.3 digitally signed results -------------------------------------------------------------


def _done(lvl: LevelFigures) -> str:
    return f"{count2(lvl.signed_units)}/{count2(lvl.units)} đơn vị"


def signed_level(
    lvl: LevelFigures | None, units: tuple[UnitFigures, ...], short: bool = False
) -> str | None:
    """``Cấp sở có N hồ sơ của a/b đơn vị, cụ thể: Sở A (n kết quả), ...``.

    ``short``: units written as in the commune lists (``TT.An Dương``).
    """
    if lvl is None or lvl.signed is None:
        return None
    head = (
        f"{SIGNED_LEVEL[lvl.level]}{lifetime(lvl)} có {number(lvl.signed)} hồ sơ của {_done(lvl)}"
    )
    done = [results(u, unit_name(u) if short else None) for u in units if u.signed]
    if not done:
        return head + "."
    return f"{head}, cụ thể: {', '.join(done)}."


def signed_communes(lvl: LevelFigures | None) -> str | None:
    """The commune level's sentence before its lists by district."""
    if lvl is None or lvl.signed is None:
        return None
    head = (
        f"{SIGNED_LEVEL[lvl.level]}{lifetime(lvl)} có {number(lvl.signed)} hồ sơ của {_done(lvl)}"
    )
    return head + (", cụ thể:" if lvl.signed_units else ".")


def loose_communes(fig: MonthFigures) -> tuple[UnitFigures, ...]:
    """The communes without a district in a month that has districts (a month in which the
    districts ended part way): listed on their own after the districts' communes."""
    if not fig.has_districts:
        return ()
    return tuple(u for u in fig.communes if u.district_code is None)


def signed_loose(units: tuple[UnitFigures, ...]) -> str | None:
    done = [results(u, unit_name(u)) for u in units if u.signed]
    if not done:
        return None
    return f"Không thuộc quận, huyện: {', '.join(done)}."


def signed_district(group: DistrictCommunes, last: bool) -> str | None:
    done = [results(u, unit_name(u)) for u in group.communes if u.signed]
    if not done:
        return None
    return f"{capitalised(group.full_name)}: {', '.join(done)}{'.' if last else ';'}"


def pending(fig: MonthFigures) -> str | None:
    reported = [lvl for lvl in fig.levels if lvl.signed is not None]
    if not reported:
        return None
    parts = [
        f"{count2(lvl.units - lvl.signed_units)}/{count2(lvl.units)} "
        f"{short_units(lvl, PENDING_UNITS)}"
        for lvl in reported
        if lvl.units > lvl.signed_units
    ]
    if not parts:
        return "Tất cả các đơn vị đã thực hiện."
    return f"Các đơn vị chưa thực hiện: {', '.join(parts)}."


# --- 1.4, 2 and the closing -------------------------------------------------------------------


def population(fig: MonthFigures) -> str | None:
    pop = fig.population
    if pop is None or pop.lookups is None:
        return None
    when = (
        f"Tính đến ngày {short_date(pop.as_of)}"
        if pop.as_of
        else f"Tính đến hết tháng {month_label(pop.month or period_of(fig).months[-1])}"
    )
    text = (
        f"{when} đã thực hiện tổng {number(pop.lookups)} lượt khai thác chức năng xác thực "
        "công dân, xác thực dịch vụ từ cơ sở dữ liệu quốc gia về dân cư"
    )
    if pop.matched is not None:
        text += (
            f", trong đó {number(pop.matched)} yêu cầu có dữ liệu trùng khớp với cơ sở dữ liệu "
            "quốc gia về dân cư và được trả kết quả tra cứu"
        )
    return text + "."


def support(fig: MonthFigures) -> str | None:
    parts = []
    citizen, agency = fig.citizen_support, fig.agency_support
    if citizen.total:
        phrases = ", ".join(c.phrase for c in citizen.categories)
        parts.append(f"{number(citizen.total)} lượt công dân {phrases}")
    if agency.total:
        phrases = ", ".join(c.phrase for c in agency.categories)
        parts.append(f"{number(agency.total)} lượt cho các cơ quan, đơn vị trong {phrases}")
    if not parts:
        return None
    return "Hỗ trợ " + "; ".join(parts) + ";"


def on_time(fig: MonthFigures) -> str | None:
    """One sentence: resolved, the on-time rate, and what is still open (late)."""
    counts = fig.service_levels
    if counts is None or not (counts.resolved or counts.unresolved):
        return None
    text = f"Đã giải quyết {number(counts.resolved)} yêu cầu hỗ trợ"
    if counts.resolved:
        text += f", đúng hạn đạt {percent(counts.on_time, counts.resolved)}"
    if counts.unresolved:
        text += (
            f"; còn {number(counts.unresolved)} yêu cầu đang giải quyết, trong đó "
            f"{number(counts.open_late)} yêu cầu quá hạn"
            if counts.open_late
            else f"; còn {number(counts.unresolved)} yêu cầu đang giải quyết, chưa quá hạn"
        )
    return text + ";"


def closing(fig: MonthFigures) -> str:
    org = fig.organisation
    return f"{org.agency_name} kính báo cáo {org.recipient}./."


def opening(fig: MonthFigures) -> str:
    period = period_of(fig)
    # "Tháng 9/2023 các địa phương ..." as the seed; "Trong quý III/2026, các địa phương ...".
    when = period.title if period.is_month else f"Trong {period.label},"
    return (
        f"{when} các địa phương, đơn vị trên địa bàn thành phố tiếp tục "
        "vận hành, khai thác, sử dụng Hệ thống thông tin giải quyết thủ tục hành chính thành phố "
        "phục vụ người dân, doanh nghiệp thực hiện giải quyết thủ tục hành chính."
    )


# --- the document -----------------------------------------------------------------------------


def generated_blocks(fig: MonthFigures) -> list[Block]:
    """Every block of the report with its generated text, in order."""
    blocks: list[Block] = []

    def para(kind: str, key: str, text: str | None) -> None:
        if text is not None:
            blocks.append(Block(kind=kind, text=text, key=key, generated=text))

    def heading(kind: str, name: str) -> None:
        blocks.append(Block(kind=kind, text=HEADINGS[name]))

    para("para", "opening", opening(fig))
    section1_start = len(blocks)
    para("para", "s1_summary", summary(fig))
    for chart in charts(fig):
        blocks.append(Block(kind="chart", chart=chart))

    s12 = [payment_procedures(fig), payment_transactions(fig)]
    if any(s12):
        heading("subheading", "s12")
        para("bullet", "s12_procedures", s12[0])
        para("bullet", "s12_transactions", s12[1])

    dept, dist, comm = (fig.level(level) for level in ("department", "district", "commune"))
    by_district = fig.has_districts
    s13 = [
        signed_level(dept, fig.departments),
        signed_level(dist, fig.districts),
        # Without districts the communes follow their level's sentence in one paragraph.
        signed_communes(comm) if by_district else signed_level(comm, fig.communes, short=True),
    ]
    if any(s13):
        heading("subheading", "s13")
        para("bullet", "s13_department", s13[0])
        para("bullet", "s13_district", s13[1])
        para("bullet", "s13_commune", s13[2])
        if s13[2] is not None and by_district:
            groups = [g for g in fig.district_communes if any(u.signed for u in g.communes)]
            loose = signed_loose(loose_communes(fig))
            for index, group in enumerate(groups):
                last = index == len(groups) - 1 and loose is None
                para("sub", f"s13_commune_{group.code}", signed_district(group, last))
            para("sub", "s13_communes_other", loose)
        para("bullet", "s13_pending", pending(fig))

    pop = population(fig)
    if pop is not None:
        heading("subheading", "s14")
        para("para", "s14_population", pop)
    if len(blocks) > section1_start:  # section 1 has something to say
        blocks.insert(section1_start, Block(kind="heading", text=HEADINGS["s1"]))

    heading("heading", "s2")
    para("bullet", "s2_support", support(fig))
    para("bullet", "s2_on_time", on_time(fig))
    for index, activity in enumerate(fig.activities, start=1):
        para("bullet", f"s2_activity_{index}", activity)
    para("para", "closing", closing(fig))
    return blocks


def compose(fig: MonthFigures, settings: ReportSettings) -> ReportDocument:
    """The final document: generated blocks, the supervisor's overrides and header settings."""
    org = fig.organisation
    period = period_of(fig)
    blocks = []
    omitted = []
    for block in generated_blocks(fig):
        override = settings.overrides.get(block.key) if block.key else None
        if override is not None and not override.strip():  # removed by the supervisor
            omitted.append(block)
            continue
        if override is not None:
            block = Block(block.kind, override.strip(), block.key, block.generated, block.chart)
        blocks.append(block)
    number_text = document_number(settings.number)
    header = Header(
        parent_agency=org.parent_agency,
        agency=org.agency,
        number_label=f"Số: {number_text}"
        if number_text
        else "Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0",
        symbol=f"/{org.document_symbol}" if org.document_symbol else "",
        place_date=long_date(org.place, settings.report_date),
        doc_type=DOC_TYPE,
        subject=f"Kết quả vận hành, khai thác {org.system_name} {period.label}",
        recipient=f"Kính gửi: {org.recipient}" if org.recipient else "",
    )
    title_text = (settings.signer_title or org.signer_title or "").strip()
    signature = Signature(
        title_lines=tuple(line.strip() for line in title_text.split("|") if line.strip()),
        name=(settings.signer_name or org.signer_name or "").strip(),
        distribution=org.distribution,
    )
    return ReportDocument(
        # A month (YYYY-MM) for the renderers (the DOCX's fixed timestamp): the period's first.
        month=period.months[0],
        title=f"Báo cáo {period.label}",
        header=header,
        blocks=tuple(blocks),
        signature=signature,
        keys=tuple(b.key for b in blocks if b.key),
        omitted=tuple(omitted),
    )
