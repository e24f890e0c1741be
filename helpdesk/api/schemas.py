"""The API's request and answer models (pydantic 2: their JSON Schema is OpenAPI 3.1's)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ..tickets.models import AUDIENCES, CHANNELS, SATISFACTIONS, STATUSES

Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Audience = Literal[AUDIENCES]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Satisfaction = Literal[SATISFACTIONS]  # type: ignore[valid-type]
MONTH = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"  # the years the app knows (timeutil.parse_month)


class Strict(BaseModel):
    """Unknown fields are refused (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# -- answers -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str]


class ErrorBody(BaseModel):
    error: ErrorDetail
    current: Ticket | None = Field(
        default=None, description="On a 409 for a stale version: the ticket as it is now."
    )


class Event(BaseModel):
    at: datetime
    kind: str = Field(description="created, change, status or note")
    user: str | None = Field(description="username of who did it")
    field: str | None
    old_value: str | None
    new_value: str | None
    note: str | None


class Ticket(BaseModel):
    ref: str = Field(examples=["HT-2309-0042"])
    url: str
    opened_at: datetime
    channel: str
    audience: str
    category: str
    unit_code: str | None
    requester_name: str | None
    requester_phone: str | None
    dossier_code: str | None
    summary: str
    details: str | None
    status: str
    assignee: str | None
    operator: str | None
    due_date: date | None
    due_at: datetime | None = Field(
        description="when it must be resolved: working time from opened_at, paused time left out"
    )
    response_due_at: datetime | None = Field(description="first-response due time, if any")
    responded_at: datetime | None
    paused: bool = Field(description='true while waiting for the caller (status "waiting")')
    late: bool = Field(description="due_at passed unresolved, or resolved after it")
    promised_at: datetime | None = Field(description="promised date of a late ticket")
    progress_note: str | None
    forwarded_at: datetime | None
    unit_due_at: datetime | None = Field(description="the unit's own due time, from forwarding")
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_note: str | None
    forwarded_unit_code: str | None
    satisfaction: Satisfaction | None = Field(description="null: not asked")
    merged_into: str | None = Field(description="the ticket this duplicate was merged into")
    version: int


class TicketCreated(Ticket):
    duplicates_of_open: list[str] = Field(
        description="open tickets of the same phone or dossier code, as refs, newest first"
    )


class MergeBody(Strict):
    into: str = Field(
        max_length=20, description="the ticket this one repeats", examples=["HT-2309-0042"]
    )
    version: int = Field(ge=1, le=2**31, description="this ticket's version, last read")


class UnmergeBody(Strict):
    version: int = Field(ge=1, le=2**31)


class TicketWithEvents(Ticket):
    events: list[Event]


class TicketPage(BaseModel):
    items: list[Ticket]
    next_cursor: str | None


class CountAnswer(BaseModel):
    count: int


class CountRow(BaseModel):
    key: str | None
    label: str
    count: int


class Counts(BaseModel):
    month: str
    by: str
    total: int
    rows: list[CountRow]


class CallerAnswer(BaseModel):
    phone: str
    name: str | None
    total: int
    items: list[Ticket]


class ImportedFile(BaseModel):
    file: str
    kind: str
    added: int
    updated: int
    unchanged: int


class ImportOk(BaseModel):
    ok: Literal[True]
    dry_run: bool
    files: list[ImportedFile]
    warnings: list[str]


class ImportErrorRow(BaseModel):
    file: str
    line: int | None
    column: str | None
    reason: str


class ImportRefused(BaseModel):
    ok: Literal[False]
    errors: list[ImportErrorRow]


# -- requests ----------------------------------------------------------------------------------

_TEXT = {"max_length": 300}


class TicketCreate(Strict):
    """The fields of the ``tickets`` file (docs/FORMATS.md), plus ``details``."""

    category: str = Field(max_length=64, description="category code")
    opened_at: datetime | None = Field(
        default=None, description="local time (Asia/Ho_Chi_Minh) unless an offset is given"
    )
    audience: Audience | None = Field(default=None, description="must match the category's")
    channel: Channel = "phone"
    requester_name: str | None = Field(default=None, max_length=120)
    requester_phone: str | None = Field(default=None, max_length=30)
    unit_code: str | None = Field(default=None, max_length=200, description="code (or name)")
    dossier_code: str | None = Field(default=None, max_length=60)
    summary: str | None = Field(default=None, **_TEXT)
    details: str | None = Field(default=None, max_length=5000)
    resolution_note: str | None = Field(default=None, max_length=5000)
    status: Literal["open", "in_progress", "resolved", "closed"] = Field(
        default="closed", description="as in the tickets file: closed (answered on the spot)"
    )
    operator: str | None = Field(
        default=None, max_length=64, description="if given, the token's own username"
    )
    reason: str | None = Field(
        default=None, max_length=500, description="supervisors: why a month already reported"
    )
    satisfaction: Satisfaction | None = Field(default=None, description="null: not asked")


class TicketPatch(Strict):
    """Changes, as the ticket page makes them; ``version`` is the one last read."""

    version: int = Field(ge=1, le=2**31)
    category: str | None = Field(default=None, max_length=64)
    opened_at: datetime | None = None
    channel: Channel | None = None
    requester_name: str | None = Field(default=None, max_length=120)
    requester_phone: str | None = Field(default=None, max_length=30)
    unit_code: str | None = Field(default=None, max_length=200)
    dossier_code: str | None = Field(default=None, max_length=60)
    summary: str | None = Field(default=None, **_TEXT)
    details: str | None = Field(default=None, max_length=5000)
    assignee: str | None = Field(default=None, max_length=64, description="username, or null")
    status: Status | None = None
    forwarded_unit_code: str | None = Field(
        default=None, max_length=200, description='with status "forwarded": the unit'
    )
    note: str | None = Field(
        default=None,
        max_length=5000,
        description="with status: the reason or result; alone: a note in the timeline",
    )
    reason: str | None = Field(default=None, max_length=500)
    satisfaction: Satisfaction | None = Field(default=None, description="null: not asked")
    promised_at: datetime | None = Field(
        default=None, description="with progress_note: needed to keep working a late ticket"
    )
    progress_note: str | None = Field(default=None, max_length=2000)


SortKey = Literal[
    "opened_at",
    "-opened_at",
    "ref",
    "-ref",
    "due_date",
    "-due_date",
    "status",
    "-status",
    "requester_name",
    "-requester_name",
    "updated_at",
    "-updated_at",
]


class TicketQuery(Strict):
    month: str | None = Field(default=None, pattern=MONTH, description="YYYY-MM")
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    status: list[Status] = Field(default_factory=list)
    audience: Audience | None = None
    category: str | None = Field(default=None, max_length=64)
    unit: str | None = Field(default=None, max_length=32, description="unit code")
    district: str | None = Field(default=None, max_length=32, description="district code")
    level: Literal["department", "district", "commune"] | None = None
    channel: Channel | None = None
    operator: str | None = Field(default=None, max_length=64, description="username")
    assignee: str | None = Field(default=None, max_length=64, description="username")
    overdue: bool = False
    same_day: bool = False
    q: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    dossier_code: str | None = Field(default=None, max_length=60)
    sort: SortKey = "-opened_at"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500)


class CountQuery(TicketQuery):
    limit: int = Field(default=50, ge=1, le=200, description="ignored")


CountKey = Literal[
    "category", "unit", "channel", "status", "audience", "operator", "satisfaction", "on_time"
]


class CountsQuery(Strict):
    month: str = Field(pattern=MONTH, description="YYYY-MM")
    by: CountKey


class ImportQuery(Strict):
    dry_run: Literal["0", "1", "true", "false"] = "0"


class Answer(BaseModel):
    id: int
    title: str
    text: str
    categories: list[str] = Field(description="category codes; empty: every category")
    uses: int = Field(description="times operators inserted it")


class AnswerList(RootModel[list[Answer]]):
    """Those made for the category first, then those for every category, then the others."""


class AnswersQuery(Strict):
    category: str | None = Field(default=None, max_length=64, description="category code")
    q: str | None = Field(
        default=None, max_length=100, description="words, accents and case ignored"
    )


ErrorBody.model_rebuild()
