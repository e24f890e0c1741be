from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from .services import MAX_PARAGRAPH


def _version(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


class VersionMixin:
    version = HiddenField(filters=[_version])


class SettingsForm(VersionMixin, FlaskForm):
    report_date = DateField(
        "Ngày báo cáo", validators=[InputRequired("Chọn ngày báo cáo.")], format="%Y-%m-%d"
    )
    number = StringField(
        "Số văn bản",
        validators=[
            Optional(),
            Length(max=20),
            Regexp(r"^[0-9A-Za-z.\-]+$", message="Chỉ gồm chữ số (và chữ, dấu chấm, gạch)."),
        ],
        description="Để trống đến khi có số; số dưới 10 được viết 05.",
    )
    signer_title = StringField(
        "Chức vụ người ký",
        validators=[Optional(), Length(max=120)],
        description="Dùng | để xuống dòng, ví dụ: KT. GIÁM ĐỐC|PHÓ GIÁM ĐỐC.",
    )
    signer_name = StringField("Họ tên người ký", validators=[Optional(), Length(max=120)])


class ParagraphForm(VersionMixin, FlaskForm):
    text = TextAreaField("Nội dung đoạn", validators=[Length(max=MAX_PARAGRAPH)])
    action = HiddenField()  # set by the pressed button: "save", "reset" or "omit"


class IssueForm(VersionMixin, FlaskForm):
    confirm = BooleanField(
        "Tôi đã kiểm tra nội dung; phát hành và khóa số liệu tháng này.",
        validators=[DataRequired("Đánh dấu xác nhận trước khi phát hành.")],
    )
