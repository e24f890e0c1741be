"""canned answers and callers' satisfaction

Revision ID: 0012_answers_satisfaction
Revises: 0011_merges
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0012_answers_satisfaction'
down_revision = '0011_merges'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
