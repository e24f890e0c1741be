"""Sign-in failures are counted atomically: wrong passwords sent at once cannot get more checks
than the lock threshold (a probe sent 40 at once and got 32 checked before the lock took effect).

The attempts run in real threads against the test database (SQLite or PostgreSQL), each with
its own application context, session and connection, released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.auth.models import User
from helpdesk.auth.services import GENERIC_ERROR, authenticate, check_code
from helpdesk.extensions import db

from .conftest import PASSWORD, login

ATTEMPTS = 40


def _at_once(count: int, work) -> list:
    barrier = threading.Barrier(count)

    def run(i: int):
        barrier.wait(timeout=60)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_forty_wrong_passwords_at_once_get_only_the_threshold_checked(app, make_user):
    user = make_user()
    username = user.username
    threshold = app.config["LOGIN_LOCKOUT_FAILURES"]

    def attempt(i: int) -> str:
        with app.app_context():
            result = authenticate(username, f"Sai-Mat-Khau-{i}", threshold, 15)
            db.session.commit()
            assert result.user is None and result.message == GENERIC_ERROR
            return result.reason

    reasons = Counter(_at_once(ATTEMPTS, attempt))
    # Exactly the threshold's worth of passwords were checked; every other was refused unchecked.
    assert reasons == {"wrong_password": threshold, "locked": ATTEMPTS - threshold}
    db.session.expire_all()
    db.session.refresh(user)
    assert user.locked_until is not None and user.failed_logins == 0
    lockouts = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "lockout")).all()
    assert len(lockouts) == 1
    # Locked: the right password is refused too, with the same message.
    client = app.test_client()
    assert GENERIC_ERROR in login(client, user.username).get_data(as_text=True)


def test_concurrent_wrong_passwords_over_http(app, make_user):
    """The same through the sign-in form: every answer the same, the account locked once."""
    user = make_user()
    username = user.username

    def attempt(i: int) -> tuple[int, bool]:
        response = app.test_client().post(
            "/dang-nhap", data={"username": username, "password": f"Sai-{i}"}
        )
        return response.status_code, GENERIC_ERROR in response.get_data(as_text=True)

    assert set(_at_once(24, attempt)) == {(200, True)}
    db.session.expire_all()
    db.session.refresh(user)
    assert user.locked_until is not None
    lockouts = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "lockout")).all()
    assert len(lockouts) == 1


def test_failures_below_the_threshold_reset_on_success(app, make_user):
    user = make_user()
    threshold = app.config["LOGIN_LOCKOUT_FAILURES"]
    client = app.test_client()
    for _ in range(threshold - 1):
        login(client, user.username, "wrong-password")
    db.session.refresh(user)
    assert user.failed_logins == threshold - 1 and user.locked_until is None
    assert login(client, user.username).status_code == 302
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.last_login_at is not None


def test_second_factor_codes_count_with_passwords(app, make_user):
    """A password that passed does not reset the count while the code is still to come:
    guessing codes locks the account as guessing passwords does."""
    user = make_user("admin")
    user_id, username = user.id, user.username
    threshold = app.config["LOGIN_LOCKOUT_FAILURES"]

    def attempt(i: int) -> str:
        with app.app_context():
            me = db.session.get(User, user_id)
            outcome = check_code(me, f"{i:06d}", threshold, 15)
            db.session.commit()
            return outcome

    outcomes = Counter(_at_once(ATTEMPTS, attempt))
    # A guess may hit the real code (1 in 10^6 per step): the test does not hide it.
    assert outcomes["wrong"] + outcomes["totp"] == threshold
    assert outcomes["locked"] == ATTEMPTS - threshold
    client = app.test_client()
    response = client.post("/dang-nhap", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200  # locked: no code step
    assert GENERIC_ERROR in response.get_data(as_text=True)
