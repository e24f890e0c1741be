"""Browser imports: keep the uploaded bytes between preview and confirm, and describe a preview.

The bytes wait in ``instance/uploads`` under a random token, with their SHA-256 and the id of
the user who uploaded them; confirm checks all three before importing for real.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..formatting import number
from ..imports.engine import ImportReport, RowError, run_import
from ..imports.reader import EXTENSIONS, KINDS, ImportFileError, kind_of, read_table
from ..textutil import nfc
from ..units.models import Unit
from ..units.periods import CodeIndex, Period
from .labels import CITY_FIELD_LABELS, FIELD_LABELS, KIND_LABELS

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_AGE_SECONDS = 24 * 3600
MAX_FILES = 10
SHOWN_ROWS = 500  # rows listed per status in a preview; the counts are always complete

# What a supervisor may import from the browser. Units, categories, users and the
# organisation's header are an administrator's (a users.csv could otherwise grant roles).
KINDS_FOR_ROLE = {
    "supervisor": ("unit_stats", "city_stats", "activities", "tickets"),
    "admin": KINDS,
}
COLUMN_LABELS = {**FIELD_LABELS, **CITY_FIELD_LABELS, "text": "Nội dung"}


class UploadGone(LookupError):
    """The stored upload is missing, expired, altered, or someone else's."""


def upload_dir(app) -> Path:
    """``IMPORT_UPLOAD_DIR`` if set, else ``instance/uploads``."""
    path = Path(app.config.get("IMPORT_UPLOAD_DIR") or Path(app.instance_path) / "uploads")
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(files: list[tuple[str, bytes]]) -> str:
    """One SHA-256 over every file's name and bytes."""
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def save_upload(directory: Path, files: list[tuple[str, bytes]], user_id: int) -> str:
    """Store the files; return the token that names them."""
    purge_old(directory)
    token = secrets.token_urlsafe(24)
    entries = []
    for index, (name, data) in enumerate(files):
        (directory / f"{token}.{index}.bin").write_bytes(data)
        entries.append({"name": name, "sha256": hashlib.sha256(data).hexdigest()})
    meta = {"user_id": user_id, "created": time.time(), "files": entries}
    (directory / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def load_upload(directory: Path, token: str, user_id: int, expected_digest: str):
    """Return the stored files, checked against their SHA-256 and the uploader."""
    if not TOKEN_RE.match(token or ""):
        raise UploadGone("token")
    meta_path = directory / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UploadGone("missing") from None
    if meta.get("user_id") != user_id or time.time() - meta.get("created", 0) > MAX_AGE_SECONDS:
        raise UploadGone("owner or age")
    files = []
    for index, entry in enumerate(meta["files"]):
        try:
            data = (directory / f"{token}.{index}.bin").read_bytes()
        except OSError:
            raise UploadGone("missing") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise UploadGone("altered")
        files.append((entry["name"], data))
    if digest(files) != expected_digest:
        raise UploadGone("digest")
    return files


def discard_upload(directory: Path, token: str, user_id: int | None = None) -> None:
    """Delete a stored upload (only the uploader's, when ``user_id`` is given)."""
    if not TOKEN_RE.match(token or ""):
        return
    if user_id is not None:
        try:
            meta = json.loads((directory / f"{token}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if meta.get("user_id") != user_id:
            return
    for path in directory.glob(f"{token}.*"):
        path.unlink(missing_ok=True)


def purge_old(directory: Path) -> None:
    """Remove uploads nobody confirmed within a day."""
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue


def prepare_files(
    uploaded: list[tuple[str, bytes]], kind: str | None, role: str
) -> tuple[list[tuple[str, bytes]], list[RowError]]:
    """Name each file so the importer knows its kind; refuse what cannot or may not be imported.

    ``kind`` (chosen on the form) names files whose own name does not say what they hold.
    """
    allowed = KINDS_FOR_ROLE.get(role, ())
    files: list[tuple[str, bytes]] = []
    errors: list[RowError] = []
    if len(uploaded) > MAX_FILES:
        errors.append(RowError("", None, None, f"tối đa {MAX_FILES} tệp mỗi lần"))
        return [], errors
    for raw_name, data in uploaded:
        name = nfc(PurePath((raw_name or "").replace("\\", "/")).name)[:120] or "tep"
        suffix = PurePath(name).suffix.lower()
        if suffix == ".xls":
            errors.append(
                RowError(name, None, None, "tệp Excel cũ (.xls): hãy mở và lưu lại dạng .xlsx")
            )
            continue
        if suffix not in EXTENSIONS:
            errors.append(
                RowError(
                    name,
                    None,
                    None,
                    "không phải tệp CSV hoặc XLSX; hãy lưu bảng tính dạng .xlsx hoặc CSV UTF-8",
                )
            )
            continue
        file_kind = kind_of(name)
        if file_kind is None and kind:
            file_kind = kind
            name = f"{kind}-{name}"
        if file_kind is None:
            errors.append(
                RowError(
                    name,
                    None,
                    None,
                    "không rõ loại tệp: chọn loại ở ô “Loại tệp”, hoặc đặt tên tệp bắt đầu "
                    "bằng loại (vd: unit_stats-2023-09.xlsx)",
                )
            )
            continue
        if file_kind not in allowed:
            errors.append(
                RowError(name, None, None, f"chỉ quản trị viên được nhập tệp loại {file_kind}")
            )
            continue
        files.append((name, data))
    return files, errors


def fingerprint(report: ImportReport) -> str:
    """What a preview promised: every row's status and changed values."""
    data = [
        [f.filename, [[c.line, c.key, c.status, sorted(c.diffs.items())] for c in f.changes]]
        for f in report.files
    ]
    blob = json.dumps([data, [str(e) for e in report.errors]], default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- the preview, as plain values for the template ---------------------------------------------


def show_value(value: Any) -> str:
    if value is None or value == "":
        return "(trống)"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int):
        return number(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


@dataclass
class PreviewRow:
    line: int
    label: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # column, old, new
    values: list[tuple[str, str]] = field(default_factory=list)  # column, value (added rows)


@dataclass
class PreviewFile:
    filename: str
    kind: str
    kind_label: str
    added: int
    updated: int
    unchanged: int
    updated_rows: list[PreviewRow]
    added_rows: list[PreviewRow]

    @property
    def truncated(self) -> bool:
        return self.updated > len(self.updated_rows) or self.added > len(self.added_rows)


def _unit_labels(keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``{(month, code): label}``: each code named by the unit it means in that month (a code
    names one unit per lifetime: 11311 is phường Minh Khai until 30/6/2025, then phường Hồng
    Bàng). One query; a code with no unit that month keeps no label."""
    if not keys:
        return {}
    codes = {code for _, code in keys}
    index = CodeIndex(db.session.scalars(select(Unit).where(Unit.code.in_(codes))))
    labels = {}
    for month, code in keys:
        try:
            period = Period.month(month)
        except ValueError:
            continue
        # Not index.in_month: its "ended" message would load successors, one query per row.
        found = [u for u in index.all(code) if u.exists_during(period.first, period.last)]
        if len(found) == 1:
            labels[month, code] = found[0].display
    return labels


def _row_label(kind: str, key: str, units: dict[tuple[str, str], str]) -> str:
    if kind == "unit_stats":
        month, _, code = key.partition(" ")
        return f"{units.get((month, code), code)} · {month}"
    if kind == "tickets":
        opened, _, rest = key.partition("|")
        return f"{opened.replace('T', ' ')} · {rest.replace('|', ' · ')}"
    return key


def build_preview(files: list[tuple[str, bytes]], report: ImportReport) -> list[PreviewFile]:
    """Describe each file's rows: added (with their values), changed (old -> new), unchanged."""
    raw: dict[str, dict[int, dict[str, str]]] = {}
    for name, data in files:
        try:
            table = read_table(name, data)
        except ImportFileError:
            continue
        raw[table.filename] = dict(table.rows)
    keys = {
        (month, code)
        for f in report.files
        if f.kind == "unit_stats"
        for month, _, code in (c.key.partition(" ") for c in f.changes)
    }
    units = _unit_labels(keys)
    previews = []
    for summary in report.files:
        updated_rows, added_rows = [], []
        cells = raw.get(summary.filename, {})
        for change in summary.changes:
            label = _row_label(summary.kind, change.key, units)
            if change.status == "updated" and len(updated_rows) < SHOWN_ROWS:
                updated_rows.append(
                    PreviewRow(
                        change.line,
                        label,
                        changes=[
                            (COLUMN_LABELS.get(col, col), show_value(old), show_value(new))
                            for col, (old, new) in change.diffs.items()
                        ],
                    )
                )
            elif change.status == "added" and len(added_rows) < SHOWN_ROWS:
                values = [
                    (COLUMN_LABELS.get(col, col), show_value(value))
                    for col, value in cells.get(change.line, {}).items()
                    if value and col not in ("month", "unit_code", "unit_name", "__extra__")
                ]
                added_rows.append(PreviewRow(change.line, label, values=values))
        previews.append(
            PreviewFile(
                filename=summary.filename,
                kind=summary.kind,
                kind_label=KIND_LABELS.get(summary.kind, summary.kind),
                added=summary.added,
                updated=summary.updated,
                unchanged=summary.unchanged,
                updated_rows=updated_rows,
                added_rows=added_rows,
            )
        )
    return previews


def months_touched(report: ImportReport) -> list[str]:
    """The months a unit_stats, city_stats or activities file of the import holds."""
    months: set[str] = set()
    for summary in report.files:
        if summary.kind in ("unit_stats", "city_stats", "activities"):
            for change in summary.changes:
                months.add(re.split(r"[ #]", change.key, maxsplit=1)[0])
    return sorted(m for m in months if re.fullmatch(r"\d{4}-\d{2}", m))


@dataclass
class Confirmation:
    """What confirming a previewed upload came to.

    ``outcome``: ``gone`` (the preview's files are no longer kept), ``now_invalid`` (the data
    changed since the preview and the files now have errors; the upload is discarded),
    ``changed`` (valid, but the import would now do something else than the preview showed:
    ``check`` is the new preview), ``refused`` (errors in the instant between the two runs) or
    ``imported`` (``report`` applied in the caller's transaction; ``months`` it touched)."""

    outcome: str
    files: list[tuple[str, bytes]] = field(default_factory=list)
    check: ImportReport | None = None
    report: ImportReport | None = None
    months: list[str] = field(default_factory=list)


def confirm_upload(
    directory: Path,
    token: str,
    user_id: int,
    digest_value: str,
    expected_fingerprint: str,
    max_bytes: int,
) -> Confirmation:
    """Import what the person previewed, if it still does what the preview showed.

    The rows are applied to the caller's transaction (the request commits them); nothing is
    written unless the outcome is ``imported``."""
    try:
        files = load_upload(directory, token, user_id, digest_value)
    except UploadGone:
        return Confirmation("gone")
    check = run_import(files, actor_id=user_id, dry_run=True, max_bytes=max_bytes)
    if not check.ok:
        discard_upload(directory, token)
        return Confirmation("now_invalid", files, check)
    if fingerprint(check) != expected_fingerprint:
        return Confirmation("changed", files, check)
    report = run_import(files, actor_id=user_id, max_bytes=max_bytes)
    if not report.ok:  # changed in the instant between the two runs
        return Confirmation("refused", files, check, report)
    discard_upload(directory, token)
    return Confirmation("imported", files, check, report, months_touched(report))
