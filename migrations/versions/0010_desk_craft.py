"""the desk's craft: merges, canned answers, satisfaction

Revision ID: 0010_desk_craft
Revises: 0009_service_levels
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0010_desk_craft'
down_revision = '0009_service_levels'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
