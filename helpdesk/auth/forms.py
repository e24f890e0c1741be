from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
