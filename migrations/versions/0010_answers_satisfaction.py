"""canned answers and callers' satisfaction

Revision ID: 0010_answers_satisfaction
Revises: 0009_merges
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_answers_satisfaction'
down_revision = '0009_merges'
branch_labels = None
depends_on = None

DASHBOARD = [  # ix_tickets_month_dashboard as 0003 made it
    'opened_month', 'status', 'channel', 'operator_id', 'unit_id', 'category_id', 'opened_at',
    'resolved_at', 'due_date',
]


def upgrade():
    # A plain ADD COLUMN with its CHECK (both databases take it): rebuilding `tickets` in
    # SQLite's batch mode would drop the word-index triggers of 0004.
    op.execute(
        "ALTER TABLE tickets ADD COLUMN satisfaction VARCHAR(12) "
        "CONSTRAINT ck_tickets_satisfaction "
        "CHECK (satisfaction IN ('satisfied', 'neutral', 'unsatisfied'))"
    )
    # The dashboard's covering index gains the column (satisfaction is counted alongside the
    # unit x category and operator groupings, index-only as before).
    op.drop_index('ix_tickets_month_dashboard', table_name='tickets')
    op.create_index('ix_tickets_month_dashboard', 'tickets', DASHBOARD + ['satisfaction'])
    op.create_table(
        'canned_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('category_codes', sa.String(length=1000), server_default='', nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('uses', sa.Integer(), server_default='0', nullable=False),
        sa.Column('search_text', sa.String(length=500), server_default='', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_answers')),
        sa.UniqueConstraint('code', name=op.f('uq_canned_answers_code')),
    )


def downgrade():
    op.drop_table('canned_answers')
    op.drop_index('ix_tickets_month_dashboard', table_name='tickets')
    op.create_index('ix_tickets_month_dashboard', 'tickets', DASHBOARD)
    op.execute("ALTER TABLE tickets DROP COLUMN satisfaction")  # SQLite 3.35+ and PostgreSQL
