"""api: tokens and idempotency keys

Revision ID: 0008_api_tokens
Revises: 0007_audit_batches
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0008_api_tokens'
down_revision = '0007_audit_batches'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
