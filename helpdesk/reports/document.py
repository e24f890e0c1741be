"""The composed report: header, blocks of final text, charts and signature, as plain values.

The HTML, PDF and DOCX renderers lay out a ReportDocument and nothing else, so the three
outputs cannot disagree. A document round-trips through JSON (the issued snapshot).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .. import fonts
from ..formatting import number, percent

# Paragraph text marks bold with **...**, as the seed report does.
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)

# Block kinds: heading (1., 2.), subheading (1.2., 1.3., 1.4.), para (indented body text),
# bullet ("- "), sub ("+ ") and chart (a level's chart and the table behind it).
BLOCK_KINDS = ("heading", "subheading", "para", "bullet", "sub", "chart")
PREFIX = {"bullet": "- ", "sub": "+ "}


def runs(text: str) -> list[tuple[str, bool]]:
    """Split ``a **b** c`` into ``[("a ", False), ("b", True), (" c", False)]``."""
    result: list[tuple[str, bool]] = []
    position = 0
    for match in _BOLD.finditer(text):
        if match.start() > position:
            result.append((text[position : match.start()], False))
        result.append((match.group(1), True))
        position = match.end()
    if position < len(text):
        result.append((text[position:], False))
    return result


# A token joined by "/" or "-" is one word on paper: a document reference (1809/STTTT-TTTTTT,
# 766/QĐ-TTg, 30/2020/NĐ-CP) or a date (23/6/2022) never splits across lines.
_JOINED = re.compile(r"\w+(?:[/-]\w+)+")


def pieces(text: str) -> list[tuple[str, bool, bool]]:
    """``runs`` cut further into ``(text, bold, keep)``: ``keep`` marks a joined token that
    must stay on one line (the HTML/PDF wrap it in a no-wrap span, the DOCX uses
    non-breaking hyphens)."""
    result = []
    for part, strong in runs(text):
        position = 0
        for match in _JOINED.finditer(part):
            if match.start() > position:
                result.append((part[position : match.start()], strong, False))
            result.append((match.group(), strong, True))
            position = match.end()
        if position < len(part):
            result.append((part[position:], strong, False))
    return result


WORD_JOINER = "\u2060"


def unbreakable(text: str) -> str:
    """``text`` with a word joiner on each side of every "/" and "-": no line break there.

    The PDF uses this rather than a no-wrap span: WeasyPrint (70) sometimes breaks a justified
    line badly at an inline element's edge (a lone word on a line of its own), never at a word
    joiner, which it draws as nothing.
    """
    return re.sub(r"([/-])", WORD_JOINER + r"\1" + WORD_JOINER, text)


# --- agency names in the header ------------------------------------------------------------
# The header's left column (ô 2) is 40 % of the 165 mm text width of an A4 page with 30/15 mm
# margins; the agency names are 12 pt, the parent upright and the agency bold (NĐ 30/2020).
TEXT_WIDTH_MM = 165.0
HEADER_LEFT_MM = TEXT_WIDTH_MM * 0.4
AGENCY_SIZE = 12.0
MM = 72 / 25.4
# A line of an agency name breaks only between words. Vietnamese writes a word of two or more
# syllables with spaces between them ("TRUYỀN THÔNG" is one word), so the words that make up
# agency names are listed here (longest first wins); a syllable not in a listed word is a word
# of its own ("SỞ", "VÀ"). An administrative unit and its name ("THÀNH PHỐ HẢI PHÒNG",
# "QUẬN LÊ CHÂN") is one proper name and never splits either.
AGENCY_WORDS = frozenset(
    (
        "ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|HỘI ĐỒNG NHÂN DÂN|ỦY BAN|UỶ BAN|NHÂN DÂN|HỘI ĐỒNG|"
        "BAN QUẢN LÝ|KHU KINH TẾ|KHU CÔNG NGHIỆP|THÔNG TIN|TRUYỀN THÔNG|KHOA HỌC|CÔNG NGHỆ|"
        "KẾ HOẠCH|ĐẦU TƯ|TÀI CHÍNH|TÀI NGUYÊN|MÔI TRƯỜNG|NỘI VỤ|NGOẠI VỤ|XÂY DỰNG|Y TẾ|"
        "GIÁO DỤC|ĐÀO TẠO|VĂN HÓA|VĂN HOÁ|THỂ THAO|DU LỊCH|CÔNG THƯƠNG|NÔNG NGHIỆP|PHÁT TRIỂN|"
        "NÔNG THÔN|LAO ĐỘNG|THƯƠNG BINH|XÃ HỘI|GIAO THÔNG|VẬN TẢI|TƯ PHÁP|THANH TRA|VĂN PHÒNG|"
        "TRUNG TÂM|QUẢN LÝ|KINH TẾ|HÀNH CHÍNH|CÔNG AN|QUÂN SỰ|DÂN TỘC|TÔN GIÁO|CHUYỂN ĐỔI|"
        "CÔNG NGHIỆP|PHỤC VỤ|DỊCH VỤ|CÔNG VIỆC|DỮ LIỆU|CHÍNH PHỦ|ĐIỆN TỬ|HẢI PHÒNG"
    ).split("|")
)
PLACE_UNITS = (
    "THÀNH PHỐ",
    "THỊ XÃ",
    "THỊ TRẤN",
    "ĐẶC KHU",
    "TỈNH",
    "QUẬN",
    "HUYỆN",
    "XÃ",
    "PHƯỜNG",
)
CONJUNCTIONS = frozenset({"VÀ", "-", "–"})


def agency_words(name: str) -> tuple[str, ...]:
    """``name`` in upper case, cut into the words a line may break between."""
    tokens = unicodedata.normalize("NFC", name).upper().split()
    words: list[str] = []
    i = 0
    while i < len(tokens):
        size = next((n for n in (4, 3, 2) if " ".join(tokens[i : i + n]) in AGENCY_WORDS), 0)
        unit = next((u for u in PLACE_UNITS if tokens[i : i + u.count(" ") + 1] == u.split()), "")
        if size:
            end = i + size
        elif unit:  # the unit and its name, up to "VÀ" or a dash
            end = i + unit.count(" ") + 1
            while end < len(tokens) and tokens[end] not in CONJUNCTIONS:
                end += 1
        else:
            end = i + 1
        word = " ".join(tokens[i:end])
        if words and not any(ch.isalnum() for ch in word):
            words[-1] += " " + word  # a dash never starts a line
        else:
            words.append(word)
        i = end
    return tuple(words)


def agency_lines(name: str, bold: bool) -> tuple[tuple[str, ...], ...]:
    """The lines of an agency name in the header's left column: as many whole words per line
    as fit (Times New Roman metrics), each line a tuple of words. Without the font's metrics,
    one line of all the words: the renderer wraps it, between words only."""
    return _agency_lines(name, bold, fonts.report_font())


@lru_cache(maxsize=64)
def _agency_lines(name: str, bold: bool, _family: str | None) -> tuple[tuple[str, ...], ...]:
    words = agency_words(name)
    room = HEADER_LEFT_MM * MM - 0.5 * MM  # a little slack for rounding
    if not words or fonts.text_width(words[0], AGENCY_SIZE, bold=bold) is None:
        return (words,) if words else ()
    lines: list[list[str]] = [[]]
    for word in words:
        candidate = " ".join([*lines[-1], word])
        if lines[-1] and fonts.text_width(candidate, AGENCY_SIZE, bold=bold) > room:
            lines.append([word])
        else:
            lines[-1].append(word)
    return tuple(tuple(line) for line in lines)


def line_width_mm(text: str, size: float, bold: bool = False) -> float | None:
    width = fonts.text_width(text, size, bold=bold)
    return None if width is None else width / MM


def plain(text: str) -> str:
    """The text without bold markers."""
    return "".join(part for part, _bold in runs(text))


@dataclass(frozen=True)
class ChartRow:
    label: str
    received: int | None
    online: int | None

    @property
    def cells(self) -> tuple[str, str, str]:
        """Received, online and online rate as the table prints them (blank: not reported)."""
        rate = percent(self.online, self.received) if self.received else ""
        return (number(self.received, "–"), number(self.online, "–"), rate or "–")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str  # "Cấp Sở, ngành"
    unit_heading: str  # the first column's heading
    rows: tuple[ChartRow, ...]
    total: ChartRow
    note: str = ""


@dataclass(frozen=True)
class Block:
    kind: str
    text: str = ""  # final text, with **bold** markers
    key: str | None = None  # set when a supervisor may override the paragraph
    generated: str | None = None  # the generated text (None for fixed headings)
    chart: Chart | None = None

    @property
    def overridden(self) -> bool:
        return self.generated is not None and self.text != self.generated

    @property
    def prefix(self) -> str:
        return PREFIX.get(self.kind, "")

    @property
    def runs(self) -> list[tuple[str, bool]]:
        return runs(self.text)

    @property
    def plain(self) -> str:
        return self.prefix + plain(self.text)

    @property
    def pieces(self) -> list[tuple[str, bool, bool]]:
        return pieces(self.text)


@dataclass(frozen=True)
class Header:
    parent_agency: str
    agency: str
    number_label: str  # "Số:" and the number, blank until issued
    symbol: str  # "/BC-STTTT"
    place_date: str  # "Hải Phòng, ngày 29 tháng 9 năm 2023"
    doc_type: str  # "BÁO CÁO"
    subject: str
    recipient: str  # "Kính gửi: Ủy ban nhân dân thành phố"
    nation: str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    motto: str = "Độc lập - Tự do - Hạnh phúc"

    @property
    def number_line(self) -> str:
        return f"{self.number_label}{self.symbol}"

    @property
    def parent_agency_lines(self) -> tuple[tuple[str, ...], ...]:
        return agency_lines(self.parent_agency, False)

    @property
    def agency_lines(self) -> tuple[tuple[str, ...], ...]:
        return agency_lines(self.agency, True)

    @property
    def subject_pieces(self) -> list[tuple[str, bool, bool]]:
        return pieces(self.subject)


@dataclass(frozen=True)
class Signature:
    title_lines: tuple[str, ...]
    name: str
    distribution: tuple[str, ...]
    distribution_label: str = "Nơi nhận:"


@dataclass(frozen=True)
class ReportDocument:
    month: str
    title: str  # for file names and the browser tab
    header: Header
    blocks: tuple[Block, ...]
    signature: Signature
    keys: tuple[str, ...] = field(default_factory=tuple)  # overridable paragraphs, in order
    # Paragraphs a supervisor removed from the report: not printed; the draft page lists them
    # so they can be put back.
    omitted: tuple[Block, ...] = field(default_factory=tuple)

    def paragraphs(self) -> dict[str, Block]:
        return {b.key: b for b in (*self.blocks, *self.omitted) if b.key}

    def plain_text(self) -> str:
        """Every word of the document in reading order (for tests and glyph checks)."""
        h = self.header
        lines = [h.parent_agency, h.agency, h.nation, h.motto, h.number_line, h.place_date]
        lines += [h.doc_type, h.subject, h.recipient]
        for block in self.blocks:
            if block.chart is not None:
                chart = block.chart
                lines.append(chart.title)
                lines.append(f"TT {chart.unit_heading} Tiếp nhận Trực tuyến Tỷ lệ")
                for row in (*chart.rows, chart.total):
                    lines.append(" ".join((row.label, *row.cells)))
                if chart.note:
                    lines.append(chart.note)
            else:
                lines.append(block.plain)
        s = self.signature
        lines += [s.distribution_label, *s.distribution, *s.title_lines, s.name]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ReportDocument:
        blocks = []
        for item in data["blocks"]:
            chart = item.get("chart")
            if chart is not None:
                chart = Chart(
                    **{
                        **chart,
                        "rows": tuple(ChartRow(**r) for r in chart["rows"]),
                        "total": ChartRow(**chart["total"]),
                    }
                )
            blocks.append(Block(**{**item, "chart": chart}))
        signature = data["signature"]
        return cls(
            month=data["month"],
            title=data["title"],
            header=Header(**data["header"]),
            blocks=tuple(blocks),
            signature=Signature(
                **{
                    **signature,
                    "title_lines": tuple(signature["title_lines"]),
                    "distribution": tuple(signature["distribution"]),
                }
            ),
            keys=tuple(data.get("keys", ())),
            omitted=tuple(Block(**item) for item in data.get("omitted", ())),
        )
