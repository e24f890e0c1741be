"""Ticket forms: quick entry (and edit), transitions, assignment, forwarding, notes."""

from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import DateTimeLocalInput

from ..formsutil import choices
from ..textutil import nfc
from ..timeutil import now_local, today_local
from .models import CHANNEL_LABELS, SATISFACTION_LABELS, Category
from .normalize import InvalidValue, normalize_dossier_code, normalize_phone
from .services import TicketError, TicketValues, resolve_unit

# A text field where the canned-answer picker opens (Alt+M, or its button): tickets.js.
ANSWERS = {"data-answers": "1", "aria-keyshortcuts": "Alt+M"}
# One key per answer in the satisfaction group: hài lòng, bình thường, không hài lòng, không hỏi.
SATISFACTION_KEYS = {"satisfied": "h", "neutral": "b", "unsatisfied": "k", "": "0"}
# The one-key shortcuts shown on the category options, in category order.
SHORTCUT_KEYS = "123456789abcdefghijk"
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")


def _strip(value):
    return nfc(value) if isinstance(value, str) else value


class LocalDateTimeField(StringField):
    """A ``datetime-local`` input parsed here, so the message is ours and in Vietnamese."""

    widget = DateTimeLocalInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%Y-%m-%dT%H:%M") if isinstance(self.data, datetime) else ""

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        for fmt in DATETIME_FORMATS:
            try:
                self.data = datetime.strptime(text, fmt)
                return
            except ValueError:
                continue
        raise ValueError("Thời điểm không đúng dạng (ngày/tháng/năm giờ:phút).")


class TicketForm(FlaskForm):
    """Quick entry; the detail page's edit form adds the version fields."""

    requester_phone = StringField(
        "Số điện thoại",
        validators=[Optional(), Length(max=30, message="Tối đa 30 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off", "inputmode": "tel", "autofocus": True},
    )
    requester_name = StringField(
        "Họ tên người yêu cầu",
        validators=[Length(max=120, message="Tối đa 120 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    category = RadioField(
        "Nhóm yêu cầu",
        validators=[InputRequired("Chọn nhóm yêu cầu.")],
        validate_choice=False,
    )
    unit = StringField(
        "Đơn vị liên quan",
        validators=[Length(max=200, message="Tối đa 200 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    unit_id = HiddenField()
    dossier_code = StringField(
        "Mã hồ sơ",
        validators=[Length(max=60, message="Tối đa 60 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    summary = StringField(
        "Nội dung",
        validators=[Length(max=300, message="Tối đa 300 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    details = TextAreaField(
        "Chi tiết",
        validators=[Length(max=5000, message="Tối đa 5.000 ký tự.")],
        filters=[_strip],
    )
    resolution_note = TextAreaField(
        "Đã trả lời / kết quả",
        validators=[Length(max=5000, message="Tối đa 5.000 ký tự.")],
        filters=[_strip],
        render_kw=ANSWERS,
    )
    channel = SelectField("Kênh", choices=choices(CHANNEL_LABELS), default="phone")
    # Asked at the end of the call; one key each (SATISFACTION_KEYS), "" when not asked.
    satisfaction = RadioField(
        "Người gọi có hài lòng không?",
        choices=choices(SATISFACTION_LABELS, blank="Không hỏi"),
        default="",
        coerce=lambda value: value or "",  # a ticket's None (not asked) is the "" choice
        validators=[Optional()],
    )
    opened_at = LocalDateTimeField("Thời điểm tiếp nhận", validators=[Optional()])
    # Asked for when the request is dated in (or moved in or out of) a month whose report has
    # been issued: supervisors only, the reason goes to the audit log.
    issued_reason = TextAreaField(
        "Lý do thay đổi số liệu tháng đã ban hành báo cáo",
        validators=[Length(max=500, message="Tối đa 500 ký tự.")],
        filters=[_strip],
    )
    save_close = SubmitField("Lưu và đóng")
    save = SubmitField("Lưu")
    show_reason = False  # the page shows issued_reason (else only once it is asked for)

    def __init__(
        self,
        *args,
        categories: list[Category],
        keep_category: str | None = None,
        keep_unit_id: int | None = None,
        opened_day: date | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Editing an old ticket may keep a category or unit that has since been retired.
        self.keep_category = keep_category
        self.keep_unit_id = keep_unit_id
        # The day the call came in when the form leaves "opened_at" empty (default: today).
        self.opened_day = opened_day
        self.categories = categories
        self.category.choices = choices({c.code: c.label for c in categories})
        self._phone = self._dossier = self._unit = None

    @property
    def shortcuts(self) -> dict[str, str]:
        """Category code -> its one-key shortcut."""
        return {c.code: SHORTCUT_KEYS[i] for i, c in enumerate(self.categories[:20])}

    def validate_requester_phone(self, field):
        try:
            self._phone = normalize_phone(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    def validate_dossier_code(self, field):
        try:
            self._dossier = normalize_dossier_code(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    def validate_category(self, field):
        usable = {c.code for c in self.categories if c.active} | {self.keep_category}
        if field.data and field.data not in usable:
            raise ValidationError("Nhóm yêu cầu không có hoặc đã ngừng sử dụng.")

    @property
    def call_day(self) -> date:
        """The day of the call: the units offered and accepted are those that exist then."""
        if isinstance(self.opened_at.data, datetime):
            return self.opened_at.data.date()
        return self.opened_day or today_local()

    def validate_unit(self, field):
        try:
            self._unit = resolve_unit(
                field.data, self.unit_id.data, keep_id=self.keep_unit_id, on=self.call_day
            )
        except TicketError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_opened_at(self, field):
        if field.data and field.data > now_local():
            raise ValidationError("Thời điểm tiếp nhận không được ở tương lai.")
        if field.data and field.data.year < 2000:
            raise ValidationError("Thời điểm tiếp nhận không hợp lệ.")

    def values(self) -> TicketValues:
        """The validated, normalised values for the services."""
        category = next(c for c in self.categories if c.code == self.category.data)
        return TicketValues(
            category=category,
            opened_at=self.opened_at.data,
            channel=self.channel.data,
            requester_name=self.requester_name.data or None,
            requester_phone=self._phone,
            unit=self._unit,
            dossier_code=self._dossier,
            summary=self.summary.data or None,
            details=self.details.data or None,
            resolution_note=self.resolution_note.data or None,
            satisfaction=self.satisfaction.data or None,
        )


STALE_FORM = "Biểu mẫu thiếu phiên bản của yêu cầu; hãy tải lại trang rồi làm lại."


class VersionField(IntegerField):
    """A hidden whole number; anything else is the message above (never a skipped check)."""

    widget = HiddenField.widget

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if text.isascii() and text.isdigit() and len(text) < 12:
            self.data = int(text)
        elif text:
            raise ValueError(STALE_FORM)


class VersionedForm(FlaskForm):
    """Carries the version the person saw (required: a change without it is refused, not
    applied unchecked) and the last history entry they saw (what to show when stale)."""

    version = VersionField(validators=[InputRequired(STALE_FORM)])
    seen = VersionField(validators=[Optional()])


class TicketEditForm(TicketForm, VersionedForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The detail page opens on the facts, not inside the edit form.
        kw = dict(self.requester_phone.render_kw or {})
        kw.pop("autofocus", None)
        self.requester_phone.render_kw = kw


class TransitionForm(VersionedForm):
    target = HiddenField()
    note = TextAreaField(
        "Ghi chú",
        validators=[Length(max=5000, message="Tối đa 5.000 ký tự.")],
        filters=[_strip],
        render_kw=ANSWERS,
    )


class AssignForm(VersionedForm):
    assignee = SelectField("Người xử lý", validate_choice=False)


class ForwardForm(VersionedForm):
    unit = StringField(
        "Chuyển tới đơn vị",
        validators=[Length(max=200, message="Tối đa 200 ký tự.")],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    unit_id = HiddenField()
    note = TextAreaField(
        "Nội dung chuyển",
        validators=[Length(max=5000, message="Tối đa 5.000 ký tự.")],
        filters=[_strip],
        render_kw=ANSWERS,
    )

    def validate_unit(self, field):
        try:
            # Forwarding is done now: the unit must exist today.
            self._unit = resolve_unit(field.data, self.unit_id.data, on=today_local())
        except TicketError as exc:
            raise ValidationError(str(exc)) from exc
        if self._unit is None:
            raise ValidationError("Chọn đơn vị nhận.")


class PromiseForm(VersionedForm):
    """A late ticket's promised date and progress note (needed to keep working it)."""

    promised_at = LocalDateTimeField("Hẹn xử lý xong lúc", validators=[Optional()])
    progress_note = TextAreaField(
        "Tiến độ",
        validators=[Length(max=2000, message="Tối đa 2.000 ký tự.")],
        filters=[_strip],
        render_kw=ANSWERS,
    )


class NoteForm(FlaskForm):
    text = TextAreaField(
        "Ghi chú nội bộ",
        validators=[
            DataRequired("Nhập nội dung ghi chú."),
            Length(max=5000, message="Tối đa 5.000 ký tự."),
        ],
        filters=[_strip],
        render_kw=ANSWERS,
    )


REF_RE = r"^\s*[Hh][Tt]-\d{4}-\d{4,6}\s*$"


class MergeForm(VersionedForm):
    """Close this ticket as a duplicate of another (by its reference)."""

    into = StringField(
        "Gộp vào yêu cầu",
        validators=[
            DataRequired("Nhập mã yêu cầu, ví dụ HT-2309-0042."),
            Regexp(REF_RE, message="Mã yêu cầu có dạng HT-2309-0042."),
        ],
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        render_kw={"autocomplete": "off", "placeholder": "HT-2309-0042", "spellcheck": "false"},
    )


class UnmergeForm(VersionedForm):
    """Undo a merge (the ticket gets back its status)."""
