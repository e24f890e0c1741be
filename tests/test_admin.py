from sqlalchemy import select

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.models import Category, OrgSetting

from .conftest import login


def test_admin_creates_user_and_bad_input_is_reshown(client, auth):
    auth(client, "admin")
    response = client.post(
        "/quan-tri/nguoi-dung",
        data={
            "username": "Bad Name",
            "full_name": "Nguyễn Văn A",
            "role": "operator",
            "password": "short",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Chữ thường không dấu" in html
    assert 'value="Nguyễn Văn A"' in html  # what was typed is kept
    assert db.session.scalar(select(User).where(User.full_name == "Nguyễn Văn A")) is None

    response = client.post(
        "/quan-tri/nguoi-dung",
        data={
            "username": "van.a",
            "full_name": "Nguyễn Văn A",
            "role": "operator",
            "password": "weakpassword",
        },
    )
    assert "3 trong 4 loại" in response.get_data(as_text=True)

    response = client.post(
        "/quan-tri/nguoi-dung",
        data={
            "username": "van.a",
            "full_name": "Nguyễn Văn A",
            "role": "operator",
            "password": "Manh-Me-2023!",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "van.a"))
    assert user.check_password("Manh-Me-2023!")
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.action == "create", AuditLog.entity == "user")
    )


def test_admin_deactivates_and_resets(client, auth, make_user, app):
    auth(client, "admin")
    target = make_user("operator")
    other = app.test_client()
    assert login(other, target.username).status_code == 302

    client.post(
        f"/quan-tri/nguoi-dung/{target.id}/mat-khau", data={"reset-password": "Moi-Mat-Khau-99"}
    )
    db.session.refresh(target)
    assert target.check_password("Moi-Mat-Khau-99")
    assert other.get("/").status_code == 302  # signed out everywhere

    client.post(f"/quan-tri/nguoi-dung/{target.id}/trang-thai")
    db.session.refresh(target)
    assert target.active is False


def test_admin_cannot_deactivate_self(client, auth):
    admin = auth(client, "admin")
    client.post(f"/quan-tri/nguoi-dung/{admin.id}/trang-thai")
    db.session.refresh(admin)
    assert admin.active


def test_admin_edits_category_and_code_clash_is_reported(demo_client, auth):
    auth(demo_client, "admin")
    category = db.session.scalar(select(Category).where(Category.code == "late_dossier"))
    data = {
        "code": "activation_code",
        "audience": "citizen",
        "label": "Trễ hạn",
        "report_phrase": "phản ánh trễ hạn",
        "due_days": "2",
        "position": "5",
        "active": "y",
    }
    html = demo_client.post(f"/quan-tri/nhom-yeu-cau/{category.id}", data=data).get_data(
        as_text=True
    )
    assert "đã có" in html and 'value="Trễ hạn"' in html
    data["code"] = "late_dossier"
    assert demo_client.post(f"/quan-tri/nhom-yeu-cau/{category.id}", data=data).status_code == 302
    db.session.refresh(category)
    assert (category.label, category.due_days) == ("Trễ hạn", 2)


def test_admin_edits_organisation(demo_client, auth):
    auth(demo_client, "admin")
    page = demo_client.get("/quan-tri/to-chuc").get_data(as_text=True)
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in page
    form = {
        k: ""
        for k in (
            "parent_agency",
            "agency",
            "agency_name",
            "document_symbol",
            "place",
            "recipient",
            "system_name",
            "signer_title",
            "signer_name",
        )
    }
    form.update(place="Hải Phòng", signer_name="Nguyễn Văn B", distribution="Một\nHai\n")
    assert demo_client.post("/quan-tri/to-chuc", data=form).status_code == 302
    values = {s.key: s.value for s in db.session.scalars(select(OrgSetting))}
    assert values["signer_name"] == "Nguyễn Văn B" and values["distribution"] == "Một|Hai"


def test_audit_page_filters(demo_client, auth):
    auth(demo_client, "admin")
    html = demo_client.get("/quan-tri/nhat-ky?action=import_add").get_data(as_text=True)
    assert '<option value="import_add" selected>Nhập tệp: thêm mới</option>' in html
    assert "<td>Nhập tệp: thêm mới</td>" in html and "<td>import_add</td>" not in html
    assert demo_client.get("/quan-tri/nhat-ky?from=bad-date").status_code == 200
