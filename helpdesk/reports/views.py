"""Views of the reports blueprint."""

from . import bp  # noqa: F401
