"""The report pages: access, the draft page, settings, paragraph edits, downloads, issuing."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.reports.models import IssuedReport, ReportDraft
from helpdesk.stats.models import MonthLock

from .conftest import csrf_token_from

MONTH = "2023-09"


@pytest.fixture
def supervisor(demo_client, auth):
    auth(demo_client, "supervisor")
    return demo_client


def _page(client, month=MONTH) -> str:
    response = client.get(f"/bao-cao/{month}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _version(html: str, action: str) -> str:
    form = html[html.index(f'action="{action}"') :]
    return re.search(r'name="version"[^>]*value="(\d*)"', form).group(1)


@pytest.mark.parametrize(
    "url",
    [
        "/bao-cao/",
        f"/bao-cao/{MONTH}",
        f"/bao-cao/{MONTH}/tai-ve.pdf",
        f"/bao-cao/{MONTH}/tai-ve.docx",
    ],
)
def test_operators_may_not_see_reports(demo_client, auth, url):
    auth(demo_client, "operator")
    assert demo_client.get(url).status_code == 403


def test_operators_may_not_issue(demo_client, auth):
    auth(demo_client, "operator")
    response = demo_client.post(f"/bao-cao/{MONTH}/phat-hanh", data={"confirm": "y"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0


def test_admins_may(demo_client, auth):
    auth(demo_client, "admin")
    assert demo_client.get(f"/bao-cao/{MONTH}").status_code == 200


def test_index_lists_the_months(supervisor):
    html = supervisor.get("/bao-cao/").get_data(as_text=True)
    assert "Tháng 9/2023" in html and "Tháng 8/2023" in html
    assert "Chưa có báo cáo nào được phát hành." in html
    response = supervisor.get("/bao-cao/?thang=2023-09")
    assert response.status_code == 302 and response.headers["Location"].endswith("/bao-cao/2023-09")


def test_draft_page_shows_the_report(supervisor, count_queries):
    with count_queries() as counter:
        html = _page(supervisor)
    assert "88.904" in html and "92,53%" in html
    assert "Sở Y tế (01 kết quả)" in html
    assert "data:image/svg+xml;base64," in html
    assert "Sửa đoạn «1. Số liệu thống kê»" in html
    assert counter.count < 25  # the builder's constant queries plus the page's own


def test_month_without_statistics_says_so(supervisor):
    html = _page(supervisor, "2023-07")
    assert "Tháng 7/2023 chưa có số liệu thống kê." in html
    response = supervisor.get("/bao-cao/2023-07/tai-ve.pdf")
    assert response.status_code == 302


def test_bad_month_is_404(supervisor):
    assert supervisor.get("/bao-cao/2023-13").status_code == 404


def test_settings_are_saved_and_shown(supervisor):
    html = _page(supervisor)
    response = supervisor.post(
        f"/bao-cao/{MONTH}/thiet-lap",
        data={
            "report_date": "2023-10-05",
            "number": "5",
            "signer_title": "KT. GIÁM ĐỐC|PHÓ GIÁM ĐỐC",
            "signer_name": "Vũ Đại Thắng",
            "version": _version(html, f"/bao-cao/{MONTH}/thiet-lap"),
        },
    )
    assert response.status_code == 302
    html = _page(supervisor)
    assert "Số: 05/BC-STTTT" in html
    assert "Hải Phòng, ngày 05 tháng 10 năm 2023" in html
    assert "PHÓ GIÁM ĐỐC" in html and "Vũ Đại Thắng" in html


def test_settings_errors_keep_what_was_typed(supervisor):
    response = supervisor.post(
        f"/bao-cao/{MONTH}/thiet-lap",
        data={"report_date": "", "number": "12 3", "signer_name": "Ai đó", "version": "0"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Chọn ngày báo cáo." in html
    assert 'value="12 3"' in html and 'value="Ai đó"' in html


def test_override_and_reset_a_paragraph_through_the_page(supervisor):
    html = _page(supervisor)
    action = f"/bao-cao/{MONTH}/doan/closing"
    response = supervisor.post(
        action,
        data={
            "text": "Sở kính báo cáo **Ủy ban**./.",
            "action": "save",
            "version": _version(html, action),
        },
    )
    assert response.status_code == 302
    html = _page(supervisor)
    assert "Sở kính báo cáo <b>Ủy ban</b>./." in html
    assert "Khôi phục nội dung tự động" in html and "badge-edited" in html

    response = supervisor.post(
        action, data={"text": "", "action": "reset", "version": _version(html, action)}
    )
    assert response.status_code == 302
    html = _page(supervisor)
    assert "Sở Thông tin và Truyền thông kính báo cáo Ủy ban nhân dân thành phố./." in html
    assert "badge-edited" not in html and "Khôi phục nội dung tự động" not in html


def test_stale_paragraph_edit_is_refused_and_typed_text_kept(supervisor):
    html = _page(supervisor)
    action = f"/bao-cao/{MONTH}/doan/opening"
    old_version = _version(html, action)
    supervisor.post(
        f"/bao-cao/{MONTH}/doan/closing",
        data={"text": "Khác./.", "action": "save", "version": old_version},
    )
    response = supervisor.post(
        action, data={"text": "Mở đầu của tôi.", "action": "save", "version": old_version}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "vừa được người khác thay đổi" in page
    assert "Đoạn đã sửa: Câu kết" in page
    assert "Mở đầu của tôi." in page  # what the user typed is still there
    draft = db.session.get(ReportDraft, MONTH)
    assert "opening" not in draft.overrides


def test_downloads(supervisor):
    pdf = supervisor.get(f"/bao-cao/{MONTH}/tai-ve.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Type"] == "application/pdf"
    docx = supervisor.get(f"/bao-cao/{MONTH}/tai-ve.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    assert "bao-cao-2023-09.docx" in docx.headers["Content-Disposition"]


def test_issue_through_the_page_and_download_byte_for_byte(supervisor):
    html = _page(supervisor)
    action = f"/bao-cao/{MONTH}/phat-hanh"
    refused = supervisor.post(action, data={"version": _version(html, action)})
    assert refused.status_code == 400  # the confirmation box was not ticked
    assert "Đánh dấu xác nhận trước khi phát hành." in refused.get_data(as_text=True)

    response = supervisor.post(action, data={"confirm": "y", "version": _version(html, action)})
    assert response.status_code == 302
    issued = db.session.scalar(select(IssuedReport))
    assert db.session.get(MonthLock, MONTH) is not None

    page = _page(supervisor)
    assert "Đã phát hành" in page and issued.sha256 in page
    assert "Sửa đoạn" not in page  # nothing to edit any more

    download = supervisor.get(f"/bao-cao/da-phat-hanh/{issued.id}.pdf")
    assert download.data == issued.pdf
    assert hashlib.sha256(download.data).hexdigest() == issued.sha256
    again = supervisor.get(f"/bao-cao/da-phat-hanh/{issued.id}.pdf")
    assert again.data == download.data
    # The draft PDF link now serves the issued file.
    redirect = supervisor.get(f"/bao-cao/{MONTH}/tai-ve.pdf")
    assert (
        redirect.status_code == 302
        and f"/da-phat-hanh/{issued.id}.pdf" in redirect.headers["Location"]
    )
    # The list of issued reports.
    index = supervisor.get("/bao-cao/").get_data(as_text=True)
    assert issued.sha256[:12] in index

    # A second issue is refused with a clear message, and nothing changes.
    second = supervisor.post(action, data={"confirm": "y"}, follow_redirects=True)
    assert "đã được phát hành" in second.get_data(as_text=True)
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 1


def test_forms_need_csrf(app_factory):
    app = app_factory("demo", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/dang-nhap").get_data(as_text=True)
    signed_in = client.post(
        "/dang-nhap",
        data={
            "username": "thang.vd",
            "password": "Thang-Demo-2023",
            "csrf_token": csrf_token_from(page),
        },
    )
    assert signed_in.status_code == 302
    assert client.post(f"/bao-cao/{MONTH}/phat-hanh", data={"confirm": "y"}).status_code == 400
    assert db.session.scalar(select(func.count(IssuedReport.id))) == 0


def test_docx_of_an_issued_month_is_the_issued_text(supervisor):
    import docx

    from helpdesk.reports import services
    from helpdesk.reports.models import OrgSetting

    services.set_paragraph(MONTH, "closing", "Bản đã phát hành./.", version=0, actor_id=None)
    services.issue(MONTH, None)
    db.session.commit()
    # A later change of the organisation settings does not reach the issued report.
    db.session.get(OrgSetting, "recipient").value = "Bộ Thông tin và Truyền thông"
    db.session.commit()
    document = docx.Document(io.BytesIO(supervisor.get(f"/bao-cao/{MONTH}/tai-ve.docx").data))
    texts = [p.text for p in document.paragraphs]
    assert "Bản đã phát hành./." in texts
    assert "Kính gửi: Ủy ban nhân dân thành phố" in texts
