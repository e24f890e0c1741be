"""Migrations keep the data: down to the first revision and back up on a populated database."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from helpdesk.extensions import db

TABLES = ("tickets", "ticket_events", "units", "unit_stats", "audit_log")


def _counts() -> dict[str, int]:
    return {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608


def test_downgrade_and_upgrade_keep_every_row(demo_app):
    before = _counts()
    assert before["ticket_events"] > 0
    db.session.remove()
    downgrade(revision="0001")
    upgrade()
    db.session.remove()
    assert _counts() == before
