from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length

ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_day(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` day (ASCII digits only), or None."""
    text = (text or "").strip()
    if not ISO_DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class DayField(DateField):
    """A date input whose parse error speaks Vietnamese; the typed text is shown back."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = parse_day(valuelist[0])
        if self.data is None and (valuelist[0] or "").strip():
            raise ValueError("Ngày không hợp lệ; nhập theo dạng năm-tháng-ngày, ví dụ 2025-06-30.")


class EndUnitForm(FlaskForm):
    last_day = DayField(
        "Ngày cuối cùng đơn vị tồn tại",
        validators=[InputRequired("Nhập ngày cuối cùng.")],
        format="%Y-%m-%d",
    )
    successors = StringField(
        "Đơn vị kế thừa (mã)",
        validators=[Length(max=2000, message="Tối đa 2000 ký tự.")],
        description=(
            "Mã các đơn vị kế thừa theo thứ tự trong văn bản, cách nhau bởi dấu |, ví dụ "
            "11311|11299. Mỗi đơn vị phải tồn tại ngày sau ngày cuối cùng. Để trống nếu không có."
        ),
    )
