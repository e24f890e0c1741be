"""Every model, imported in one place for Alembic and the app factory."""

from .api.models import ApiToken, IdempotencyKey
from .audit import AuditLog
from .auth.models import User, UserUnit
from .dashboard import models as _dashboard_indexes  # noqa: F401 - an index on tickets
from .mail.models import OutboxMail
from .reports.models import IssuedReport, OrgSetting, ReportDraft
from .stats.models import Activity, CityStat, ControlTotal, MonthLock, UnitStat
from .tickets.counts import (
    TicketCount,
    TicketDimensionCount,
    TicketMinuteCount,
    TicketOnTimeCategory,
    TicketOnTimeOperator,
    TicketOnTimeUnit,
    TicketTrendCount,
    TicketUnitCategoryCount,
    TicketUnitCount,
)
from .tickets.models import Category, Ticket, TicketCounter, TicketEvent
from .units.models import Unit
from .workcal.models import CalendarChange

__all__ = [
    "ApiToken",
    "IdempotencyKey",
    "Activity",
    "AuditLog",
    "CalendarChange",
    "Category",
    "CityStat",
    "ControlTotal",
    "IssuedReport",
    "MonthLock",
    "OrgSetting",
    "OutboxMail",
    "ReportDraft",
    "Ticket",
    "TicketCount",
    "TicketDimensionCount",
    "TicketMinuteCount",
    "TicketOnTimeCategory",
    "TicketOnTimeOperator",
    "TicketOnTimeUnit",
    "TicketUnitCategoryCount",
    "TicketCounter",
    "TicketEvent",
    "TicketTrendCount",
    "TicketUnitCount",
    "Unit",
    "UnitStat",
    "User",
    "UserUnit",
]
