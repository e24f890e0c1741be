"""Run an import: read every file, validate every row, write all or nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..audit import batch, entity_label, record
from ..extensions import db
from ..timeutil import now_local
from .reader import KINDS, ImportFileError, Table, kind_of, read_table


@dataclass
class RowError:
    filename: str
    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        return (
            f"{where}: {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"
        )


@dataclass
class RowChange:
    line: int
    key: str
    status: str  # added, updated, unchanged
    diffs: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class FileSummary:
    filename: str
    kind: str
    changes: list[RowChange] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)

    @property
    def added(self) -> int:
        return self.count("added")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")


@dataclass
class ImportReport:
    files: list[FileSummary] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary_lines(self) -> list[str]:
        return [
            f"{f.filename}: {f.added} added, {f.updated} updated, {f.unchanged} unchanged"
            for f in self.files
        ]


class Row:
    """One row's raw values, with parsers that record an error instead of raising."""

    def __init__(self, ctx: ImportContext, table: Table, line: int, values: dict[str, str]):
        self.ctx, self.table, self.line, self.values = ctx, table, line, values
        self.ok = True

    def error(self, column: str | None, reason: str) -> None:
        self.ok = False
        self.ctx.errors.append(RowError(self.table.filename, self.line, column, reason))

    def raw(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def text(self, column: str, required: bool = False, max_len: int = 500) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, "bắt buộc, đang để trống")
            return None
        if len(value) > max_len:
            self.error(column, f"dài {len(value)} ký tự, tối đa {max_len}")
            return None
        return value

    def choice(self, column: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self.raw(column)
        if not value:
            if default is None:
                self.error(column, "bắt buộc, đang để trống")
            return default
        choices = tuple(choices)
        if value.lower() not in choices:
            self.error(column, f"'{value}' không hợp lệ; chọn một trong: {', '.join(choices)}")
            return None
        return value.lower()

    def integer(self, column: str) -> int | None:
        """Blank is None (not reported). ``88904`` and ``88.904`` are both 88904."""
        value = self.raw(column).replace(" ", "").replace("\u00a0", "")
        if not value:
            return None
        digits = value
        if "." in value:
            groups = value.split(".")
            if not (
                1 <= len(groups[0]) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups[1:])
            ):
                self.error(column, f"'{value}' không phải số nguyên")
                return None
            digits = "".join(groups)
        if digits.startswith("-") and digits[1:].isdigit():
            self.error(column, f"{value} là số âm; phải >= 0")
            return None
        if not digits.isdigit() or not digits.isascii():
            self.error(column, f"'{value}' không phải số nguyên")
            return None
        number = int(digits)
        if number > 10**15:
            self.error(column, f"{value} quá lớn")
            return None
        return number

    def month(self, column: str = "month") -> str | None:
        from ..timeutil import parse_month

        value = self.raw(column)
        if not value:
            self.error(column, "bắt buộc, đang để trống")
            return None
        as_date = _MONTH_AS_DATE.match(value)  # a spreadsheet turned 2025-08 into 1/8/2025
        try:
            year, mon = parse_month(as_date.group(1) if as_date else value)
        except ValueError:
            self.error(column, f"'{value}' không phải tháng dạng YYYY-MM")
            return None
        return f"{year:04d}-{mon:02d}"

    def date(self, column: str) -> date | None:
        """``YYYY-MM-DD`` (a spreadsheet date cell reads as ``YYYY-MM-DDT00:00``)."""
        value = self.raw(column)
        if not value:
            return None
        if not _DATE_RE.match(value):
            self.error(column, f"'{value}' không phải ngày dạng YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            self.error(column, f"'{value}' không phải ngày có thật (YYYY-MM-DD)")
            return None

    def datetime(self, column: str, required: bool = False) -> datetime | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, "bắt buộc, đang để trống")
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.error(column, f"'{value}' không phải thời điểm ISO 8601 (2023-09-01T08:30)")
            return None
        if parsed.tzinfo is not None:
            from ..timeutil import TZ

            parsed = parsed.astimezone(TZ).replace(tzinfo=None)
        return parsed.replace(microsecond=0)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T00:00(:00)?)?$", re.ASCII)
_MONTH_AS_DATE = re.compile(r"^(\d{4}-\d{2})-01(T00:00(:00)?)?$", re.ASCII)


@dataclass
class ImportContext:
    actor_id: int | None
    errors: list[RowError]
    now: datetime
    cache: dict[str, Any] = field(default_factory=dict)


def _diffs(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (getattr(obj, k), v) for k, v in values.items() if getattr(obj, k) != v}


def upsert(
    ctx: ImportContext,
    summary: FileSummary,
    line: int,
    key: str,
    existing: Any,
    factory,
    values: dict[str, Any],
    entity: str,
) -> Any:
    """Add a record or update the one with the same natural key; record what changed."""
    if existing is None:
        obj = factory(**values)
        db.session.add(obj)
        summary.changes.append(RowChange(line, key, "added"))
        label = entity_label(entity).lower()
        record("import_add", entity, key, f"Nhập mới {label} {key}", user_id=ctx.actor_id)
        return obj
    diffs = _diffs(existing, values)
    if not diffs:
        summary.changes.append(RowChange(line, key, "unchanged"))
        return existing
    for name, (_old, new) in diffs.items():
        setattr(existing, name, new)
    summary.changes.append(RowChange(line, key, "updated", diffs))
    record(
        "import_update",
        entity,
        key,
        f"Cập nhật {entity_label(entity).lower()} {key}",
        detail={k: [o, n] for k, (o, n) in diffs.items()},
        user_id=ctx.actor_id,
    )
    return existing


def check_headers(table: Table, columns: dict[str, bool], errors: list[RowError]) -> bool:
    """Every required column present, no unknown column. Return True if the header is usable."""
    if not any(h in columns for h in table.headers if h):
        # Not one known column: the wrong sheet (only the first is read) or the wrong file.
        found = ", ".join(h for h in table.headers if h)[:200]
        errors.append(
            RowError(
                table.filename,
                1,
                None,
                f"dòng tiêu đề không phải của tệp {table.kind} (thấy: {found}; cần: "
                f"{', '.join(columns)}). Với tệp XLSX chỉ trang tính đầu tiên được đọc: "
                "kiểm tra lại trang tính hoặc tệp đã chọn",
            )
        )
        return False
    ok = True
    seen: set[str] = set()
    for header in table.headers:
        if not header:
            continue
        if header in seen:
            errors.append(RowError(table.filename, 1, header, "cột lặp lại"))
            ok = False
        seen.add(header)
        if header not in columns:
            known = ", ".join(columns)
            errors.append(
                RowError(table.filename, 1, header, f"cột không xác định (các cột: {known})")
            )
            ok = False
    for column, required in columns.items():
        if required and column not in seen:
            errors.append(RowError(table.filename, 1, column, "thiếu cột bắt buộc"))
            ok = False
    return ok


def _sort_errors(report: ImportReport, order: list[str]) -> None:
    """Every file's errors together, in line order (a handler checks in several passes)."""
    rank = {name: i for i, name in enumerate(order)}
    report.errors.sort(key=lambda e: (rank.get(e.filename, -1), e.line or 0))


def collect_files(paths: Iterable[str | Path]) -> list[tuple[str, bytes]]:
    """Expand directories into their known files; read every file's bytes."""
    files: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and kind_of(child.name):
                    files.append((child.name, child.read_bytes()))
        elif path.is_file():
            files.append((path.name, path.read_bytes()))
        else:
            raise ImportFileError(str(raw), "không tìm thấy tệp hoặc thư mục")
    return files


def run_import(
    files: list[tuple[str, bytes]],
    actor_id: int | None = None,
    dry_run: bool = False,
    max_bytes: int | None = None,
) -> ImportReport:
    """Validate every row of every file; apply them only if there is no error and not dry_run.

    Good rows are flushed kind by kind, in dependency order, so that later files can refer
    to what earlier files add, inside a SAVEPOINT: on any error (or a dry run) the savepoint
    rolls back and nothing of the import stays; otherwise its rows stay in the caller's
    transaction, which the caller commits (the request, helpdesk.transaction; or the command).
    ``report.committed`` then means "applied, to be committed with the caller's transaction".
    """
    from .schemas import HANDLERS

    report = ImportReport()
    tables: list[Table] = []
    for name, data in files:
        if max_bytes is not None and len(data) > max_bytes:
            limit = max_bytes // (1024 * 1024)
            report.errors.append(RowError(name, None, None, f"tệp quá lớn (tối đa {limit} MB)"))
            continue
        try:
            table = read_table(name, data)
        except ImportFileError as exc:
            report.errors.append(RowError(exc.filename, None, None, exc.reason))
            continue
        tables.append(table)
        report.errors.extend(
            RowError(table.filename, e.line, e.column, e.reason) for e in table.errors
        )
    kinds_seen: dict[str, str] = {}
    for table in tables:
        if table.kind in kinds_seen:
            report.errors.append(
                RowError(table.filename, None, None, f"trùng loại với {kinds_seen[table.kind]}")
            )
        kinds_seen[table.kind] = table.filename
    if report.errors:
        return report

    ctx = ImportContext(actor_id=actor_id, errors=report.errors, now=now_local())
    tables.sort(key=lambda t: KINDS.index(t.kind))
    from ..transaction import begin_for_savepoint

    begin_for_savepoint()
    savepoint = db.session.begin_nested()
    try:
        # The rows' audit entries share a key with the import's own entry (the log groups them).
        with batch() as group, db.session.no_autoflush:
            for table in tables:
                handler = HANDLERS[table.kind]
                summary = FileSummary(table.filename, table.kind)
                report.files.append(summary)
                if check_headers(table, handler.columns, report.errors):
                    handler.stage(table, ctx, summary, report)
                db.session.flush()
        if not report.errors:
            # Warnings (not errors) look at the data as it will be after the import.
            from ..stats.checks import import_warnings

            report.warnings.extend(import_warnings(report))
        if report.errors or dry_run:
            savepoint.rollback()
            _sort_errors(report, [t.filename for t in tables])
            return report
        changed = sum(f.added + f.updated for f in report.files)
        # A re-import that changes nothing leaves no trace, not even here; rows that left an
        # entry always have their import's entry (the one the log page shows).
        if changed or group.recorded:
            record(
                "import",
                "import",
                None,
                "Nhập " + ", ".join(f.filename for f in report.files) + f": {changed} thay đổi",
                detail=report.summary_lines(),
                user_id=actor_id,
            ).batch = group.key
        db.session.flush()
        savepoint.commit()  # releases the savepoint: the caller's transaction holds the rows
        report.committed = True
        return report
    except Exception:
        if savepoint.is_active:
            savepoint.rollback()
        raise
