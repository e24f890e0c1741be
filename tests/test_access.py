"""Authorization generated from the URL map: every route, every role, anonymous included."""

import pytest

from helpdesk.auth.models import ROLE_RANK, ROLES
from helpdesk.extensions import db

from .conftest import login

PUBLIC = {"static", "auth.login", "auth.two_factor", "api.openapi_document"}
API = "api."  # the JSON API: bearer tokens, never the session cookie (tests/api)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {
            arg: (1 if type(rule._converters[arg]).__name__ == "IntegerConverter" else "2023-09")
            for arg in rule.arguments
        }
        if "fmt" in values:
            values["fmt"] = "pdf"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield rule.endpoint, url, method


def test_every_view_declares_its_access(app):
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not hasattr(view, "access_roles")
    ]
    assert missing == [], f"views without role_required/public: {missing}"


def test_anonymous_is_sent_to_sign_in_everywhere(app):
    client = app.test_client()
    checked = 0
    for endpoint, url, method in _routes(app):
        if endpoint in PUBLIC:
            continue
        response = client.open(url, method=method)
        if endpoint.startswith(API):
            assert response.status_code == 401, (endpoint, url, response.status_code)
            assert response.get_json()["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 302, (endpoint, url, response.status_code)
            assert "/dang-nhap" in response.headers["Location"], endpoint
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("role", ROLES)
def test_each_role_refused_where_it_must_be(app, make_user, role):
    user = make_user(role)
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    from helpdesk.api.tokens import create_token

    _row, secret = create_token(user, "access test")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    refused = allowed = 0
    for endpoint, url, method in _routes(app):
        if endpoint in PUBLIC or endpoint == "auth.logout":
            continue
        needed = app.view_functions[endpoint].access_roles
        must_refuse = ROLE_RANK[role] < min(ROLE_RANK[r] for r in needed)
        headers = bearer if endpoint.startswith(API) else {}
        response = client.open(url, method=method, headers=headers)
        if must_refuse:
            assert response.status_code == 403, (role, endpoint, url, response.status_code)
            refused += 1
        else:
            assert response.status_code != 403, (role, endpoint, url)
            assert "/dang-nhap" not in response.headers.get("Location", ""), (role, endpoint)
            allowed += 1
    assert allowed > 0
    if role != "admin":
        assert refused > 0
