from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.models import ROLE_LABELS
from ..formsutil import choices
from ..tickets.models import AUDIENCE_LABELS

ROLE_CHOICES = choices(ROLE_LABELS)


class UserCreateForm(FlaskForm):
    username = StringField(
        "Tên đăng nhập",
        validators=[
            DataRequired("Nhập tên đăng nhập."),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]{1,63}$",
                message="Chữ thường không dấu, số, dấu chấm, gạch (2-64 ký tự).",
            ),
        ],
    )
    full_name = StringField("Họ và tên", validators=[DataRequired("Nhập họ tên."), Length(max=120)])
    role = SelectField("Vai trò", choices=ROLE_CHOICES)
    password = PasswordField(
        "Mật khẩu ban đầu",
        validators=[DataRequired("Nhập mật khẩu."), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )


EMAIL = Regexp(
    r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$", message="Địa chỉ email không đúng dạng (ten@co-quan.vn)."
)


class UserEditForm(FlaskForm):
    full_name = StringField("Họ và tên", validators=[DataRequired("Nhập họ tên."), Length(max=120)])
    role = SelectField("Vai trò", choices=ROLE_CHOICES)
    email = StringField(
        "Email nhận thông báo",
        validators=[Optional(), Length(max=254, message="Tối đa 254 ký tự."), EMAIL],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )
    units = SelectMultipleField(
        "Đơn vị (cán bộ đơn vị chỉ thấy yêu cầu chuyển tới các đơn vị này)",
        coerce=int,
        validate_choice=True,
        render_kw={"size": 10},
    )

    def validate_units(self, field):
        if self.role.data == "unit_staff" and not field.data:
            raise ValidationError("Chọn ít nhất một đơn vị cho cán bộ đơn vị.")


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        "Mật khẩu mới",
        validators=[DataRequired("Nhập mật khẩu."), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )


class CategoryForm(FlaskForm):
    code = StringField(
        "Mã",
        validators=[
            DataRequired("Nhập mã."),
            Regexp(r"^[a-z0-9_]{2,64}$", message="Chữ thường không dấu, số, '_'."),
        ],
    )
    audience = SelectField("Đối tượng", choices=choices(AUDIENCE_LABELS))
    label = StringField("Tên hiển thị", validators=[DataRequired("Nhập tên."), Length(max=200)])
    report_phrase = TextAreaField(
        "Cụm từ trong báo cáo", validators=[DataRequired("Nhập cụm từ."), Length(max=300)]
    )
    due_days = IntegerField(
        "Hạn xử lý (ngày làm việc)",
        validators=[
            InputRequired("Nhập số ngày."),
            NumberRange(1, 60, "Từ 1 đến 60 ngày làm việc (hạn 0 ngày không thể đáp ứng)."),
        ],
        default=3,
    )
    response_minutes = IntegerField(
        "Hạn phản hồi đầu tiên (phút làm việc, để trống: không đặt)",
        validators=[Optional(), NumberRange(1, 6000, "Từ 1 đến 6.000 phút làm việc.")],
    )
    position = IntegerField(
        "Thứ tự trong báo cáo",
        validators=[InputRequired("Nhập thứ tự."), NumberRange(0, 1000, "Từ 0 đến 1000.")],
        default=0,
    )
    active = BooleanField("Đang sử dụng", default=True)


class OrganisationForm(FlaskForm):
    parent_agency = StringField("Cơ quan chủ quản", validators=[Length(max=300)])
    agency = StringField("Cơ quan ban hành", validators=[Length(max=300)])
    agency_name = StringField("Tên cơ quan (trong câu)", validators=[Length(max=300)])
    document_symbol = StringField("Ký hiệu văn bản", validators=[Length(max=40)])
    place = StringField("Địa danh", validators=[Length(max=100)])
    recipient = StringField("Kính gửi", validators=[Length(max=300)])
    system_name = StringField("Tên hệ thống", validators=[Length(max=300)])
    signer_title = StringField("Chức danh người ký", validators=[Length(max=120)])
    signer_name = StringField("Người ký", validators=[Length(max=120)])
    distribution = TextAreaField("Nơi nhận (mỗi dòng một nơi)", validators=[Length(max=2000)])


class AnswerForm(FlaskForm):
    """A canned answer; ``version`` is the one the page showed (concurrent edits are refused)."""

    code = StringField(
        "Mã",
        validators=[
            DataRequired("Nhập mã."),
            Regexp(r"^[A-Za-z0-9._-]{1,64}$", message="Chữ không dấu, số, dấu chấm, gạch."),
        ],
    )
    title = StringField(
        "Tiêu đề (hiện trong danh sách chọn)",
        validators=[DataRequired("Nhập tiêu đề."), Length(max=200, message="Tối đa 200 ký tự.")],
    )
    text = TextAreaField(
        "Nội dung được chèn",
        validators=[
            DataRequired("Nhập nội dung."),
            Length(max=5000, message="Tối đa 5.000 ký tự."),
        ],
        render_kw={"rows": 6},
    )
    categories = SelectMultipleField(
        "Dùng cho nhóm yêu cầu (để trống: mọi nhóm)",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    position = IntegerField(
        "Thứ tự trong danh sách chọn",
        validators=[InputRequired("Nhập thứ tự."), NumberRange(0, 10000, "Từ 0 đến 10.000.")],
        default=0,
    )
    active = BooleanField("Đang sử dụng", default=True)
    version = HiddenField()
