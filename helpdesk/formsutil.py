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
