"""merged tickets (duplicates of an open ticket)

Revision ID: 0009_merges
Revises: 0008_api_tokens
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_merges'
down_revision = '0008_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs: rebuilding `tickets` in SQLite's batch mode would drop the word-index
    # triggers of 0004. SQLite takes the reference inline; PostgreSQL gets a named constraint.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_tickets_merged_into_id_tickets REFERENCES tickets (id)")
    else:
        op.add_column('tickets', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_tickets_merged_into_id_tickets'), 'tickets', 'tickets',
                              ['merged_into_id'], ['id'])
    op.add_column('tickets', sa.Column('merged_status', sa.String(length=12), nullable=True))
    op.add_column('tickets', sa.Column('merged_at', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_tickets_merged_into_id'), 'tickets', ['merged_into_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_tickets_merged_into_id'), table_name='tickets')
    op.drop_column('tickets', 'merged_at')
    op.drop_column('tickets', 'merged_status')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_tickets_merged_into_id_tickets'), 'tickets', type_='foreignkey')
    op.drop_column('tickets', 'merged_into_id')
