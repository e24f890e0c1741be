"""Every model, imported in one place for Alembic and the app factory."""

from .api.models import ApiToken, IdempotencyKey
from .audit import AuditLog
from .auth.models import User
from .dashboard import models as _dashboard_indexes  # noqa: F401 - an index on tickets
from .reports.models import IssuedReport, OrgSetting, ReportDraft
from .stats.models import Activity, CityStat, ControlTotal, MonthLock, UnitStat
from .tickets.models import Category, Ticket, TicketCounter, TicketEvent
from .units.models import Unit

__all__ = [
    "ApiToken",
    "IdempotencyKey",
    "Activity",
    "AuditLog",
    "Category",
    "CityStat",
    "ControlTotal",
    "IssuedReport",
    "MonthLock",
    "OrgSetting",
    "ReportDraft",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "Unit",
    "UnitStat",
    "User",
]
