"""unit staff bound to units; the e-mail outbox and each user's notification choices

Revision ID: 0010_unit_staff_outbox
Revises: 0009_service_levels
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0010_unit_staff_outbox'
down_revision = '0009_service_levels'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
