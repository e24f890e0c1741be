"""Generate a large ticket history for benchmarks: N tickets over five years, every unit.

    .venv/bin/python bench/generate.py --tickets 1000000 --database-url sqlite:////tmp/bench.sqlite3
    .venv/bin/python bench/generate.py --tickets 1000000 \
        --database-url postgresql://postgres@127.0.0.1:5432/bench

The database is migrated (Alembic), then the demo units, categories, users and organisation are
imported if there are no units yet. Tickets are spread over every month, unit, category, channel
and status with a growth trend, a Tết dip and realistic resolution times; every unit gets monthly
unit_stats. Rows go in with COPY (PostgreSQL) or executemany in large transactions (SQLite).

The demo users get their demo passwords (see helpdesk/cli.py), so the benchmark and a browser can
sign in as ``thang.vd`` (supervisor). Refuses to touch a database that already holds tickets
unless --replace is given (which deletes every ticket, event, reference counter, and the
unit_stats of the generated months).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from bisect import bisect
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hồng", "Thanh", "Hữu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Linh", "Long"]
GIVEN += ["Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến"]
SATISFACTION = ("satisfied", "neutral", "unsatisfied", None)
SATISFACTION_CUT = (0.45, 0.6, 0.66)  # cumulative shares; the rest: not asked
PHONE_PREFIXES = ["090", "091", "093", "096", "097", "098", "035", "036", "037", "077", "083"]
# Relative weights, roughly the fixture's shape.
CHANNELS = {"phone": 68, "zalo": 15, "email": 5, "walk_in": 7, "web": 4, "other": 1}
CATEGORY_WEIGHT = {
    "account_registration": 14,
    "activation_code": 11,
    "dossier_status": 16,
    "dossier_not_received": 12,
    "late_dossier": 12,
    "original_documents": 12,
    "civil_status_entry": 13,
}
LEVEL_WEIGHT = {"department": 6.0, "district": 2.5, "commune": 1.0}
RECEIVED_RANGE = {"department": (200, 7000), "district": (100, 1500), "commune": (30, 900)}
EXTRA_OPERATORS = 9  # besides the three demo operators
UNIT_DUE_DAYS = 5  # the default of the UNIT_DUE_DAYS setting


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="SQLAlchemy URL (default: $DATABASE_URL)",
    )
    parser.add_argument("--months", type=int, default=60, help="history length (default 60)")
    parser.add_argument(
        "--end-month", default=None, help="last month generated, YYYY-MM (default: last month)"
    )
    parser.add_argument("--seed", type=int, default=20230901)
    parser.add_argument("--replace", action="store_true", help="delete existing tickets first")
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    return args


def month_list(end: str, count: int) -> list[str]:
    from helpdesk.timeutil import previous_month

    months = [end]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


def split_total(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[
        : total - sum(out)
    ]:
        out[i] += 1
    return out


class Picker:
    """Weighted choice by bisecting cumulative weights (much faster than random.choices per row)."""

    def __init__(self, items, weights, rng: random.Random):
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]
        self.rng = rng

    def __call__(self):
        return self.items[bisect(self.cum, self.rng.random() * self.total)]


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("HELPDESK_DEMO", "1")  # a throwaway secret key: nothing is served

    from flask_migrate import upgrade
    from sqlalchemy import delete, func, select

    from helpdesk import create_app
    from helpdesk.auth.models import User
    from helpdesk.cli import DEMO_DIR, DEMO_PASSWORDS
    from helpdesk.extensions import db
    from helpdesk.models import Category, Ticket, TicketCounter, TicketEvent, Unit, UnitStat
    from helpdesk.tickets.counts import rebuild as rebuild_counts
    from helpdesk.timeutil import month_of, previous_month, today_local

    started = time.perf_counter()
    app = create_app()
    with app.app_context():
        upgrade()
        dialect = db.engine.dialect.name
        if not db.session.scalar(select(func.count()).select_from(Unit)):
            from helpdesk.imports import run_import
            from helpdesk.imports.engine import collect_files

            names = ["units.csv", "categories.csv", "users.csv", "organisation.csv"]
            report = run_import(collect_files([DEMO_DIR / n for n in names]))
            if not report.ok:
                print("\n".join(str(e) for e in report.errors), file=sys.stderr)
                return 1
        for username, (role, full_name, password) in DEMO_PASSWORDS.items():
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, role=role, full_name=full_name or username)
                db.session.add(user)
            user.active = True
            user.set_password(password)
        rng = random.Random(args.seed)
        for i in range(1, EXTRA_OPERATORS + 1):
            username = f"bench.op{i:02d}"
            if db.session.scalar(select(User.id).where(User.username == username)) is None:
                name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                db.session.add(User(username=username, full_name=name, role="operator"))
        db.session.commit()

        existing = db.session.scalar(select(func.count()).select_from(Ticket))
        if existing and not args.replace:
            print(f"the database holds {existing} tickets; use --replace", file=sys.stderr)
            return 1
        end = args.end_month or previous_month(month_of(today_local()))
        months = month_list(end, args.months)
        if args.replace:
            db.session.execute(delete(TicketEvent))
            db.session.execute(delete(Ticket))
            db.session.execute(delete(TicketCounter))
        db.session.execute(delete(UnitStat).where(UnitStat.month.in_(months)))
        db.session.commit()

        units = db.session.execute(select(Unit.id, Unit.level)).all()
        categories = db.session.execute(
            select(Category.id, Category.code, Category.audience, Category.label, Category.due_days)
        ).all()
        operators = list(
            db.session.scalars(select(User.id).where(User.role == "operator", User.active))
        )
        columns = [c.name for c in Ticket.__table__.columns if c.name != "id"]
        setup = time.perf_counter() - started

        t0 = time.perf_counter()
        rows_iter = ticket_rows(args, rng, months, units, categories, operators)
        written = write_tickets(db, dialect, columns, rows_iter, args.batch)
        tickets_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        counters = db.session.execute(
            select(Ticket.opened_month, func.count()).group_by(Ticket.opened_month)
        ).all()
        db.session.execute(delete(TicketCounter))
        db.session.add_all(TicketCounter(month=m, last=n) for m, n in counters)
        db.session.add_all(unit_stats(rng, months, units))
        rebuild_counts()
        db.session.commit()
        stats_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        analyse(db, dialect)
        analyse_s = time.perf_counter() - t0
        db.session.remove()
        db.engine.dispose()
    total = time.perf_counter() - started
    print(
        f"{dialect}: {written} tickets over {len(months)} months ({months[0]}..{months[-1]}), "
        f"{len(units)} units, unit_stats {len(units) * len(months)} rows"
    )
    print(
        f"time: setup {setup:.1f}s, tickets {tickets_s:.1f}s "
        f"({written / max(tickets_s, 1e-9):,.0f} rows/s), stats+counters {stats_s:.1f}s, "
        f"analyse {analyse_s:.1f}s, total {total:.1f}s"
    )
    return 0


def ticket_rows(args, rng, months, units, categories, operators):
    """Yield ticket rows (dicts of column -> value), month by month, in opened_at order."""
    from helpdesk.tickets.duedates import add_working_days
    from helpdesk.tickets.models import ticket_search_text

    n_months = len(months)
    weights = []
    for i, m in enumerate(months):
        seasonal = {1: 1.05, 2: 0.7, 7: 0.95, 8: 0.95}.get(int(m[5:]), 1.0)
        weights.append((1 + 0.6 * i / max(n_months - 1, 1)) * seasonal)
    per_month = split_total(args.tickets, weights)

    cat_weights = [
        CATEGORY_WEIGHT.get(c.code, 1.5 if c.audience == "agency" else 8) for c in categories
    ]
    pick_category = Picker(categories, cat_weights, rng)
    pick_unit = Picker(units, [LEVEL_WEIGHT[u.level] for u in units], rng)
    pick_channel = Picker(list(CHANNELS), list(CHANNELS.values()), rng)
    pick_operator = Picker(operators, [1] * len(operators), rng)
    names = [f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN]
    search_cache: dict[tuple[str, str], str] = {}
    due_cache: dict[tuple[date, int], date] = {}
    units_all = units
    lognormal = rng.lognormvariate
    rand = rng.random

    for month, count in zip(months, per_month, strict=True):
        year, mon = int(month[:4]), int(month[5:])
        first = date(year, mon, 1)
        days = [first + timedelta(d) for d in range(31) if (first + timedelta(d)).month == mon]
        workdays = [d for d in days if d.weekday() < 5] or days
        age = months.index(month)
        recent = n_months - 1 - age  # 0 for the last month
        stamps = sorted(
            datetime.combine(
                workdays[int(rand() * len(workdays))] if rand() < 0.93 else rng.choice(days),
                datetime.min.time(),
            )
            + timedelta(minutes=int(450 + rand() * 570))
            for _ in range(count)
        )
        prefix = f"HT-{month[2:4]}{month[5:7]}-"
        for seq, opened in enumerate(stamps, start=1):
            cat = pick_category()
            unit = pick_unit() if rand() > 0.04 else None
            if unit is None and rand() < 0.5:
                unit = units_all[int(rand() * len(units_all))]
            r = rand()
            if recent == 0:
                status = (
                    "open"
                    if r < 0.06
                    else "in_progress"
                    if r < 0.12
                    else "forwarded"
                    if r < 0.18
                    else "resolved"
                    if r < 0.5
                    else "closed"
                )
            elif recent <= 2:
                status = (
                    "open"
                    if r < 0.01
                    else "forwarded"
                    if r < 0.03
                    else "resolved"
                    if r < 0.3
                    else "closed"
                )
            else:
                status = "forwarded" if r < 0.003 else "resolved" if r < 0.2 else "closed"
            resolved = closed = None
            if status in ("resolved", "closed"):
                # Most answered on the phone within the hour; a tail of days for forwarded cases.
                minutes = lognormal(3.6, 1.3) if rand() < 0.85 else lognormal(7.5, 1.0)
                resolved = opened + timedelta(minutes=int(min(minutes, 60 * 24 * 60)))
                if status == "closed":
                    closed = resolved
            key = (opened.date(), max(cat.due_days or 0, 1))
            due = due_cache.get(key)
            if due is None:
                due = due_cache[key] = add_working_days(*key)
            forwarded = status == "forwarded" and unit is not None
            unit_due = None
            if forwarded:
                ukey = (opened.date(), -UNIT_DUE_DAYS)
                unit_due = due_cache.get(ukey)
                if unit_due is None:
                    unit_due = due_cache[ukey] = add_working_days(opened.date(), UNIT_DUE_DAYS)
            name = names[int(rand() * len(names))]
            skey = (name, cat.label)
            search = search_cache.get(skey)
            if search is None:
                search = search_cache[skey] = ticket_search_text(name, cat.label)
            phone = PHONE_PREFIXES[int(rand() * len(PHONE_PREFIXES))] + f"{int(rand() * 1e7):07d}"
            dossier = None
            if cat.code in ("dossier_status", "late_dossier", "dossier_not_received"):
                dossier = (
                    f"000.{int(rand() * 100):02d}.{int(rand() * 100):02d}.H26-"
                    f"{opened:%y%m%d}-{int(rand() * 10000):04d}"
                )
            operator = pick_operator()
            yield {
                "ref": f"{prefix}{seq:04d}",
                "opened_at": opened,
                "opened_month": month,
                "channel": pick_channel(),
                "audience": cat.audience,
                "category_id": cat.id,
                "requester_name": name,
                "requester_phone": phone,
                "unit_id": unit.id if unit else None,
                "forwarded_unit_id": unit.id if forwarded else None,
                "dossier_code": dossier,
                "summary": cat.label,
                "search_text": search,
                "details": None,
                "status": status,
                "assignee_id": operator,
                "operator_id": operator,
                "resolution_note": None,
                "resolved_at": resolved,
                "closed_at": closed,
                "due_date": due,
                # Working time (the service-level clock), to the minute where the opening is
                # inside office hours: the same time of day, the category's working days later.
                "due_at": datetime.combine(due, opened.time()),
                "response_due_at": None,
                "responded_at": resolved,
                "paused_at": None,
                "paused_minutes": 0,
                "promised_at": None,
                "progress_note": None,
                "forwarded_at": opened if forwarded else None,
                "unit_due_at": datetime.combine(unit_due, opened.time()) if forwarded else None,
                # Asked at the end of two thirds of the answered calls, mostly satisfied.
                "satisfaction": (
                    SATISFACTION[bisect(SATISFACTION_CUT, rand())] if closed else None
                ),
                "merged_into_id": None,
                "merged_status": None,
                "merged_at": None,
                "import_key": None,
                "anonymised_at": None,
                "created_at": opened,
                "updated_at": closed or resolved or opened,
                "version": 1,
            }


def write_tickets(db, dialect: str, columns: list[str], rows, batch: int) -> int:
    """Bulk-write rows: COPY on PostgreSQL, executemany in big transactions on SQLite."""
    written = 0
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "postgresql":
            # No per-row trigger while loading (the kept counts are rebuilt once, after).
            cursor.execute("SET LOCAL session_replication_role = replica")
            sql = f"COPY tickets ({', '.join(columns)}) FROM STDIN"
            chunk: list[tuple] = []
            for row in rows:
                chunk.append(tuple(row[c] for c in columns))
                if len(chunk) >= batch:
                    written += _copy(cursor, sql, chunk)
                    chunk = []
            written += _copy(cursor, sql, chunk)
        else:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-400000")  # 400 MB while loading
            # The kept counts' triggers are put back after the load (and the counts rebuilt).
            triggers = cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'ticket_counts_%'"
            ).fetchall()
            for name, _sql in triggers:
                cursor.execute(f"DROP TRIGGER {name}")
            sql = (
                f"INSERT INTO tickets ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            chunk = []
            for row in rows:
                chunk.append(tuple(_sqlite_value(row[c]) for c in columns))
                if len(chunk) >= batch:
                    cursor.executemany(sql, chunk)
                    written += len(chunk)
                    chunk = []
            if chunk:
                cursor.executemany(sql, chunk)
                written += len(chunk)
            for _name, trigger_sql in triggers:
                cursor.execute(trigger_sql)
        raw.commit()
    finally:
        raw.close()
    return written


def _copy(cursor, sql: str, chunk: list[tuple]) -> int:
    if not chunk:
        return 0
    with cursor.copy(sql) as copy:
        for values in chunk:
            copy.write_row(values)
    return len(chunk)


def _sqlite_value(value):
    # The storage format SQLAlchemy's SQLite DateTime/Date types read and compare against.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def unit_stats(rng, months, units):
    from helpdesk.models import UnitStat

    base = {u.id: rng.randint(*RECEIVED_RANGE[u.level]) for u in units}
    share = {u.id: rng.uniform(0.75, 0.99) for u in units}
    for i, month in enumerate(months):
        growth = 1 + 0.4 * i / max(len(months) - 1, 1)
        for u in units:
            received = int(base[u.id] * growth * rng.uniform(0.8, 1.2))
            online = int(received * min(share[u.id] + rng.uniform(-0.03, 0.03), 1.0))
            payments = int(online * rng.uniform(0, 0.15))
            fees = int(payments * rng.uniform(0.6, 1.0))
            yield UnitStat(
                month=month,
                unit_id=u.id,
                received=received,
                online=online,
                signed_results=int(received * rng.uniform(0, 0.6)),
                payment_procedures=None if u.level == "commune" else rng.randint(0, 40),
                payment_transactions=payments,
                payment_amount=payments * rng.randint(20_000, 80_000),
                fee_transactions=fees,
                fee_amount=fees * rng.randint(15_000, 50_000),
            )


def analyse(db, dialect: str) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map for index-only scans)."""
    raw = db.engine.raw_connection()
    try:
        if dialect == "postgresql":
            raw.driver_connection.autocommit = True
            raw.cursor().execute("VACUUM (ANALYZE) tickets")
            raw.cursor().execute("VACUUM (ANALYZE) unit_stats")
            raw.cursor().execute("VACUUM (ANALYZE) ticket_counts")
        else:
            raw.cursor().execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


if __name__ == "__main__":
    sys.exit(main())
