"""The e-mail outbox against a real SMTP server run in the test process (aiosmtpd): rows saved
with the change, sent by the worker, retried through an outage, failed on a bounced address,
and the notices: forwarded, assigned, due soon, late, the morning digest, each user's choice."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from helpdesk.auth.models import User, UserUnit
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMail
from helpdesk.mail.notify import queue_digest, scan_due
from helpdesk.mail.sender import send_batch
from helpdesk.tickets.models import Category
from helpdesk.tickets.services import (
    TicketValues,
    assign_ticket,
    create_ticket,
    forward_ticket,
    resolve_unit,
)
from helpdesk.timeutil import now_local

from .conftest import login


class Inbox:
    """What the SMTP server received; addresses with "bounce" are refused for good (550)."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "bounce" in address:
            return "550 5.1.1 Không có hộp thư này"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted"


@pytest.fixture
def dead_port():
    """A port where no SMTP server answers: bound by this test and never listening, so it
    refuses connections and no other test or process can start a server on it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(demo_app):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    demo_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    yield inbox
    controller.stop()


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _staff(make_user, unit_name="Lê Chân", email="canbo@haiphong.gov.vn") -> User:
    user = make_user("unit_staff", username=email.split("@")[0], email=email)
    db.session.add(UserUnit(user_id=user.id, unit_id=resolve_unit(unit_name).id))
    db.session.commit()
    return user


def _ticket(opened_at: datetime | None = None, phone="0912345678"):
    category = db.session.scalar(select(Category).where(Category.code == "dossier_status"))
    opened = opened_at or now_local()
    values = TicketValues(category=category, opened_at=opened, requester_phone=phone,
                          summary="Hỏi tiến độ hồ sơ", dossier_code="H26-0001")  # fmt: skip
    ticket = create_ticket(values, _user("hoa.nt").id, close=False, now=opened)
    db.session.commit()
    return ticket


def _forward(ticket, now: datetime | None = None, note=None, commit=True) -> None:
    """Hoa forwards the ticket to phường Lê Chân (whose staff the tests make)."""
    forward_ticket(ticket, resolve_unit("Lê Chân"), note, _user("hoa.nt"), ticket.version, None,
                   now or now_local())  # fmt: skip
    if commit:
        db.session.commit()


def _outbox() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_forwarding_queues_a_mail_that_the_worker_sends(smtp, make_user):
    staff = _staff(make_user)
    ticket = _ticket()
    _forward(ticket, note="Nhờ trả lời")
    assert smtp.messages == []  # saving never waits for the mail server
    [mail] = _outbox()
    assert mail.recipient == staff.email and mail.kind == "forwarded" and mail.sent_at is None
    result = send_batch(now_local())
    db.session.commit()
    assert result.sent == 1
    [(to, message)] = smtp.messages
    assert to == [staff.email]
    assert message["Subject"] == f"[{ticket.ref}] Yêu cầu chuyển tới Lê Chân"
    body = message.get_content()
    assert ticket.ref in body and "H26-0001" in body and f"/yeu-cau-chuyen-den/{ticket.id}" in body
    assert "0912345678" not in body  # no caller's phone in a mail
    assert _outbox()[0].sent_at is not None
    assert send_batch(now_local()).sent == 0  # sent once


def test_a_change_rolled_back_sends_nothing(smtp, make_user, demo_app):
    _staff(make_user)
    ticket = _ticket()
    _forward(ticket, commit=False)
    db.session.rollback()
    assert _outbox() == []


def test_an_outage_keeps_the_mail_and_retries_with_backoff(smtp, make_user, demo_app, dead_port):
    _staff(make_user)
    ticket = _ticket()
    _forward(ticket)
    port = demo_app.config["MAIL_PORT"]
    demo_app.config["MAIL_PORT"] = dead_port  # nobody listens there: the server is down
    now = now_local()
    result = send_batch(now)
    db.session.commit()
    assert result.retrying == 1 and result.errors
    [mail] = _outbox()
    assert mail.attempts == 1 and mail.failed_at is None and mail.sent_at is None
    assert mail.next_try_at == now + timedelta(minutes=1) and "Không kết nối" in mail.last_error
    assert send_batch(now).retrying == 0  # not due again yet
    later = now + timedelta(minutes=1)
    send_batch(later)
    db.session.commit()
    assert _outbox()[0].next_try_at == later + timedelta(minutes=2)  # the delay doubles
    demo_app.config["MAIL_PORT"] = port  # the server is back
    assert send_batch(later + timedelta(minutes=2)).sent == 1
    db.session.commit()
    assert len(smtp.messages) == 1 and _outbox()[0].sent_at is not None


def test_after_the_last_attempt_the_mail_is_failed_and_an_admin_may_retry(
    smtp, make_user, demo_app, dead_port
):
    _staff(make_user)
    ticket = _ticket()
    _forward(ticket)
    port = demo_app.config["MAIL_PORT"]
    demo_app.config.update(MAIL_PORT=dead_port, MAIL_MAX_ATTEMPTS=3)
    moment = now_local()
    for _ in range(3):
        send_batch(moment)
        db.session.commit()
        moment += timedelta(hours=7)
    [mail] = _outbox()
    assert mail.failed_at is not None and mail.attempts == 3
    demo_app.config["MAIL_PORT"] = port
    assert send_batch(moment).sent == 0  # failed: no longer tried
    admin = make_user("admin")
    client = demo_app.test_client()
    login(client, admin.username)
    page = client.get("/quan-tri/hop-thu-di").get_data(as_text=True)
    assert "Gửi không được (1)" in page and mail.recipient in page
    assert client.post(f"/quan-tri/hop-thu-di/{mail.id}/gui-lai", data={}).status_code == 302
    assert send_batch(now_local()).sent == 1
    db.session.commit()
    assert len(smtp.messages) == 1


def test_a_bounced_address_fails_at_once(smtp, make_user):
    _staff(make_user, email="bounce@haiphong.gov.vn")
    good = _staff(make_user, email="tot@haiphong.gov.vn")
    ticket = _ticket()
    _forward(ticket)
    result = send_batch(now_local())
    db.session.commit()
    assert (result.sent, result.failed) == (1, 1)
    bounced, sent = _outbox()
    assert bounced.failed_at is not None and "550" in bounced.last_error
    assert "Địa chỉ bị từ chối" in bounced.last_error
    assert sent.sent_at is not None and [to for to, _m in smtp.messages] == [[good.email]]


def test_assignment_late_and_due_soon_notices_go_once(smtp, make_user, demo_app):
    supervisor = _user("thang.vd")
    supervisor.email = "thang@haiphong.gov.vn"
    tuan = _user("tuan.pv")
    tuan.email = "tuan@haiphong.gov.vn"
    db.session.commit()
    now = now_local()
    late = _ticket(opened_at=now - timedelta(days=20))
    late.due_at = now - timedelta(hours=2)  # it has just become late
    late.promised_at = now + timedelta(days=1)  # promised, so it may be handed on
    backlog = _ticket(opened_at=now - timedelta(days=20), phone="0911000999")  # late for weeks
    db.session.commit()
    assign_ticket(late, tuan, supervisor, late.version, None, now)
    db.session.commit()
    [assigned] = _outbox()
    assert assigned.kind == "assigned" and assigned.recipient == tuan.email
    counts = scan_due(now)
    db.session.commit()
    late_mails = [m for m in _outbox() if m.kind == "late"]
    recipients = {m.recipient for m in late_mails if m.ticket_id == late.id}
    assert recipients == {tuan.email, supervisor.email}
    assert counts["late"] == 2
    assert not [m for m in _outbox() if m.ticket_id == backlog.id]  # that is the digest's
    assert scan_due(now) == {"due_soon": 0, "late": 0}  # once per ticket, user and due time
    # Tuân turns late notices off: a newly late ticket no longer reaches him.
    tuan.mail_off = "late"
    other = _ticket(opened_at=now - timedelta(days=30), phone="0911222333")
    other.due_at = now - timedelta(minutes=30)
    other.assignee = tuan
    db.session.commit()
    scan_due(now)
    db.session.commit()
    assert {m.recipient for m in _outbox() if m.ticket_id == other.id} == {supervisor.email}


def test_the_morning_digest_groups_late_requests_by_unit(smtp, make_user):
    staff = _staff(make_user)
    supervisor = _user("thang.vd")
    supervisor.email = "thang@haiphong.gov.vn"
    db.session.commit()
    now = now_local()
    ticket = _ticket(opened_at=now - timedelta(days=20))
    ticket.promised_at = now + timedelta(days=1)
    db.session.commit()
    _forward(ticket, now)
    queued = queue_digest(now.date(), now)
    db.session.commit()
    digests = {m.recipient: m for m in _outbox() if m.kind == "digest"}
    assert set(digests) == {staff.email, supervisor.email} and queued == 2
    assert ticket.ref in digests[staff.email].body
    assert "Lê Chân" in digests[supervisor.email].body
    assert "Tổ hỗ trợ (chưa chuyển đơn vị)" in digests[supervisor.email].body  # demo backlog
    assert queue_digest(now.date(), now) == 0  # once a day
    send_batch(now_local())  # every mail queued so far, the forwarding notice included
    db.session.commit()
    assert (
        db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.sent_at.is_(None)))
        == 0
    )


def test_the_worker_command(smtp, make_user, demo_app, dead_port):
    _staff(make_user)
    ticket = _ticket()
    _forward(ticket)
    runner = demo_app.test_cli_runner()
    port = demo_app.config["MAIL_PORT"]
    demo_app.config["MAIL_PORT"] = dead_port
    down = runner.invoke(args=["mail", "send"])
    assert down.exit_code == 1 and "Không kết nối được máy chủ thư" in down.output
    demo_app.config["MAIL_PORT"] = port
    for mail in _outbox():
        mail.next_try_at = now_local()
    db.session.commit()
    up = runner.invoke(args=["mail", "send"])
    assert up.exit_code == 0 and "sent 1" in up.output
    assert runner.invoke(args=["mail", "scan"]).exit_code == 0
    assert runner.invoke(args=["mail", "digest"]).exit_code == 0


def test_each_user_chooses_the_kinds_of_mail(demo_app):
    client = demo_app.test_client()
    from .test_tickets_views import DEMO

    login(client, "tuan.pv", DEMO["tuan.pv"])
    page = client.get("/tai-khoan/thong-bao").get_data(as_text=True)
    assert "chưa có địa chỉ email" in page and "Bản tin sáng" in page
    kept = ["forwarded", "assigned", "due_soon"]
    assert client.post("/tai-khoan/thong-bao", data={"kinds": kept}).status_code == 302
    db.session.expire_all()
    tuan = _user("tuan.pv")
    assert tuan.mail_off == "late|digest"
    tuan.email = "tuan@haiphong.gov.vn"
    assert tuan.wants_mail("assigned") and not tuan.wants_mail("late")


def test_a_long_digest_lists_the_first_requests_and_counts_the_rest(smtp, monkeypatch):
    from helpdesk.mail import notify

    supervisor = _user("thang.vd")
    supervisor.email = "thang@haiphong.gov.vn"
    db.session.commit()
    monkeypatch.setattr(notify, "DIGEST_LINES", 3)
    now = now_local()
    assert queue_digest(now.date(), now) == 1
    [digest] = [m for m in _outbox() if m.kind == "digest"]
    assert "yêu cầu khác: http://localhost:5000/yeu-cau/han-xu-ly" in digest.body
    assert digest.body.count("\n- HT-") <= 3 * 20  # three per unit at most


def test_two_senders_never_send_one_message_twice(smtp, make_user):
    from helpdesk.mail.sender import LEASE, claim

    _staff(make_user)
    ticket = _ticket()
    _forward(ticket)
    now = now_local()
    first = claim(now, 10)
    db.session.commit()  # the first sender's claim, committed before it sends
    assert len(first) == 1
    assert claim(now, 10) == []  # a second sender at the same moment finds nothing
    # The first sender died before sending: after the lease the message is taken again.
    assert [m.id for m in claim(now + LEASE, 10)] == [first[0].id]
    db.session.commit()
    result = send_batch(now + LEASE * 2, checkpoint=db.session.commit)
    assert result.sent == 1 and len(smtp.messages) == 1
    assert send_batch(now + LEASE * 3).sent == 0


def test_an_address_the_server_cannot_take_fails_alone(demo_app, make_user):
    inbox = Inbox()
    port = _free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    server.start()
    demo_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    try:
        _an_address_the_server_cannot_take(inbox, make_user)
    finally:
        server.stop()


def _an_address_the_server_cannot_take(smtp, make_user):
    _staff(make_user, email="cán.bộ@haiphong.gov.vn")  # not ASCII, and no SMTPUTF8 offered
    good = _staff(make_user, email="canbo2@haiphong.gov.vn")
    ticket = _ticket()
    _forward(ticket)
    result = send_batch(now_local())
    db.session.commit()
    assert (result.sent, result.failed, result.retrying) == (1, 1, 0)
    bad, sent = _outbox()
    assert bad.failed_at is not None and "không nhận địa chỉ" in bad.last_error
    assert sent.sent_at is not None and [to for to, _m in smtp.messages] == [[good.email]]
