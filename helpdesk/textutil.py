"""Vietnamese text helpers: NFC normalisation and accent-insensitive folding."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Control characters other than tab/newline never belong in stored text, nor do invisible
# formatting characters: zero-width spaces and joiners (U+200B..U+200D), the byte order mark
# (U+FEFF), the word joiner (U+2060) and bidirectional marks, embeddings, overrides and isolates
# (U+200E, U+200F, U+061C, U+202A..U+202E, U+2066..U+2069). A name holding one is not found by
# search, and an override displays the text reversed.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def strip_invisible(value: str) -> str:
    """The text without control, zero-width and bidirectional formatting characters."""
    return _CONTROL.sub("", value)


def nfc(value: str | None) -> str | None:
    """Return the text in NFC with control, zero-width and bidirectional formatting characters
    removed and edges trimmed (removed first: one between a letter and its mark would keep
    the pair from composing)."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", _CONTROL.sub("", str(value))).strip()


# A word of folded text (``fold``): what word search and the canned-answer picker match.
FOLDED_WORD = re.compile(r"[0-9a-z]+")


def fold(value: str | None) -> str:
    """Return a search key that ignores case, diacritics and tone placement.

    ``Thủy`` and ``Thuỷ`` (the two tone placements) both fold to ``thuy``; ``đ`` folds to ``d``.
    """
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", _CONTROL.sub("", value))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def collation_key(value: str | None) -> tuple:
    """Sort key for Vietnamese names: by letters first, then by diacritics."""
    return (fold(value), nfc(value or ""))
