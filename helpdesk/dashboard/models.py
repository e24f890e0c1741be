"""Indexes on the tickets table for the dashboard and the counts beside it (declared here).

``ix_tickets_month_dashboard`` holds the columns of every per-month figure, so a figure counted
from the tickets of a month is an index-only range scan (``opened_month = ?``). Since the
counts are kept by the database (``tickets.counts``, migrations 0012 and 0013) the dashboard no
longer reads it; the API's ``counts`` by operator, satisfaction and on-time still do.
Migrations: 0003_dashboard_index, 0010_answers_satisfaction (adds satisfaction),
0011_service_levels (adds due_at, paused_at, forwarded_unit_id and merged_into_id).

``ix_tickets_unresolved_month`` (0013) holds the unresolved tickets only: what the dashboard
counts live, as of now (overdue; late or still in time).
"""

from sqlalchemy import Index, text

from ..tickets.models import Ticket

MONTH_INDEX = Index(
    "ix_tickets_month_dashboard",
    Ticket.opened_month,
    Ticket.status,
    Ticket.channel,
    Ticket.operator_id,
    Ticket.unit_id,
    Ticket.category_id,
    Ticket.opened_at,
    Ticket.resolved_at,
    Ticket.due_date,
    Ticket.satisfaction,
    Ticket.due_at,
    Ticket.paused_at,
    Ticket.forwarded_unit_id,
    Ticket.merged_into_id,
)

# The unresolved tickets only (migration 0013): what the dashboard counts live, as of now
# (overdue; late or still in time), every other count being kept (tickets.counts).
UNRESOLVED = "status IN ('open', 'in_progress', 'waiting', 'forwarded')"
UNRESOLVED_INDEX = Index(
    "ix_tickets_unresolved_month",
    Ticket.opened_month,
    Ticket.status,
    Ticket.category_id,
    Ticket.unit_id,
    Ticket.forwarded_unit_id,
    Ticket.operator_id,
    Ticket.due_at,
    Ticket.paused_at,
    Ticket.resolved_at,
    Ticket.merged_into_id,
    sqlite_where=text(UNRESOLVED),
    postgresql_where=text(UNRESOLVED),
)
