"""Small helpers shared by the forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice


def choices(mapping: dict[str, str], blank: str | None = None) -> list[SelectChoice]:
    """Select options from a ``{value: label}`` mapping, optionally with a blank first option."""
    options = [SelectChoice(value, label) for value, label in mapping.items()]
    return ([SelectChoice("", blank)] if blank is not None else []) + options


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


# WTForms' own messages (choices, numbers, dates) in Vietnamese: it ships no Vietnamese
# catalogue, and every message a person reads must be in their language. Our validators pass
# their own messages; these are the built-in ones a field raises by itself.
BUILTIN_MESSAGES = {
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "'%(value)s' is not a valid choice for this field.": "“%(value)s” không phải một lựa chọn.",
    "'%(value)s' are not valid choices for this field.": "“%(value)s” không phải các lựa chọn.",
    "Not a valid integer value.": "Phải là một số nguyên.",
    "Not a valid decimal value.": "Phải là một số.",
    "Not a valid float value.": "Phải là một số.",
    "Not a valid date value.": "Ngày không đúng dạng.",
    "Not a valid datetime value.": "Thời điểm không đúng dạng.",
    "Not a valid time value.": "Giờ không đúng dạng.",
    "Not a valid week value.": "Tuần không đúng dạng.",
    "This field is required.": "Bắt buộc nhập.",
}


class VietnameseMessages:
    """A gettext-like object for WTForms' ``Meta.get_translations``."""

    def gettext(self, string: str) -> str:
        return BUILTIN_MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def use_vietnamese_messages() -> None:
    """Make every form (they all derive from FlaskForm) speak Vietnamese in its own messages."""
    messages = VietnameseMessages()
    FlaskForm.Meta.get_translations = lambda self, form: messages
