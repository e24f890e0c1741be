"""units: lifetimes (valid_from, valid_to), successors; a code is unique per lifetime only

Revision ID: 0005_unit_lifetimes
Revises: 0004_tickets_words
Create Date: 2026-12-03 08:00:00

Existing units get open-ended lifetimes (both bounds NULL) and no successors: nothing else
changes. Codes stop being unique on their own, since official codes are reused by new units.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_unit_lifetimes'
down_revision = '0004_tickets_words'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
        batch_op.drop_constraint('uq_units_code', type_='unique')
        batch_op.create_index(batch_op.f('ix_units_code'), ['code'], unique=False)
        batch_op.create_check_constraint(
            'lifetime', 'valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from'
        )

    op.create_table('unit_successors',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('successor_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['successor_id'], ['units.id'], name=op.f('fk_unit_successors_successor_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_successors_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', 'successor_id', name=op.f('pk_unit_successors'))
    )
    with op.batch_alter_table('unit_successors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_successors_successor_id'), ['successor_id'], unique=False)


def downgrade():
    # Only possible while every code names one unit (before any reused code is imported).
    with op.batch_alter_table('unit_successors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_successors_successor_id'))
    op.drop_table('unit_successors')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint('lifetime', type_='check')
        batch_op.drop_index(batch_op.f('ix_units_code'))
        batch_op.create_unique_constraint('uq_units_code', ['code'])
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
