"""Sending the outbox over SMTP: one connection per batch, each message marked as it goes.

A message that cannot be sent now (server down, a 4xx answer) is tried again later with a
growing delay (1, 2, 4 ... minutes, at most 6 hours); after MAIL_MAX_ATTEMPTS, or at once when
the server refuses the address for good (a 5xx answer: a bounced address), it is marked failed,
shown to admins, who may send it again. The caller commits (``flask mail send``).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from .models import OutboxMail

MAX_DELAY = timedelta(hours=6)


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_DELAY)


LEASE = timedelta(minutes=10)


def claim(now: datetime, limit: int) -> list[OutboxMail]:
    """Take up to ``limit`` messages that are due, for this worker alone.

    Each is claimed by a compare-and-set on ``next_try_at`` (moved a lease ahead): a second
    worker, on SQLite or PostgreSQL, finds it taken and skips it; a worker that dies leaves it
    to be tried again when the lease ends. The caller commits the claim before sending.
    """
    candidates = db.session.execute(
        select(OutboxMail.id, OutboxMail.next_try_at)
        .where(
            OutboxMail.sent_at.is_(None),
            OutboxMail.failed_at.is_(None),
            OutboxMail.next_try_at <= now,
        )
        .order_by(OutboxMail.next_try_at, OutboxMail.id)
        .limit(limit)
    ).all()
    claimed = []
    for mail_id, seen in candidates:
        taken = db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.next_try_at == seen)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None))
            .values(next_try_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            claimed.append(mail_id)
    if not claimed:
        return []
    return list(
        db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.id.in_(claimed))
            .order_by(OutboxMail.id)
            .execution_options(populate_existing=True)
        )
    )


def build_message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    if config.get("MAIL_STARTTLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _retry(mail: OutboxMail, now: datetime, error: str, result: SendResult) -> None:
    mail.attempts += 1
    mail.last_error = error[:1000]
    if mail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        mail.failed_at = now
        result.failed += 1
    else:
        mail.next_try_at = now + backoff(mail.attempts)
        result.retrying += 1


def send_batch(
    now: datetime, limit: int = 100, checkpoint: Callable[[], None] = lambda: None
) -> SendResult:
    """Send what is due; every message ends sent, rescheduled or failed (flushed).

    ``checkpoint`` is called after the claim and after each message (the worker commits
    there), so a crash resends at most the message being sent, never a batch.
    """
    result = SendResult()
    batch = claim(now, limit)
    if not batch:
        return result
    db.session.flush()
    checkpoint()
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:  # server down: all wait for the next try
        error = f"Không kết nối được máy chủ thư: {exc}"
        result.errors.append(error)
        for mail in batch:
            _retry(mail, now, error, result)
        db.session.flush()
        checkpoint()
        return result
    try:
        for mail in batch:
            try:
                refused = smtp.send_message(build_message(mail))
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                _refused(mail, now, code, text, result)
                _done(checkpoint)
                continue
            except smtplib.SMTPNotSupportedError as exc:
                # An address this server cannot take (not ASCII, no SMTPUTF8): this message
                # fails for good; the connection is fine and the others go on.
                mail.attempts += 1
                mail.failed_at = now
                mail.last_error = f"Máy chủ thư không nhận địa chỉ này: {exc}"[:1000]
                result.failed += 1
                _done(checkpoint)
                continue
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    _refused(mail, now, exc.smtp_code, exc.smtp_error, result)
                else:
                    _retry(mail, now, f"{exc.smtp_code} {_text(exc.smtp_error)}", result)
                _done(checkpoint)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                # The connection broke: this message and the rest of the batch wait.
                error = str(exc) or type(exc).__name__
                for rest in batch[batch.index(mail) :]:
                    _retry(rest, now, error, result)
                break
            if refused:
                code, text = next(iter(refused.values()))
                _refused(mail, now, code, text, result)
                _done(checkpoint)
                continue
            mail.sent_at = now
            mail.last_error = None
            mail.attempts += 1
            result.sent += 1
            _done(checkpoint)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    db.session.flush()
    return result


def _done(checkpoint: Callable[[], None]) -> None:
    db.session.flush()
    checkpoint()


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refused(mail: OutboxMail, now: datetime, code: int, text, result: SendResult) -> None:
    mail.attempts += 1
    if code >= 500:
        mail.failed_at = now
        mail.last_error = f"Địa chỉ bị từ chối ({code} {_text(text)})"[:1000]
        result.failed += 1
    else:
        _retry(mail, now, f"{code} {_text(text)}", result)


def retry_now(mail: OutboxMail, now: datetime) -> None:
    """An admin sends a failed or waiting message again at the worker's next run."""
    mail.failed_at = None
    mail.attempts = 0
    mail.next_try_at = now
