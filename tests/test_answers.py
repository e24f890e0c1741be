"""Canned answers: the ``answers`` file, the admin's page, the operators' picker and the API."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.audit import AuditLog
from helpdesk.extensions import db
from helpdesk.imports import run_import
from helpdesk.tickets.models import CannedAnswer

from .api.conftest import Api, token_for
from .conftest import csrf_token_from, login
from .test_tickets_views import DEMO


def _answers() -> dict[str, CannedAnswer]:
    db.session.expire_all()
    return {a.code: a for a in db.session.scalars(select(CannedAnswer))}


def _csv(*rows: str) -> list[tuple[str, bytes]]:
    return [("answers.csv", ("code,title,text,categories\n" + "\n".join(rows)).encode())]


# -- the file -------------------------------------------------------------------------------------


def test_demo_answers_are_loaded_in_file_order(demo_app):
    answers = sorted(_answers().values(), key=lambda a: a.position)
    assert len(answers) == 11 and answers[0].code == "tk-dang-ky"
    assert answers[1].categories == ["account_registration", "activation_code"]
    assert answers[-1].code == "cam-on" and answers[-1].categories == []


def test_every_bad_row_is_listed_and_nothing_is_written(demo_app):
    before = _answers()
    report = run_import(
        _csv(
            "moi,Mới,Nội dung,activation_code",
            "x y,Tiêu đề,Nội dung,",  # bad code
            "thieu,,Nội dung,",  # no title
            "sai-nhom,Tiêu đề,Nội dung,activation_code|khong_co",  # unknown category
            "moi,Trùng,Nội dung,",  # duplicate code
            "lap,Tiêu đề,Nội dung,activation_code|activation_code",
        )
    )
    assert not report.ok
    lines = sorted((e.line, e.column) for e in report.errors)
    assert lines == [
        (3, "code"),
        (4, "title"),
        (5, "categories"),
        (6, "code"),
        (7, "categories"),
    ]
    assert any("khong_co" in e.reason for e in report.errors)
    assert _answers().keys() == before.keys()


def test_reimport_changes_nothing_and_an_edit_is_audited(demo_app):
    from helpdesk.cli import DEMO_DIR

    path = DEMO_DIR / "answers.csv"
    data = path.read_bytes()
    again = run_import([("answers.csv", data)])
    assert again.ok and again.files[0].unchanged == 11 and again.files[0].added == 0
    changed = data.replace(
        "có hiệu lực trong 5 phút".encode(), "có hiệu lực trong 10 phút".encode()
    )
    report = run_import([("answers.csv", changed)])
    db.session.commit()
    assert report.ok and report.files[0].updated == 1
    assert "10 phút" in _answers()["ma-kich-hoat"].text
    entries = db.session.scalars(
        select(AuditLog.action).where(
            AuditLog.entity == "answer", AuditLog.entity_id == "ma-kich-hoat"
        )
    ).all()
    assert sorted(entries) == ["import_add", "import_update"]


# -- the picker -----------------------------------------------------------------------------------


def _operator(demo_client):
    assert login(demo_client, "hoa.nt", DEMO["hoa.nt"]).status_code == 302
    return demo_client


def test_picker_puts_the_category_first_and_ignores_accents(demo_client):
    client = _operator(demo_client)
    found = client.get("/yeu-cau/cau-tra-loi?category=late_dossier").get_json()
    codes = [a["code"] for a in found] if found and "code" in found[0] else None
    titles = [a["title"] for a in found]
    assert codes is None  # ids and titles, no internal codes
    # Made for late_dossier first (in the admin's order), then for every category, then others.
    assert titles[:3] == [
        "Cách tra cứu hồ sơ",
        "Đã chuyển đơn vị giải quyết",
        "Xin lỗi vì hồ sơ trễ hạn",
    ]
    assert titles[3] == "Cảm ơn người gọi"
    assert len(titles) == 11
    words = client.get("/yeu-cau/cau-tra-loi?q=KICH  hoat").get_json()
    assert [a["title"] for a in words] == ["Gửi lại mã kích hoạt"]
    # Words match at their start: "hen" finds "hẹn" (one answer), never the end of "nhận" etc.
    late = client.get("/yeu-cau/cau-tra-loi?q=HEN").get_json()
    assert [a["title"] for a in late] == ["Xin lỗi vì hồ sơ trễ hạn"]
    assert client.get("/yeu-cau/cau-tra-loi?q=uoi").get_json() == []  # inside "người" only
    # Punctuation is no word: "%" or "_" never reach a LIKE pattern; they are ignored.
    assert len(client.get("/yeu-cau/cau-tra-loi?q=%25+_").get_json()) == 11


def test_inactive_answers_are_not_offered(demo_client):
    client = _operator(demo_client)
    answer = _answers()["cam-on"]
    answer.active = False
    db.session.commit()
    titles = [a["title"] for a in client.get("/yeu-cau/cau-tra-loi").get_json()]
    assert "Cảm ơn người gọi" not in titles and len(titles) == 10


def test_a_use_is_counted_once_per_insert(demo_client):
    client = _operator(demo_client)
    answer = _answers()["hs-tra-cuu"]
    for _ in range(3):
        assert client.post(f"/yeu-cau/cau-tra-loi/{answer.id}/dung").status_code == 204
    assert _answers()["hs-tra-cuu"].uses == 3
    assert _answers()["hs-tra-cuu"].version == answer.version  # not an edit
    assert client.post("/yeu-cau/cau-tra-loi/999999/dung").status_code == 404


def test_counting_a_use_needs_the_csrf_token(app_factory):
    app = app_factory("demo", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert login(client, "hoa.nt", DEMO["hoa.nt"]).status_code == 302
    with app.app_context():
        answer_id = db.session.scalar(select(CannedAnswer.id).where(CannedAnswer.code == "cam-on"))
    assert client.post(f"/yeu-cau/cau-tra-loi/{answer_id}/dung").status_code == 400
    page = client.get("/yeu-cau/moi").get_data(as_text=True)
    token = csrf_token_from(page)
    answer = client.post(f"/yeu-cau/cau-tra-loi/{answer_id}/dung", headers={"X-CSRFToken": token})
    assert answer.status_code == 204


def test_quick_entry_and_the_ticket_page_carry_the_picker(demo_client):
    client = _operator(demo_client)
    html = client.get("/yeu-cau/moi").get_data(as_text=True)
    assert '<template id="answer-picker" data-url="/yeu-cau/cau-tra-loi" data-category="">' in html
    assert 'data-answers="1"' in html and 'aria-keyshortcuts="Alt+M"' in html


# -- the admin's page -----------------------------------------------------------------------------


def _admin(demo_app):
    client = demo_app.test_client()
    assert login(client, "admin", "Admin-Demo-2023").status_code == 302
    return client


def test_admin_lists_creates_and_edits_with_the_version_check(demo_app):
    client = _admin(demo_app)
    page = client.get("/quan-tri/cau-tra-loi").get_data(as_text=True)
    assert "Gửi lại mã kích hoạt" in page and "Mọi nhóm" in page
    created = client.post(
        "/quan-tri/cau-tra-loi/moi",
        data={
            "code": "gio-lam-viec",
            "title": "Giờ làm việc",
            "text": "Tổng đài làm việc từ 7 giờ 30 đến 17 giờ các ngày làm việc.",
            "categories": ["system_operation", "account_registration"],
            "position": "20",
            "active": "y",
        },
    )
    assert created.status_code == 302
    answer = _answers()["gio-lam-viec"]
    assert answer.categories == ["system_operation", "account_registration"]
    url = f"/quan-tri/cau-tra-loi/{answer.id}"
    form = {
        "code": "gio-lam-viec",
        "title": "Giờ làm việc của tổng đài",
        "text": answer.text,
        "position": "20",
        "active": "y",
        "version": str(answer.version),
    }
    assert client.post(url, data=form).status_code == 302
    assert _answers()["gio-lam-viec"].categories == []  # none ticked: every category
    # The same form again carries the old version: refused, what was typed kept.
    stale = client.post(url, data={**form, "title": "Giờ làm việc (cũ)"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "vừa được người khác sửa" in html and 'value="Giờ làm việc (cũ)"' in html
    assert _answers()["gio-lam-viec"].title == "Giờ làm việc của tổng đài"


def test_admin_form_refuses_bad_input_beside_the_field(demo_app):
    client = _admin(demo_app)
    before = len(_answers())
    answer = client.post(
        "/quan-tri/cau-tra-loi/moi",
        data={
            "code": "cam-on",  # taken
            "title": "",
            "text": "x" * 5001,
            "categories": ["khong_co"],
            "position": "1",
        },
    )
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "Mã cam-on đã có." in html or 'id="title-err"' in html
    assert 'id="title-err"' in html and "Tối đa 5.000 ký tự." in html
    assert 'id="categories-err"' in html and "“khong_co” không phải một lựa chọn." in html
    assert len(_answers()) == before


def test_operators_and_supervisors_may_not_edit_answers(demo_client):
    client = _operator(demo_client)
    assert client.get("/quan-tri/cau-tra-loi").status_code == 403
    assert client.post("/quan-tri/cau-tra-loi/moi", data={"code": "x"}).status_code == 403


# -- the API --------------------------------------------------------------------------------------


def test_api_answers_are_the_pickers(demo_app, demo_client):
    api = Api(demo_app, token_for("hoa.nt"))
    got = api.get("/answers?category=activation_code&q=ma").get_json()
    picker = _operator(demo_client).get("/yeu-cau/cau-tra-loi?category=activation_code&q=ma")
    assert got == picker.get_json()
    assert got[0]["title"] == "Gửi lại mã kích hoạt" and got[0]["categories"] == ["activation_code"]
    assert set(got[0]) == {"id", "title", "text", "categories", "uses"}
    bad = api.get("/answers?colour=red")
    assert bad.status_code == 422
