"""audit_log: a batch key grouping an import's row entries with the import's own entry

Revision ID: 0007_audit_batches
Revises: 0006_sessions_two_factor
Create Date: 2026-12-03 09:30:00

Existing imports are grouped too: an import wrote its rows' entries (import_add, import_update,
import_replace) and then its own entry ("import") in one transaction, so the row entries of the
same person since the previous import entry belong to it. Everything else keeps no batch.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_audit_batches'
down_revision = '0006_sessions_two_factor'
branch_labels = None
depends_on = None

ROW_ACTIONS = ('import_add', 'import_update', 'import_replace')


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_batch'), ['batch'], unique=False)

    audit = sa.table(
        'audit_log',
        sa.column('id', sa.Integer),
        sa.column('user_id', sa.Integer),
        sa.column('action', sa.String),
        sa.column('batch', sa.String),
    )
    conn = op.get_bind()
    heads = conn.execute(
        sa.select(audit.c.id, audit.c.user_id).where(audit.c.action == 'import').order_by(audit.c.id)
    ).all()
    previous = 0
    for head_id, user_id in heads:
        same_person = audit.c.user_id.is_(None) if user_id is None else audit.c.user_id == user_id
        conn.execute(
            sa.update(audit)
            .where(
                audit.c.id > previous,
                audit.c.id <= head_id,
                sa.or_(audit.c.id == head_id, audit.c.action.in_(ROW_ACTIONS)),
                same_person,
                audit.c.batch.is_(None),
            )
            .values(batch=f'import-{head_id}')
        )
        previous = head_id


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_batch'))
        batch_op.drop_column('batch')
