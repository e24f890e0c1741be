"""API tokens: stored hashed, expiring, revocable, ended with the user's password or account."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from helpdesk.api.models import ApiToken
from helpdesk.api.tokens import create_token
from helpdesk.auth.models import User
from helpdesk.auth.services import reset_password, set_active
from helpdesk.cli import DEMO_PASSWORDS
from helpdesk.extensions import db
from tests.conftest import csrf_token_from, login

from .conftest import Api, token_for


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _status(app, token: str) -> int:
    return Api(app, token).get("/tickets/count").status_code


def test_only_the_hash_is_stored(demo_app):
    secret = token_for("hoa.nt")
    row = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.prefix, row.name)
    assert secret.startswith(row.prefix) and len(row.prefix) < 12
    assert _status(demo_app, secret) == 200
    db.session.refresh(row)
    assert row.last_used_at is not None


def test_expired_revoked_and_deactivated_tokens_are_401(demo_app):
    expired = token_for("hoa.nt")
    row = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    assert _status(demo_app, expired) == 401

    revoked = token_for("hoa.nt")
    row = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    from helpdesk.api.tokens import revoke

    assert revoke(row, None) and not revoke(row, None)
    db.session.commit()
    assert _status(demo_app, revoked) == 401

    by_password = token_for("tuan.pv")
    reset_password(_user("tuan.pv"), "Mat-khau-moi-2026!", None)
    db.session.commit()
    assert _status(demo_app, by_password) == 401

    by_deactivation = token_for("linh.dm")
    set_active(_user("linh.dm"), False, None)
    db.session.commit()
    assert _status(demo_app, by_deactivation) == 401
    reasons = {
        t.user.username: t.revoke_reason
        for t in db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_not(None)))
    }
    assert reasons == {"hoa.nt": "revoked", "tuan.pv": "password", "linh.dm": "deactivated"}


def test_a_token_acts_with_its_user_s_role_only(demo_app):
    operator = Api(demo_app, token_for("hoa.nt"))
    for path in ("/counts?month=2023-09&by=unit", "/reports/2023-09.html"):
        response = operator.get(path)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "forbidden"
    assert operator.post("/imports", data={}).status_code == 403
    supervisor = Api(demo_app, token_for("thang.vd"))
    assert supervisor.get("/counts?month=2023-09&by=unit").status_code == 200


def test_cli_create_list_revoke(demo_app):
    runner = demo_app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "thang.vd", "--name", "tổng đài", "--days", "7"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert "\n" not in secret and secret.startswith("hd_")  # the token alone on stdout
    assert _status(demo_app, secret) == 200
    listed = runner.invoke(args=["tokens", "list"])
    line = next(row for row in listed.stdout.splitlines() if "tổng đài" in row)
    token_id = line.split("\t")[0]
    assert "active" in line and secret not in listed.stdout
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert _status(demo_app, secret) == 401
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 1
    assert runner.invoke(args=["tokens", "create", "ai_do"]).exit_code == 1
    assert runner.invoke(args=["tokens", "create", "hoa.nt", "--days", "0"]).exit_code == 1


def test_the_tokens_page(demo_app):
    client = demo_app.test_client()
    assert login(client, "hoa.nt", DEMO_PASSWORDS["hoa.nt"][2]).status_code == 302
    page = client.get("/tai-khoan/khoa-api/")
    assert page.status_code == 200 and "Khóa API" in page.get_data(as_text=True)
    refused = client.post("/tai-khoan/khoa-api/", data={"name": "", "days": "999"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Đặt tên" in text and "Từ 1 đến 366" in text
    made = client.post("/tai-khoan/khoa-api/", data={"name": "Zalo OA", "days": "30"})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = html.split('id="new-token" class="mono" type="text" readonly value="')[1].split('"')[0]
    assert _status(demo_app, secret) == 200
    assert secret not in client.get("/tai-khoan/khoa-api/").get_data(as_text=True)  # shown once
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Zalo OA"))
    # Someone else's token is not theirs to revoke.
    other, _secret = create_token(_user("linh.dm"), "khác")
    db.session.commit()
    assert client.post(f"/tai-khoan/khoa-api/{other.id}/thu-hoi").status_code == 404
    assert client.post(f"/tai-khoan/khoa-api/{row.id}/thu-hoi").status_code == 302
    assert _status(demo_app, secret) == 401


def test_the_tokens_page_needs_its_csrf_token(app_factory):
    app = app_factory("demo", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/dang-nhap")
    token = csrf_token_from(page.get_data(as_text=True))
    client.post(
        "/dang-nhap",
        data={"username": "hoa.nt", "password": DEMO_PASSWORDS["hoa.nt"][2], "csrf_token": token},
    )
    assert client.post("/tai-khoan/khoa-api/", data={"name": "x", "days": "5"}).status_code == 400
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "x")) is None
