"""The unit tree: departments; districts; communes under their district."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..textutil import fold

LEVELS = ("department", "district", "commune")
LEVEL_LABELS = {
    "department": "Cấp Sở, ngành",
    "district": "Cấp quận, huyện",
    "commune": "Cấp xã, phường",
}
# Short forms used in the report's commune lists (``TT.An Dương``).
KIND_SHORT = {"thị trấn": "TT."}


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("level IN ('department', 'district', 'commune')", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # fold(kind + name): what the accent-insensitive search matches.
    search_key: Mapped[str] = mapped_column(String(260), index=True, default="")

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

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
