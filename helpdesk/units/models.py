"""Units and their lifetimes: departments; districts; communes (under a district, or none).

A unit is its code plus its lifetime (``valid_from`` .. ``valid_to``, both inclusive, either
open): official codes are reused, so two units may share a code as long as their lifetimes do
not overlap. A unit that ends is never deleted; it names its successors (the units that took
over its area and procedures), ordered as the resolution lists them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..textutil import fold

LEVELS = ("department", "district", "commune")
LEVEL_LABELS = {
    "department": "Cấp Sở, ngành",
    "district": "Cấp quận, huyện",
    "commune": "Cấp xã, phường",
}
# The kinds of the commune level in the order the official texts name them
# ("các xã, phường, thị trấn"; since 1/7/2025 "các xã, phường, đặc khu").
COMMUNE_KINDS = ("xã", "phường", "thị trấn", "đặc khu")
# Short forms used in the report's commune lists (``TT.An Dương``).
KIND_SHORT = {"thị trấn": "TT."}

unit_successors = Table(
    "unit_successors",
    db.metadata,
    Column(
        "unit_id",
        Integer,
        ForeignKey("units.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "successor_id",
        Integer,
        ForeignKey("units.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("position", Integer, nullable=False, default=0),
)


def commune_kinds(kinds) -> tuple[str, ...]:
    """The commune kinds present, in the official order (unknown kinds last, alphabetically)."""
    present = set(kinds)
    known = [k for k in COMMUNE_KINDS if k in present]
    return tuple(known + sorted(present - set(COMMUNE_KINDS)))


def level_label(level: str, kinds=()) -> str:
    """A level's heading for a period: ``Cấp xã, phường`` or ``Cấp xã, phường, đặc khu``.

    The commune level is named by the kinds it has; a thị trấn is counted with the xã in the
    short heading, as the 2023 report does ("Cấp xã, phường" over xã, phường and thị trấn).
    """
    if level != "commune" or not kinds:
        return LEVEL_LABELS[level]
    words = [k for k in commune_kinds(kinds) if k != "thị trấn"]
    return "Cấp " + ", ".join(words)


def commune_phrase(kinds=()) -> str:
    """``xã, phường, thị trấn`` or ``xã, phường, đặc khu``: the commune level in a sentence."""
    return ", ".join(commune_kinds(kinds)) if kinds else "xã, phường, thị trấn"


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("level IN ('department', 'district', 'commune')", name="level"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
                        name="lifetime"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # The first and the last day the unit exists; None: no bound.
    valid_from: Mapped[date | None] = mapped_column(default=None)
    valid_to: Mapped[date | None] = mapped_column(default=None)
    # fold(kind + name): what the accent-insensitive search matches.
    search_key: Mapped[str] = mapped_column(String(260), index=True, default="")

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    successors: Mapped[list[Unit]] = relationship(
        secondary=unit_successors,
        primaryjoin=lambda: Unit.id == unit_successors.c.unit_id,
        secondaryjoin=lambda: Unit.id == unit_successors.c.successor_id,
        order_by=lambda: unit_successors.c.position,
        lazy="select",
    )

    def refresh_search_key(self) -> None:
        self.search_key = fold(f"{self.kind} {self.name}")

    @property
    def full_name(self) -> str:
        """Kind before the name: ``quận Lê Chân``, ``Sở Y tế``."""
        return f"{self.kind} {self.name}"

    @property
    def display(self) -> str:
        """Full name, with the district for a commune: ``xã Hòa Bình (huyện Thủy Nguyên)``."""
        if self.level == "commune" and self.parent is not None:
            return f"{self.full_name} ({self.parent.full_name})"
        return self.full_name

    def exists_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def exists_during(self, first: date, last: date) -> bool:
        return (self.valid_from is None or self.valid_from <= last) and (
            self.valid_to is None or first <= self.valid_to
        )

    @property
    def lifetime(self) -> str:
        """``từ 01/7/2025``, ``đến 30/6/2025``, ``01/3/2025 – 30/6/2025`` or ``""``."""
        from ..formatting import report_date

        start = report_date(self.valid_from) if self.valid_from else None
        end = report_date(self.valid_to) if self.valid_to else None
        if start and end:
            return f"{start} – {end}"
        if end:
            return f"đến {end}"
        if start:
            return f"từ {start}"
        return ""

    @property
    def ended_label(self) -> str:
        """``đã kết thúc 30/6/2025`` for a unit with an end, else ``""``."""
        from ..formatting import report_date

        return f"đã kết thúc {report_date(self.valid_to)}" if self.valid_to else ""
