"""tickets: folded search text for accent-insensitive word search

Revision ID: 0002_tickets_search
Revises: 0001
Create Date: 2026-11-27 08:00:00

"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0002_tickets_search'
down_revision = '0001'
branch_labels = None
depends_on = None

_SPACES = re.compile(r"\s+")


def _fold(value):
    # A frozen copy of helpdesk.textutil.fold, so this revision never changes meaning.
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def upgrade():
    # Plain ADD COLUMN, not batch mode: on SQLite a batch "move and copy" of tickets would drop
    # the old table, and with foreign keys on, ON DELETE CASCADE would empty ticket_events.
    op.add_column(
        'tickets',
        sa.Column('search_text', sa.String(length=430), nullable=False, server_default=''),
    )
    tickets = sa.table(
        'tickets',
        sa.column('id', sa.Integer),
        sa.column('requester_name', sa.String),
        sa.column('summary', sa.String),
        sa.column('search_text', sa.String),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(tickets.c.id, tickets.c.requester_name, tickets.c.summary)
            .where(tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(5000)
        ).all()
        if not rows:
            break
        conn.execute(
            tickets.update()
            .where(tickets.c.id == sa.bindparam('tid'))
            .values(search_text=sa.bindparam('text')),
            [
                {'tid': r.id, 'text': _fold(f"{r.requester_name or ''} {r.summary or ''}")[:430]}
                for r in rows
            ],
        )
        last = rows[-1].id


def downgrade():
    # SQLite >= 3.35 drops a column in place (no table copy, so no cascade on ticket_events).
    op.drop_column('tickets', 'search_text')
