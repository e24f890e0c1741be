"""The composed report: header, blocks of final text, charts and signature, as plain values.

The HTML, PDF and DOCX renderers lay out a ReportDocument and nothing else, so the three
outputs cannot disagree. A document round-trips through JSON (the issued snapshot).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

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

    def paragraphs(self) -> dict[str, Block]:
        return {b.key: b for b in self.blocks if b.key}

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
        )
