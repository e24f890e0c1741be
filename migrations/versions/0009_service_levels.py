"""service levels: due times in working time, the waiting clock, days off, late promises

Revision ID: 0009_service_levels
Revises: 0008_api_tokens
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009_service_levels'
down_revision = '0008_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
