"""merged tickets (duplicates of an open ticket)

Revision ID: 0011_merges
Revises: 0010_unit_staff_outbox
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0011_merges'
down_revision = '0010_unit_staff_outbox'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
