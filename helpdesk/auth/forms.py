from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập",
        validators=[DataRequired("Nhập tên đăng nhập."), Length(max=64)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Mật khẩu",
        validators=[DataRequired("Nhập mật khẩu."), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Ghi nhớ trên máy này")


class CodeForm(FlaskForm):
    """A second-factor code: six digits from the app, or a recovery code."""

    code = StringField(
        "Mã xác thực",
        validators=[DataRequired("Nhập mã xác thực."), Length(max=40)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "text",
            "autofocus": True,
            "spellcheck": "false",
            "autocapitalize": "off",
        },
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


class NotificationsForm(FlaskForm):
    """The kinds of e-mail a user receives (each may be turned off)."""

    kinds = SelectMultipleField(
        "Nhận email khi",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
