"""The JSON API, version 1 (docs/API.md): bearer tokens, the same services as the pages."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import answers, counts, files, openapi, tickets  # noqa: E402,F401 - register the endpoints
