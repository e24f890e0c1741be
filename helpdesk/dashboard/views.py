"""Views of the dashboard blueprint."""

from . import bp  # noqa: F401
