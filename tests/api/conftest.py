"""API test helpers: tokens for the demo users, a JSON client, a live HTTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.api.tokens import create_token
from helpdesk.auth.models import User
from helpdesk.extensions import db

from ..conftest import LiveServer  # noqa: F401 - the API tests import it from here


def token_for(username: str, days: int = 30) -> str:
    user = db.session.scalar(select(User).where(User.username == username))
    _row, secret = create_token(user, f"test {username}", days)
    db.session.commit()
    return secret


class Api:
    """The Flask test client with a bearer token: ``api.get("/tickets")``."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.token = token

    def headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def open(self, method: str, path: str, headers=None, **kwargs):
        return self.client.open(
            "/api/v1" + path, method=method, headers=self.headers(headers), **kwargs
        )

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)


@pytest.fixture
def api_for(demo_app):
    """``api_for("thang.vd")``: a client acting with that demo user's new token."""

    def factory(username: str) -> Api:
        return Api(demo_app, token_for(username))

    return factory


@pytest.fixture
def supervisor_api(api_for):
    return api_for("thang.vd")


@pytest.fixture
def operator_api(api_for):
    return api_for("hoa.nt")


@pytest.fixture
def live_demo(demo_app):
    """The demo app served over real HTTP on a free port (a thread per request)."""
    with LiveServer(demo_app) as server:
        yield server
