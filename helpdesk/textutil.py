"""Vietnamese text helpers: NFC normalisation and accent-insensitive folding."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Control characters other than tab/newline never belong in stored text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nfc(value: str | None) -> str | None:
    """Return the text in NFC with control characters removed and edges trimmed."""
    if value is None:
        return None
    return _CONTROL.sub("", unicodedata.normalize("NFC", str(value))).strip()


def fold(value: str | None) -> str:
    """Return a search key that ignores case, diacritics and tone placement.

    ``Thủy`` and ``Thuỷ`` (the two tone placements) both fold to ``thuy``; ``đ`` folds to ``d``.
    """
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def collation_key(value: str | None) -> tuple:
    """Sort key for Vietnamese names: by letters first, then by diacritics."""
    return (fold(value), nfc(value or ""))
