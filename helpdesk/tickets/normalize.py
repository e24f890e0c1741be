"""Vietnamese phone numbers and dossier codes in one canonical form."""

from __future__ import annotations

import re

_PHONE_JUNK = re.compile(r"[\s.\-()/]")
# Mobile numbers have 10 digits (0 + 9); landlines 11 (0 + area code + number).
_PHONE = re.compile(r"^0\d{9,10}$")

# 000.00.12.H26-230901-0001: receiving agency code, date received (YYMMDD), sequence.
_DOSSIER = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4,6})$")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


class InvalidValue(ValueError):
    """The value cannot be normalised; the message is for the person typing it."""


def normalize_phone(value: str | None) -> str | None:
    """``+84 912 345 678``, ``0912.345.678`` and ``0912345678`` all become ``0912345678``."""
    if value is None or not str(value).strip():
        return None
    digits = _PHONE_JUNK.sub("", str(value).strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise InvalidValue(
            f"'{value}' không phải số điện thoại Việt Nam (10 số, ví dụ 0912 345 678)."
        )
    return digits


def phone_prefix(value: str | None) -> str | None:
    """Normalise a partly typed number for prefix search (``+84 91`` -> ``091``)."""
    if not value:
        return None
    digits = _PHONE_JUNK.sub("", value.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) > 2:
        digits = "0" + digits[2:]
    return digits if digits.isdigit() else None


def format_phone(value: str | None) -> str:
    """``0912345678`` -> ``0912 345 678``; ``02253123456`` -> ``0225 3123 456``."""
    if not value:
        return ""
    if len(value) == 10:
        return f"{value[:4]} {value[4:7]} {value[7:]}"
    if len(value) == 11:
        return f"{value[:4]} {value[4:8]} {value[8:]}"
    return value


def normalize_dossier_code(value: str | None) -> str | None:
    """Return the canonical dossier code (upper case, ASCII hyphens, no spaces)."""
    if value is None or not str(value).strip():
        return None
    text = _DASHES.sub("-", str(value)).upper()
    text = re.sub(r"\s+", "", text)
    if not _DOSSIER.match(text):
        raise InvalidValue(f"Mã hồ sơ '{value}' không đúng dạng (ví dụ 000.00.12.H26-230901-0001).")
    return text
