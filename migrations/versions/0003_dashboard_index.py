"""tickets: covering index for the dashboard's month queries

Revision ID: 0003_dashboard_index
Revises: 0002_tickets_search
Create Date: 2026-11-27 09:00:00

"""
from alembic import op

revision = '0003_dashboard_index'
down_revision = '0002_tickets_search'
branch_labels = None
depends_on = None

COLUMNS = [
    'opened_month',
    'status',
    'channel',
    'operator_id',
    'unit_id',
    'category_id',
    'opened_at',
    'resolved_at',
    'due_date',
]


def upgrade():
    # A plain CREATE INDEX (no batch mode): SQLite must never copy the tickets table.
    op.create_index('ix_tickets_month_dashboard', 'tickets', COLUMNS, unique=False)


def downgrade():
    op.drop_index('ix_tickets_month_dashboard', table_name='tickets')
