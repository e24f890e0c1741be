"""Views of the tickets blueprint."""

from . import bp  # noqa: F401
