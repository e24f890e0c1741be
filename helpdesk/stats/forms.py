"""Forms of the statistics pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..formatting import number
from ..formsutil import choices
from ..units.periods import LevelInfo
from .labels import FIELD_LABELS, KIND_LABELS
from .models import UNIT_STAT_FIELDS
from .services import StatsError, parse_figure
from .uploads import KINDS_FOR_ROLE


class UploadForm(FlaskForm):
    files = MultipleFileField(
        "Tệp số liệu (CSV hoặc XLSX)", render_kw={"accept": ".csv,.xlsx,text/csv"}
    )
    kind = SelectField("Loại tệp")

    def __init__(self, role: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = KINDS_FOR_ROLE.get(role, ())
        labels = {k: v for k, v in KIND_LABELS.items() if k in allowed}
        self.kind.choices = choices(labels, blank="Tự nhận theo tên tệp")

    def validate_files(self, field) -> None:
        if not [f for f in field.data or [] if getattr(f, "filename", "")]:
            raise ValidationError("Chọn ít nhất một tệp.")


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])
    fingerprint = HiddenField(validators=[DataRequired()])


class FigureField(StringField):
    """A figure typed by hand: blank is not reported; 88904 and 88.904 are the same."""

    parsed: int | None = None

    def pre_validate(self, form) -> None:
        try:
            self.parsed = parse_figure(self.data, self.label.text)
        except StatsError as exc:
            self.parsed = None
            raise ValidationError(str(exc).split(": ", 1)[-1]) from None


class ValueForm(FlaskForm):
    value = FigureField(
        "Giá trị mới",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    expected = HiddenField()
    reason = TextAreaField(
        "Lý do sửa (ghi vào nhật ký)",
        validators=[
            DataRequired("Nhập lý do sửa."),
            Length(min=5, max=500, message="Lý do từ 5 đến 500 ký tự."),
        ],
    )


class DateValueForm(ValueForm):
    value = StringField("Giá trị mới (dd/mm/yyyy)", render_kw={"autocomplete": "off"})

    parsed: date | None = None

    def validate_value(self, field) -> None:
        text = (field.data or "").strip()
        if not text:
            self.parsed = None
            return
        try:
            day, month, year = (int(p) for p in text.replace("-", "/").split("/"))
            self.parsed = date(year, month, day)
        except ValueError:
            raise ValidationError("Ngày dạng dd/mm/yyyy, vd: 22/09/2023.") from None


class UnlockForm(FlaskForm):
    reason = TextAreaField(
        "Lý do mở khóa",
        validators=[
            DataRequired("Nhập lý do mở khóa."),
            Length(min=5, max=500, message="Lý do từ 5 đến 500 ký tự."),
        ],
    )


class ActivityForm(FlaskForm):
    text = TextAreaField(
        "Nội dung",
        validators=[
            DataRequired("Nhập nội dung hoạt động."),
            Length(max=10000, message="Tối đa 10.000 ký tự."),
        ],
    )
    expected = HiddenField()


def control_totals_form(
    values: dict[tuple[str, str], int], levels: Sequence[LevelInfo]
) -> type[FlaskForm]:
    """A form class with one figure field per level of the month and field, named
    ``<level>__<field>``: a month without districts has no district row."""
    names = [info.level for info in levels]

    class ControlTotalsForm(FlaskForm):
        def cells(self):
            for info in levels:
                yield info, [getattr(self, f"{info.level}__{f}") for f in UNIT_STAT_FIELDS]

        def parsed(self) -> dict[tuple[str, str], int | None]:
            return {
                (level, f): getattr(self, f"{level}__{f}").parsed
                for level in names
                for f in UNIT_STAT_FIELDS
            }

    for info in levels:
        for f in UNIT_STAT_FIELDS:
            setattr(
                ControlTotalsForm,
                f"{info.level}__{f}",
                FigureField(
                    f"{info.label} – {FIELD_LABELS[f]}",
                    default=number(values.get((info.level, f))),
                    render_kw={"inputmode": "numeric", "autocomplete": "off"},
                ),
            )
    return ControlTotalsForm
