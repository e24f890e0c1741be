"""The index the dashboard's month queries read (declared here, on the tickets table).

Every per-month figure of the dashboard (channel x status x operator, unit x category, the
resolution-time histogram) reads only these columns of one month's tickets, so with this index
each is an index-only range scan (``opened_month = ?``, and ``status IN (...)`` for the
histogram) instead of one table lookup per ticket. The 12-month trend reads the narrower
ix_tickets_month_audience_category. Migrations: 0003_dashboard_index, then
0010_answers_satisfaction (adds satisfaction), 0011_service_levels (adds due_at,
paused_at, forwarded_unit_id and merged_into_id: on-time rates by category, unit, operator).
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
