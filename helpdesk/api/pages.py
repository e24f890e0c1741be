"""The page where a signed-in user manages their own API tokens (admins: everyone's)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from ..access import role_required
from ..extensions import db
from ..formsutil import ActionForm
from ..textutil import nfc
from ..timeutil import now_local
from ..transaction import rollback_request
from . import tokens as token_service
from .models import ApiToken

bp = Blueprint("api_tokens", __name__, url_prefix="/tai-khoan/khoa-api")


class TokenForm(FlaskForm):
    name = StringField(
        "Tên gợi nhớ (hệ thống dùng khóa)",
        validators=[
            InputRequired("Đặt tên để nhận ra khóa sau này."),
            Length(max=80, message="Tối đa 80 ký tự."),
        ],
        filters=[lambda v: nfc(v).strip() if isinstance(v, str) else v],
    )
    days = IntegerField(
        "Thời hạn (ngày)",
        default=token_service.DEFAULT_DAYS,
        validators=[
            InputRequired("Nhập số ngày."),
            NumberRange(1, token_service.MAX_DAYS, f"Từ 1 đến {token_service.MAX_DAYS} ngày."),
        ],
    )


def _page(form: TokenForm, status: int = 200, secret: str | None = None):
    everyone = current_user.has_role("admin")
    rows = token_service.tokens_of(None if everyone else current_user.id)
    return (
        render_template(
            "auth/api_tokens.html",
            form=form,
            action=ActionForm(),
            tokens=rows,
            everyone=everyone,
            secret=secret,
            now=now_local(),
        ),
        status,
    )


@bp.route("/", methods=["GET", "POST"])
@role_required("operator")
def index():
    form = TokenForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, 400)
    try:
        _row, secret = token_service.create_token(
            current_user, form.name.data, form.days.data, current_user.id
        )
    except token_service.TokenError as exc:
        form.days.errors = [*form.days.errors, str(exc)]
        return _page(form, 400)
    # Shown once, on this answer only (not in a redirect's flash, which sits in the cookie).
    return _page(TokenForm(formdata=None), 201, secret=secret)


@bp.route("/<int:token_id>/thu-hoi", methods=["POST"])
@role_required("operator")
def revoke(token_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id))
    if row is None or (row.user_id != current_user.id and not current_user.has_role("admin")):
        abort(404)
    if token_service.revoke(row, current_user.id):
        flash(f"Đã thu hồi khóa “{row.name}” ({row.prefix}…).", "success")
    else:
        rollback_request()
        flash("Khóa này đã hết hiệu lực từ trước.", "warning")
    return redirect(url_for("api_tokens.index"))
